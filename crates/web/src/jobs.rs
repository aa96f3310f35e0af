//! Jobs of every kind: canceling one (what a refused deletion points to).

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use steward_app::{App, AppError, history};
use steward_domain::JobId;

use crate::ApiError;
use crate::auth::{Caller, call};
use crate::state::WebState;
use crate::wire::{JobJson, JobPath, OrgPath};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(cancel))]
pub(crate) struct Api;

pub fn router() -> Router<WebState> {
    Router::new().route("/api/v1/orgs/{org}/jobs/{id}/cancel", post(cancel))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/jobs/{id}/cancel", tag = "jobs", summary = "Cancel a job",
    description = "A queued job is canceled at once; a running one stops after its current step.",
    params(OrgPath, JobPath),
    responses((status = 200, description = "The job as it is now", body = JobJson)))]
async fn cancel(
    caller: Caller,
    State(app): State<App>,
    Path((_, raw_id)): Path<(String, String)>,
) -> Result<Json<JobJson>, ApiError> {
    let id: JobId = raw_id.parse().map_err(|_| AppError::NotFound("job"))?;
    let job = call(app, &caller, move |app, c| history::cancel_job(app, c, id)).await?;
    Ok(Json(JobJson::from(&job)))
}
