//! The HTTP layer's error: every failure leaves as `application/problem+json`.
//! 5xx bodies never carry internals; those go to the log.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use steward_app::{AppError, FieldError};
use steward_store::{BlobError, StoreError};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl ApiError {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            title,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "something went wrong on our side; the server log has the details",
        )
    }

    pub fn invalid(field: &str, reason: impl ToString) -> ApiError {
        AppError::invalid(field, reason).into()
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "Not found",
                format!("{what} not found"),
            ),
            AppError::Invalid(errors) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                title: "Invalid request",
                detail: AppError::Invalid(errors.clone()).to_string(),
                errors,
            },
            AppError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, "Conflict", detail),
            AppError::Unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Authentication required",
                "sign in, or send a valid token as 'Authorization: Bearer <token>'",
            ),
            AppError::Forbidden(detail) => {
                ApiError::new(StatusCode::FORBIDDEN, "Forbidden", detail)
            }
            AppError::BadCredentials(detail) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "Sign-in failed", detail)
            }
            AppError::TooLarge(detail) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "File too large", detail)
            }
            AppError::TooManyAttempts(detail) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", detail)
            }
            AppError::Store(StoreError::NotFound) => {
                ApiError::new(StatusCode::NOT_FOUND, "Not found", "not found")
            }
            AppError::Store(StoreError::Conflict(detail)) => {
                ApiError::new(StatusCode::CONFLICT, "Conflict", detail)
            }
            AppError::Blob(BlobError::NotFound(_)) => {
                ApiError::new(StatusCode::NOT_FOUND, "Not found", "file not found")
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: "about:blank",
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let mut response = (self.status, Json(&problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not found", "no such path")
}
