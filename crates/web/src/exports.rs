//! Export jobs: asking for an export (the users list as CSV or XLSX, or the tenant
//! archive), the history, each export's detail, its download and its error log; and a
//! member's export of their own data.
//!
//! A download streams the stored file with its `Content-Length`, an RFC 6266
//! `Content-Disposition` (with `filename*` for any name), and its SHA-256 as an RFC
//! 9530 `Repr-Digest: sha-256=:<base64>:` header, so a client can check what it got.
//! A file past its retention answers 410 Gone.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;
use steward_app::export::{TenantScopeRequest, UsersFormat};
use steward_app::exports::{self, Export, ExportRequest, NewExport};
use steward_app::{App, AppError, FieldError};
use steward_domain::JobKind;

use crate::ApiError;
use crate::auth::{Caller, Signed, call};
use crate::extract::{JsonBody, QueryParams};
use crate::run::blocking;
use crate::state::WebState;
use crate::wire::{ExportJson, ExportPath, Items, OrgPath, Page};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    history,
    detail,
    download,
    errors_csv,
    own_export,
    own_download
))]
pub(crate) struct Api;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/exports", get(history).post(create))
        .route("/api/v1/orgs/{org}/exports/{id}", get(detail))
        .route("/api/v1/orgs/{org}/exports/{id}/download", get(download))
        .route(
            "/api/v1/orgs/{org}/exports/{id}/errors.csv",
            get(errors_csv),
        )
        .route("/api/v1/me/export", post(own_export))
        .route("/api/v1/me/exports/{id}/download", get(own_download))
}

/// The scope of a tenant export.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ScopeBody {
    /// Kinds of data (`users`, `attributes`, `groups`, `memberships`, `messages`,
    /// `attachments`, `actions`, `action_publications`, `action_responses`,
    /// `connectors`, `connector_publications`, `telemetry`, `audit`, `jobs`); all
    /// when absent.
    kinds: Option<Vec<String>>,
    /// Content and telemetry from this time (RFC 3339, or a date).
    since: Option<String>,
    /// Content and telemetry up to this time.
    until: Option<String>,
    /// Only what is by or about this user (a phone number).
    user: Option<String>,
    /// Include the attachments' files (default true).
    attachments: Option<bool>,
}

/// What to export.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ExportBody {
    /// `users` (the users list) or `tenant` (the archive of all the org's data).
    kind: String,
    /// For `users`: `csv` (default) or `xlsx`.
    format: Option<String>,
    /// For `users`: the users list's filters, e.g. `{"q": "asha", "department":
    /// "Sales"}` (`q`, `sort`, and an attribute key or `filter.<key>`).
    #[schema(value_type = Option<Object>)]
    filter: Option<BTreeMap<String, serde_json::Value>>,
    /// For `tenant`: what to include.
    scope: Option<ScopeBody>,
    /// Days the file is kept, 1 to 90 (default 7).
    retention_days: Option<u32>,
}

fn invalid(field: &str, reason: impl ToString) -> ApiError {
    AppError::Invalid(vec![FieldError::new(field, reason)]).into()
}

impl ExportBody {
    fn into_request(self) -> Result<NewExport, ApiError> {
        let what = match self.kind.as_str() {
            "users" => {
                if self.scope.is_some() {
                    return Err(invalid("scope", "a users export has a filter, not a scope"));
                }
                let format = match self.format.as_deref() {
                    None => UsersFormat::Csv,
                    Some(raw) => UsersFormat::parse(raw)
                        .ok_or_else(|| invalid("format", "use csv or xlsx"))?,
                };
                let mut filter = BTreeMap::new();
                for (key, value) in self.filter.unwrap_or_default() {
                    let text = match value {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Bool(b) => b.to_string(),
                        serde_json::Value::Number(n) => n.to_string(),
                        _ => {
                            return Err(invalid(
                                &format!("filter.{key}"),
                                "give a string, number or boolean",
                            ));
                        }
                    };
                    filter.insert(key, text);
                }
                ExportRequest::Users { format, filter }
            }
            "tenant" => {
                if self.format.is_some() || self.filter.is_some() {
                    return Err(invalid(
                        "format",
                        "a tenant export is a zip archive; choose what it holds with scope",
                    ));
                }
                let scope = self.scope.unwrap_or_default();
                ExportRequest::Tenant(TenantScopeRequest {
                    kinds: scope.kinds.map(|k| k.join(",")),
                    since: scope.since,
                    until: scope.until,
                    user: scope.user,
                    attachments: scope.attachments,
                })
            }
            _ => return Err(invalid("kind", "use users or tenant")),
        };
        Ok(NewExport {
            what,
            retention_days: self.retention_days,
        })
    }
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/exports", tag = "exports", summary = "Export users or the tenant's data",
    description = "Queues an export job (org admins). A tenant export also needs a plan that includes it.",
    params(OrgPath), request_body = ExportBody,
    responses((status = 202, description = "The queued export", body = ExportJson)))]
async fn create(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<ExportBody>,
) -> Result<(StatusCode, Json<ExportJson>), ApiError> {
    let new = body.into_request()?;
    let job = call(app, &caller, move |app, c| exports::request(app, c, new)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Export { job, file: None }.into()),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// `users` (default) or `tenant`.
    kind: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (default 50, at most 200).
    limit: Option<u32>,
}

