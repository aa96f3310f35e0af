//! The HTTP layer's error: every failure leaves as `application/problem+json`.
//! 5xx bodies never carry internals; those go to the log.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use steward_app::{AppError, FieldError};
use steward_domain::{Feature, Plan};
use utoipa::ToSchema;

/// The problem `type` of a request refused because the org's plan lacks a feature: a
/// 403 a client can tell apart from the 403 of a missing role.
pub const PLAN_REQUIRED_TYPE: &str = "https://steward.dev/problems/plan-required";

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    plan_required: Option<(Feature, Plan)>,
    jobs: Vec<PendingJob>,
}

/// An RFC 9457 problem: every 4xx and 5xx body, as `application/problem+json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `about:blank` when the status and title say what happened; a URI for a cause
    /// the status alone does not tell: `https://steward.dev/problems/plan-required`
    /// (403: the org's plan does not include the feature, see `needed_plan`).
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
    /// With the plan-required type: the feature asked for (e.g. `tenant_export`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, example = "tenant_export")]
    pub feature: Option<&'static str>,
    /// With the plan-required type: the smallest plan that includes the feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, example = "standard")]
    pub needed_plan: Option<&'static str>,
    /// The jobs that keep the request from going ahead, each with how to cancel it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub jobs: Vec<PendingJob>,
}

/// A queued or running job that blocks a request, and how to cancel it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingJob {
    #[schema(value_type = String, format = Uuid)]
    pub id: steward_domain::JobId,
    #[schema(value_type = String, example = "import_users")]
    pub kind: &'static str,
    #[schema(value_type = String, example = "running")]
    pub status: &'static str,
    /// The request that cancels it.
    #[schema(example = "POST /api/v1/orgs/{org}/jobs/{id}/cancel")]
    pub cancel: String,
    /// The command that cancels it.
    #[schema(example = "steward jobs cancel {id}")]
    pub cancel_command: String,
}

impl From<&steward_domain::Job> for PendingJob {
    fn from(job: &steward_domain::Job) -> PendingJob {
        PendingJob {
            id: job.id,
            kind: job.kind.as_str(),
            status: job.status.as_str(),
            cancel: format!("POST /api/v1/orgs/{}/jobs/{}/cancel", job.org_id, job.id),
            cancel_command: format!("steward jobs cancel {}", job.id),
        }
    }
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
            kind: "about:blank",
            title,
            detail: detail.into(),
            errors: Vec::new(),
            plan_required: None,
            jobs: Vec::new(),
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
                errors: errors.clone(),
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid request",
                    AppError::Invalid(errors).to_string(),
                )
            },
            AppError::JobsPending { message, jobs } => ApiError {
                jobs: jobs.iter().map(PendingJob::from).collect(),
                ..ApiError::new(StatusCode::CONFLICT, "Conflict", message)
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
            AppError::PlanRequired { feature, needed } => ApiError {
                kind: PLAN_REQUIRED_TYPE,
                plan_required: Some((feature, needed)),
                ..ApiError::new(
                    StatusCode::FORBIDDEN,
                    "Plan required",
                    AppError::PlanRequired { feature, needed }.to_string(),
                )
            },
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
            kind: self.kind,
            title: self.title,
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors.into_iter().map(ProblemField::from).collect(),
            feature: self.plan_required.map(|(feature, _)| feature.as_str()),
            needed_plan: self.plan_required.map(|(_, plan)| plan.as_str()),
            jobs: self.jobs,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_plan_is_a_403_with_its_own_problem_type_naming_the_plan() {
        let response = ApiError::from(AppError::PlanRequired {
            feature: Feature::TenantExport,
            needed: Plan::Standard,
        })
        .into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("a small body");
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(problem["type"], PLAN_REQUIRED_TYPE);
        assert_eq!(problem["title"], "Plan required");
        assert_eq!(problem["feature"], "tenant_export");
        assert_eq!(problem["needed_plan"], "standard");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("the standard plan"), "{detail}");

        // The 403 of a missing role stays plain.
        let role = ApiError::from(AppError::Forbidden("org admins only".into())).into_response();
        let body = axum::body::to_bytes(role.into_body(), 64 * 1024)
            .await
            .expect("a small body");
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(problem["type"], "about:blank");
        assert!(problem.get("needed_plan").is_none());
    }
}
