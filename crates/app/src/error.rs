//! The use-case layer's one error type. Only the web layer and the CLI turn it into
//! responses and messages.

use steward_domain::{Feature, Plan};
use steward_store::{BlobError, Conflict, StoreError};

/// One problem with one field of the input, for a person to fix.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl ToString) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing, or belonging to another org (which must look the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the request is not valid: {}", summary(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// Refused while these jobs are queued or running; the message says how to
    /// cancel them.
    #[error("{message}")]
    JobsPending {
        message: String,
        jobs: Vec<steward_domain::Job>,
    },
    #[error("authentication required")]
    Unauthenticated,
    /// A sign-in that failed; the message is the same whatever the reason.
    #[error("{0}")]
    BadCredentials(String),
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("{0}")]
    Forbidden(String),
    /// The org's plan does not include the feature; `needed` is the smallest plan that
    /// does. Distinct from `Forbidden`: the caller has the role, the org lacks the plan.
    #[error("{} is not included in this org's plan: it needs the {needed} plan{}", .feature.describe(), plan_or_larger(*.needed))]
    PlanRequired { feature: Feature, needed: Plan },
    /// A file over its size limit; the message names the limit.
    #[error("{0}")]
    TooLarge(String),
    /// Something that existed and is gone for good (an expired export's file); the
    /// message says why.
    #[error("{0}")]
    Gone(String),
    /// Something failed on our side (the store, the disk). The message is for the
    /// log and the operator; a caller of the API sees a generic 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound => AppError::NotFound("record"),
            StoreError::Conflict(Conflict::Duplicate) => {
                AppError::Conflict("it already exists".into())
            }
            StoreError::Conflict(Conflict::MissingReference) => {
                AppError::Conflict("it refers to something that does not exist".into())
            }
            StoreError::Conflict(Conflict::Rule(rule)) => AppError::Conflict(rule),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<BlobError> for AppError {
    fn from(e: BlobError) -> AppError {
        match e {
            BlobError::NotFound(_) => AppError::NotFound("file"),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// " or enterprise" after a plan that is not the largest.
fn plan_or_larger(needed: Plan) -> String {
    let larger: Vec<&str> = Plan::ALL
        .into_iter()
        .filter(|p| *p > needed)
        .map(Plan::as_str)
        .collect();
    match larger.as_slice() {
        [] => String::new(),
        more => format!(" or {}", more.join(" or ")),
    }
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    pub fn invalid(field: impl Into<String>, reason: impl ToString) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, reason)])
    }
}

pub type AppResult<T> = Result<T, AppError>;