/// The job kind of `users` or `tenant`.
pub(crate) fn export_kind(raw: Option<&str>) -> Result<JobKind, ApiError> {
    match raw.unwrap_or("users") {
        "users" => Ok(JobKind::ExportUsers),
        "tenant" => Ok(JobKind::ExportTenant),
        _ => Err(invalid("kind", "use users or tenant")),
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/exports", tag = "exports", summary = "The export history",
    params(OrgPath, HistoryParams),
    responses((status = 200, description = "One page of exports of one kind, newest first", body = Page<ExportJson>)))]
async fn history(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<HistoryParams>,
) -> Result<Json<Page<ExportJson>>, ApiError> {
    let kind = export_kind(params.kind.as_deref())?;
    let page = call(app, &caller, move |app, c| {
        exports::history(app, c, kind, params.cursor, params.limit)
    })
    .await?;
    Ok(Json(page.into()))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/exports/{id}", tag = "exports", summary = "Show an export",
    params(OrgPath, ExportPath), responses((status = 200, description = "The export", body = ExportJson)))]
async fn detail(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<ExportJson>, ApiError> {
    let export = call(app, &caller, move |app, c| exports::find(app, c, &id)).await?;
    Ok(Json(export.into()))
}

/// The content type of an export's file, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("csv") => "text/csv; charset=utf-8",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The RFC 9530 `Repr-Digest` value of a lowercase hex SHA-256.
fn repr_digest(sha256_hex: &str) -> Option<String> {
    let bytes = (0..sha256_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(sha256_hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// A stored file as a download: its length, name, type and digest in the headers.
fn file_response(export: Export, reader: steward_store::BlobReader) -> Result<Response, ApiError> {
    let file = export.file.ok_or_else(ApiError::internal)?;
    let mut response = crate::upload::send(reader).into_response();
    let headers = response.headers_mut();
    let value = |text: String| HeaderValue::try_from(text).map_err(|_| ApiError::internal());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file.name)),
    );
    headers.insert(header::CONTENT_LENGTH, value(file.size.to_string())?);
    headers.insert(
        header::CONTENT_DISPOSITION,
        value(crate::content::content_disposition(&file.name))?,
    );
    if let Some(digest) = repr_digest(&file.sha256) {
        headers.insert("repr-digest", value(digest)?);
    }
    headers.insert(header::ETAG, value(format!("\"{}\"", file.sha256))?);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/exports/{id}/download", tag = "exports", summary = "Download an export's file",
    description = "Streams the file with `Content-Length`, `Content-Disposition` (RFC 6266, `filename*`) and its SHA-256 in `Repr-Digest: sha-256=:<base64>:` (RFC 9530). 409 while the export runs or after it failed; 410 once the file expired.",
    params(OrgPath, ExportPath),
    responses((status = 200, description = "The file (CSV, XLSX or zip)", content_type = "application/octet-stream", body = Vec<u8>,
        headers(("Repr-Digest" = String, description = "sha-256=:<base64 of the SHA-256>:"))),
        (status = 410, description = "The file expired and was deleted")))]
async fn download(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (export, reader) = call(app, &caller, move |app, c| exports::download(app, c, &id)).await?;
    file_response(export, reader)
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/exports/{id}/errors.csv", tag = "exports", summary = "The export's error log",
    description = "For a users export: the rows that would not import again as they are (row, column, value, reason).",
    params(OrgPath, ExportPath), responses((status = 200, description = "Row, column, value, reason", content_type = "text/csv", body = String)))]
async fn errors_csv(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (job, body) = call(app, &caller, move |app, c| {
        let mut out = Vec::new();
        let job = exports::errors_csv(app, c, &id, &mut out)?;
        Ok((job, out))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                crate::content::content_disposition(&format!("export-{}-errors.csv", job.id)),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        Body::from(body),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/me/export", tag = "exports", summary = "Export your own data",
    description = "For a member signed in by phone: queues one archive per org they belong to, holding their profile, memberships, messages (with attachments), responses and telemetry. Each is downloaded at `/api/v1/me/exports/{id}/download`, by that member only.",
    responses((status = 202, description = "One queued export per org", body = Items<ExportJson>)))]
async fn own_export(
    State(app): State<App>,
    signed: Signed,
) -> Result<(StatusCode, Json<Items<ExportJson>>), ApiError> {
    let jobs = blocking(move || {
        Ok(exports::request_own(
            &app,
            &signed.principal,
            signed.origin.request_id,
            Some(signed.origin.ip),
        )?)
    })
    .await?;
    let exports: Vec<Export> = jobs
        .into_iter()
        .map(|job| Export { job, file: None })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(Items::of(exports))))
}

#[utoipa::path(get, path = "/api/v1/me/exports/{id}/download", tag = "exports", summary = "Download your own export",
    description = "The member who asked for the export only; anyone else gets 404.",
    params(ExportPath),
    responses((status = 200, description = "The zip archive", content_type = "application/zip", body = Vec<u8>),
        (status = 410, description = "The file expired and was deleted")))]
async fn own_download(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (export, reader) =
        blocking(move || Ok(exports::download_own(&app, &signed.principal, &id)?)).await?;
    file_response(export, reader)
}
