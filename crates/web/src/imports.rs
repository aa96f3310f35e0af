//! Import jobs: upload a CSV, follow the job, read its error log.
//!
//! The upload streams straight to the blob store (never whole in memory), with a size
//! cap; the job itself runs on the server's workers.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use steward_app::{App, AppError, import};
use steward_domain::access::{Action, AdminTask};
use steward_domain::{Job, JobId, JobKind, OrgId};
use steward_store::{JobQuery, Page};

use crate::admin::audit_context;
use crate::auth::Caller;
use crate::extract::QueryParams;
use crate::state::WebState;
use crate::{ApiError, blocking};

/// Imports, their history and error logs are org-admin work.
const IMPORT: Action = Action::OrgAdminOnly(AdminTask::ImportUsers);

/// The largest upload accepted.
pub const MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/imports", get(history).post(upload))
        .route("/api/v1/orgs/{org}/imports/{id}", get(detail))
        .route(
            "/api/v1/orgs/{org}/imports/{id}/errors.csv",
            get(errors_csv),
        )
}

#[derive(Deserialize)]
struct UploadParams {
    file_name: Option<String>,
}

async fn upload(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<UploadParams>,
    body: Body,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let org = caller.authorize(&IMPORT)?.org;
    let file_name = params.file_name.unwrap_or_else(|| "upload.csv".into());
    let created_by = caller.audit_name();
    let ctx = audit_context(&caller);
    let job = crate::upload::receive(body, MAX_UPLOAD_BYTES, "uploads", move |reader| {
        let job = import::enqueue(&app, org, &file_name, &created_by, reader)?;
        steward_app::audit::record(&app, &ctx, org, "import.create", &job.id.to_string(), "ok")?;
        Ok(job)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

#[derive(Deserialize)]
struct HistoryParams {
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn history(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<HistoryParams>,
) -> Result<Json<Page<Job>>, ApiError> {
    let org = caller.authorize(&IMPORT)?.org;
    let query = JobQuery {
        kind: Some(JobKind::ImportUsers),
        limit: params.limit.unwrap_or(50),
        after: params.cursor,
    };
    let page =
        blocking(move || Ok(app.store.list_jobs(org, &query).map_err(AppError::from)?)).await?;
    Ok(Json(page))
}

fn job_id(raw: &str) -> Result<JobId, ApiError> {
    raw.parse().map_err(|_| AppError::NotFound("import").into())
}

async fn find_import(app: App, org: OrgId, raw: &str) -> Result<Job, ApiError> {
    let id = job_id(raw)?;
    blocking(move || {
        app.store
            .get_job(org, id)
            .map_err(AppError::from)?
            .filter(|job| job.kind == JobKind::ImportUsers)
            .ok_or_else(|| AppError::NotFound("import").into())
    })
    .await
}

async fn detail(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Job>, ApiError> {
    let org = caller.authorize(&IMPORT)?.org;
    Ok(Json(find_import(app, org, &id).await?))
}

async fn errors_csv(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = caller.authorize(&IMPORT)?.org;
    let job = find_import(app.clone(), org, &id).await?;
    let body = blocking(move || {
        let mut out = Vec::new();
        import::write_errors_csv(&app, org, job.id, &mut out)?;
        Ok(out)
    })
    .await?;
    let disposition = format!(
        "attachment; filename=\"import-{id}-errors.csv\"",
        id = job.id
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
