//! Bulk user deletion: `POST /api/v1/orgs/{org}/users/deletions` takes a CSV with a
//! phone column (as an import's) and queues a job that deletes each user (restorable
//! for the org's purge window), or, with `dry_run`, checks each row and deletes no one.
//! Its history, error log and result file are served like an import's.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use steward_app::{App, user_deletions};

use crate::ApiError;
use crate::auth::{Caller, call};
use crate::extract::QueryParams;
use crate::imports::{HistoryParams, generated};
use crate::state::WebState;
use crate::wire::{JobJson, JobPath, OrgPath, Page};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(upload, history, detail, errors_csv, result_csv))]
pub(crate) struct Api;

pub fn router() -> Router<WebState> {
    Router::new()
        .route(
            "/api/v1/orgs/{org}/users/deletions",
            get(history)
                .post(upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/v1/orgs/{org}/users/deletions/{id}", get(detail))
        .route(
            "/api/v1/orgs/{org}/users/deletions/{id}/errors.csv",
            get(errors_csv),
        )
        .route(
            "/api/v1/orgs/{org}/users/deletions/{id}/result.csv",
            get(result_csv),
        )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadParams {
    /// The file's name, for the history (default `deletions.csv`).
    file_name: Option<String>,
    /// Check every row and count what would happen; delete no one.
    dry_run: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/users/deletions", tag = "users", summary = "Delete users listed in a CSV",
    description = "The body is a CSV with a phone column (`Phone Number`, `Phone`, `Mobile` or `Mobile Phone`; other columns are kept in the result file). Queues a job that deletes each user like `DELETE .../users/{phone}`; counts `deleted`, `already_deleted`, `failed`.",
    params(OrgPath, UploadParams),
    request_body(description = "The CSV", content((String = "text/csv"))),
    responses((status = 202, description = "The queued job", body = JobJson)))]
async fn upload(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<UploadParams>,
    request: Request,
) -> Result<(StatusCode, Json<JobJson>), ApiError> {
    let max = app.limits().upload_bytes;
    let caller = caller.caller;
    let file_name = params.file_name.unwrap_or_else(|| "deletions.csv".into());
    let dry_run = params.dry_run.unwrap_or(false);
    let body = Body::new(request.into_body());
    let job = crate::upload::receive(body, max, "uploads", move |reader| {
        Ok(user_deletions::upload(
            &app, &caller, file_name, dry_run, reader,
        )?)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/users/deletions", tag = "users", summary = "Bulk deletion history",
    params(OrgPath, HistoryParams),
    responses((status = 200, description = "One page of bulk deletions, newest first", body = Page<JobJson>)))]
async fn history(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<HistoryParams>,
) -> Result<Json<Page<JobJson>>, ApiError> {
    let page = call(app, &caller, move |app, c| {
        user_deletions::history(app, c, params.cursor, params.limit)
    })
    .await?;
    Ok(Json(page.into()))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/users/deletions/{id}", tag = "users", summary = "Show a bulk deletion",
    params(OrgPath, JobPath), responses((status = 200, description = "The job", body = JobJson)))]
async fn detail(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<JobJson>, ApiError> {
    let job = call(app, &caller, move |app, c| {
        user_deletions::find(app, c, &id)
    })
    .await?;
    Ok(Json(job.into()))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/users/deletions/{id}/errors.csv", tag = "users", summary = "A bulk deletion's error log",
    params(OrgPath, JobPath), responses((status = 200, description = "Each refused row with why", content_type = "text/csv", body = String)))]
async fn errors_csv(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    generated(
        app,
        &caller,
        id,
        ("deletion", "errors"),
        user_deletions::errors_csv,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/users/deletions/{id}/result.csv", tag = "users", summary = "A bulk deletion's result file",
    params(OrgPath, JobPath), responses((status = 200, description = "Each row with what became of it", content_type = "text/csv", body = String)))]
async fn result_csv(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    generated(
        app,
        &caller,
        id,
        ("deletion", "result"),
        user_deletions::result_csv,
    )
    .await
}
