//! Import jobs: the template, uploads, the history, and each job's files (the original,
//! the error log and the result file).
//!
//! The upload streams straight to the blob store (never whole in memory), with a size
//! cap; the job itself runs on the server's workers. The body is the file itself (any
//! content type but multipart) or a `multipart/form-data` form whose `file` part is the
//! file; options come as query parameters (`dry_run`, `mapping`) or as form fields sent
//! before the file. The file is a CSV or an Excel workbook (.xlsx), told apart by its
//! content.

use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use steward_app::import::{ColumnMapping, ImportOptions};
use steward_app::imports::{self, Upload};
use steward_app::{App, AppError, FieldError};

use crate::ApiError;
use crate::auth::Caller;
use crate::auth::call;
use crate::extract::QueryParams;
use crate::state::WebState;
use crate::wire::{ImportPath, JobJson, OrgPath, Page};

/// The largest form field other than the file (`dry_run`, `mapping`).
const MAX_FORM_FIELD_BYTES: usize = 64 * 1024;

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(history, upload, template, detail, original, errors_csv, result_csv))]
pub(crate) struct Api;

pub fn router() -> Router<WebState> {
    Router::new()
        .route(
            "/api/v1/orgs/{org}/imports",
            // axum's default 2 MB body limit would cut every form upload short: the
            // file part streams under the org's upload limit, and the other form
            // fields have their own small cap.
            get(history).post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/orgs/{org}/imports/template.csv", get(template))
        .route("/api/v1/orgs/{org}/imports/{id}", get(detail))
        .route("/api/v1/orgs/{org}/imports/{id}/original", get(original))
        .route(
            "/api/v1/orgs/{org}/imports/{id}/errors.csv",
            get(errors_csv),
        )
        .route(
            "/api/v1/orgs/{org}/imports/{id}/result.csv",
            get(result_csv),
        )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadParams {
    /// The file's name, for the history (default `upload.csv`; a form's file part
    /// carries its own).
    file_name: Option<String>,
    /// Validate and count only; write no user.
    dry_run: Option<bool>,
    /// A built-in mapping's name (`m365`) or a mapping as JSON.
    mapping: Option<String>,
}

fn mapping(raw: Option<&str>) -> Result<Option<ColumnMapping>, ApiError> {
    raw.filter(|m| !m.trim().is_empty())
        .map(ColumnMapping::named_or_json)
        .transpose()
        .map_err(ApiError::from)
}

fn invalid(field: &str, reason: impl ToString) -> ApiError {
    AppError::Invalid(vec![FieldError::new(field, reason)]).into()
}

/// The form of an upload: options first, then the file.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the multipart body in the OpenAPI document only.
struct UploadForm {
    dry_run: Option<bool>,
    /// A built-in mapping's name (`m365`) or a mapping as JSON.
    mapping: Option<String>,
    /// The CSV file or Excel workbook (.xlsx).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/imports", tag = "imports", summary = "Upload users to import",
    description = "Queues an import job. The same `Idempotency-Key` with the same file gives back the first upload's job.",
    params(OrgPath, UploadParams,
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters")),
    request_body(description = "The CSV or Excel workbook (.xlsx) itself, or a form with the options and then the file",
        content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (UploadForm = "multipart/form-data"))),
    responses((status = 202, description = "The queued job", body = JobJson)))]
async fn upload(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<UploadParams>,
    headers: HeaderMap,
    request: Request,
) -> Result<(StatusCode, Json<JobJson>), ApiError> {
    // A header that is not text is refused by the use case like any bad key.
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    let mut new = Upload {
        file_name: params.file_name.unwrap_or_else(|| "upload.csv".into()),
        options: ImportOptions {
            dry_run: params.dry_run.unwrap_or(false),
            mapping: mapping(params.mapping.as_deref())?,
        },
        idempotency_key,
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let max_upload = app.limits().upload_bytes;
    let caller = caller.caller;
    let enqueue = move |new: Upload| {
        move |reader: &mut dyn std::io::Read| Ok(imports::upload(&app, &caller, new, reader)?)
    };
    let job = if is_form {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| invalid("body", e.body_text()))?;
        loop {
            let field = form
                .next_field()
                .await
                .map_err(|e| invalid("body", e.body_text()))?
                .ok_or_else(|| invalid("file", "the form has no file part"))?;
            match field.name() {
                Some("file") => {
                    if let Some(name) = field.file_name().filter(|n| !n.is_empty()) {
                        new.file_name = name.to_owned();
                    }
                    break crate::upload::receive_stream(
                        field,
                        max_upload,
                        "uploads",
                        enqueue(new),
                    )
                    .await?;
                }
                Some("dry_run") => {
                    let text = form_text(field, "dry_run").await?;
                    new.options.dry_run = matches!(text.trim(), "true" | "1" | "on" | "yes");
                }
                Some("mapping") => {
                    let text = form_text(field, "mapping").await?;
                    new.options.mapping = mapping(Some(&text))?;
                }
                other => {
                    return Err(invalid(
                        "body",
                        format!(
                            "unexpected form field {:?}: send dry_run, mapping and then file",
                            other.unwrap_or("")
                        ),
                    ));
                }
            }
        }
    } else {
        let body = Body::new(request.into_body());
        crate::upload::receive(body, max_upload, "uploads", enqueue(new)).await?
    };
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

/// A small text field of the upload form, refused past [`MAX_FORM_FIELD_BYTES`].
async fn form_text(mut field: Field<'_>, name: &str) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| invalid(name, e.body_text()))?
    {
        if bytes.len() + chunk.len() > MAX_FORM_FIELD_BYTES {
            return Err(invalid(
                name,
                format!("is longer than {} KiB", MAX_FORM_FIELD_BYTES >> 10),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| invalid(name, "must be UTF-8 text"))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (default 50).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/imports", tag = "imports", summary = "The import history",
    params(OrgPath, HistoryParams),
    responses((status = 200, description = "One page of import jobs, newest first", body = Page<JobJson>)))]
async fn history(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<HistoryParams>,
) -> Result<Json<Page<JobJson>>, ApiError> {
    let page = call(app, &caller, move |app, c| {
        imports::history(app, c, params.cursor, params.limit)
    })
    .await?;
    Ok(Json(page.into()))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/imports/{id}", tag = "imports", summary = "Show an import",
    params(OrgPath, ImportPath), responses((status = 200, description = "The import job", body = JobJson)))]
async fn detail(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<JobJson>, ApiError> {
    let job = call(app, &caller, move |app, c| imports::find(app, c, &id)).await?;
    Ok(Json(job.into()))
}

/// A CSV download, always an attachment.
fn csv_file(name: String, body: impl Into<Body>) -> Response {
    download(name, "text/csv; charset=utf-8", body)
}

/// A file download, always an attachment.
fn download(name: String, media_type: &str, body: impl Into<Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                crate::content::content_disposition(&name),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        body.into(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/imports/template.csv", tag = "imports", summary = "The CSV template",
    params(OrgPath), responses((status = 200, description = "A CSV header row of the org's columns", content_type = "text/csv", body = String)))]
async fn template(caller: Caller, State(app): State<App>) -> Result<Response, ApiError> {
    let body = call(app, &caller, move |app, c| {
        let mut out = Vec::new();
        imports::template_csv(app, c, &mut out)?;
        Ok(out)
    })
    .await?;
    Ok(csv_file("users-template.csv".into(), body))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/imports/{id}/original", tag = "imports", summary = "The uploaded file",
    params(OrgPath, ImportPath), responses((status = 200, description = "The file as uploaded: a CSV, or an Excel workbook",
        content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
async fn original(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (job, file, media_type) =
        call(app, &caller, move |app, c| imports::original(app, c, &id)).await?;
    let name = job.file_name.unwrap_or_else(|| "upload.csv".into());
    Ok(download(name, media_type, crate::upload::send(file)))
}

/// One of a job's generated CSV files, written in memory on a blocking thread.
type WriteCsv = fn(
    &App,
    &steward_app::Caller,
    &str,
    &mut dyn std::io::Write,
) -> steward_app::AppResult<steward_domain::Job>;

async fn generated(
    app: App,
    caller: &Caller,
    raw: String,
    suffix: &'static str,
    write: WriteCsv,
) -> Result<Response, ApiError> {
    let (job, body) = call(app, caller, move |app, c| {
        let mut out = Vec::new();
        let job = write(app, c, &raw, &mut out)?;
        Ok((job, out))
    })
    .await?;
    Ok(csv_file(format!("import-{}-{suffix}.csv", job.id), body))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/imports/{id}/errors.csv", tag = "imports", summary = "The error log",
    params(OrgPath, ImportPath), responses((status = 200, description = "Each rejected row with why", content_type = "text/csv", body = String)))]
async fn errors_csv(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    generated(app, &caller, id, "errors", imports::errors_csv).await
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/imports/{id}/result.csv", tag = "imports", summary = "The result file",
    params(OrgPath, ImportPath), responses((status = 200, description = "Each row with what became of it", content_type = "text/csv", body = String)))]
async fn result_csv(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    generated(app, &caller, id, "result", imports::result_csv).await
}
