//! The HTTP layer's error: every failure leaves as `application/problem+json`.
//! 5xx bodies never carry internals; those go to the log.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use steward_app::{AppError, FieldError};
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
}

/// An RFC 9457 problem: every 4xx and 5xx body, as `application/problem+json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status and title say what happened.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: &'static str,
    #[schema(example = "Invalid request")]
    pub title: &'static str,
    pub status: u16,
    /// What went wrong, for a person to act on.
    pub detail: String,
    /// Each bad field of the input, when the request was refused for its content.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<ProblemField>,
}

/// One problem with one field of the input.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field, query parameter or header at fault.
    pub field: String,
    pub reason: String,
}

impl From<FieldError> for ProblemField {
    fn from(e: FieldError) -> ProblemField {
        ProblemField {
            field: e.field,
            reason: e.reason,
        }
    }
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
            AppError::Gone(detail) => ApiError::new(StatusCode::GONE, "Gone", detail),
            AppError::TooLarge(detail) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "File too large", detail)
            }
            AppError::TooManyAttempts(detail) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", detail)
            }
            AppError::Internal(error) => {
                tracing::error!(%error, "request failed");
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
            detail: self.detail,
            errors: self.errors.into_iter().map(ProblemField::from).collect(),
        };
        let mut response = (self.status, Json(problem)).into_response();
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
