//! Add Users > Import Multiple Users (template download, file, column mapping, dry
//! run, upload) and the Upload Users History (status, counts, Refresh, downloads).
//!
//! The upload is a plain multipart form streamed to the same use case as the API's
//! `POST .../imports`; the downloads link to the API's GET routes, which accept the
//! portal's session cookie.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Query, Request};
use axum::response::Response;
use axum::routing::get;
use steward_app::import::{ColumnMapping, ImportOptions};
use steward_app::imports::{self, Upload};
use steward_app::{AppError, FieldError};
use steward_domain::access::{Action, AdminTask};
use steward_domain::{Job, JobStatus};

use super::session::see_other;
use super::{Frame, OrgPage, PageError, Section, render};
use crate::state::WebState;

/// The largest form field other than the file (`csrf`, `mapping`, `dry_run`).
const MAX_FORM_FIELD_BYTES: usize = 64 * 1024;

pub(super) fn router() -> Router<WebState> {
    Router::new()
        // The form streams the file to the blob store under the org's upload limit,
        // and its other fields have their own small cap: axum's 2 MB default for a
        // whole body would cut every real upload short.
        .route(
            "/orgs/{org}/imports",
            get(history).post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/orgs/{org}/imports/new", get(import_form))
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    frame: Frame,
    action: String,
    template_href: String,
    history_href: String,
    error: Option<String>,
}

fn import_page(page: &OrgPage, error: Option<String>) -> Result<Response, PageError> {
    render(&ImportPage {
        // Users > Add Users > Import Multiple Users, as the seed walks it.
        frame: page.frame("Import Multiple Users", Section::Users),
        action: page.path("/imports"),
        template_href: format!("/api/v1/orgs/{}/imports/template.csv", page.org),
        history_href: page.path("/imports"),
        error,
    })
}

async fn import_form(page: OrgPage) -> Result<Response, PageError> {
    page.caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ImportUsers))?;
    import_page(&page, None)
}

fn invalid(field: &str, reason: impl ToString) -> PageError {
    PageError::Invalid(vec![FieldError::new(field, reason)])
}

/// The form's fields come in page order: `csrf`, `mapping`, `dry_run`, then `file`,
/// so the token is checked before a byte of the file is stored.
async fn upload(page: OrgPage, request: Request) -> Result<Response, PageError> {
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| invalid("form", e.body_text()))?;
    let mut csrf_ok = false;
    let mut new = Upload {
        file_name: "upload.csv".into(),
        options: ImportOptions::default(),
        idempotency_key: None,
    };
    let job = loop {
        let Some(field) = form
            .next_field()
            .await
            .map_err(|e| invalid("form", e.body_text()))?
        else {
            page.session.check_csrf(None)?;
            return import_page(&page, Some("Choose a file to upload.".into()));
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name != "csrf" && !csrf_ok {
            page.session.check_csrf(None)?;
        }
        match name.as_str() {
            "csrf" => {
                let token = form_text(field, "csrf").await?;
                page.session.check_csrf(Some(&token))?;
                csrf_ok = true;
            }
            "mapping" => {
                let text = form_text(field, "mapping").await?;
                if !text.trim().is_empty() {
                    match ColumnMapping::named_or_json(&text) {
                        Ok(mapping) => new.options.mapping = Some(mapping),
                        Err(e) => return import_page(&page, Some(reason(e))),
                    }
                }
            }
            "dry_run" => new.options.dry_run = true,
            "file" => {
                match field.file_name().filter(|n| !n.is_empty()) {
                    Some(name) => new.file_name = name.to_owned(),
                    None => return import_page(&page, Some("Choose a file to upload.".into())),
                }
                let caller = page.caller.clone();
                let app = page.app();
                let max_upload = app.limits().upload_bytes;
                let stored = crate::upload::receive_stream(
                    field,
                    max_upload,
                    "uploads",
                    move |reader: &mut dyn std::io::Read| {
                        Ok(imports::upload(&app, &caller, new, reader)?)
                    },
                )
                .await;
                match stored {
                    Ok(job) => break job,
                    Err(e) => {
                        let message = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                            format!(
                                "The file is larger than this organization's limit of {} MiB.",
                                max_upload / 1024 / 1024
                            )
                        } else {
                            "The file could not be uploaded; please try again.".to_owned()
                        };
                        return import_page(&page, Some(message));
                    }
                }
            }
            _ => {}
        }
    };
    let done = if job.status == JobStatus::Queued {
        "queued"
    } else {
        "uploaded"
    };
    Ok(see_other(&page.path(&format!("/imports?done={done}"))))
}

/// A small text field of the form, refused past [`MAX_FORM_FIELD_BYTES`].
async fn form_text(
    mut field: axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, PageError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| invalid(name, e.body_text()))?
    {
        if bytes.len() + chunk.len() > MAX_FORM_FIELD_BYTES {
            return Err(invalid(name, "is too long"));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| invalid(name, "must be UTF-8 text"))
}

fn reason(e: AppError) -> String {
    match e {
        AppError::Invalid(errors) => errors
            .into_iter()
            .map(|e| e.reason)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

struct Row {
    file_name: String,
    created_by: String,
    date: String,
    status: &'static str,
    dry_run: bool,
    progress: String,
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    error: Option<String>,
    original_href: String,
    errors_href: Option<String>,
    result_href: Option<String>,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct HistoryPage {
    frame: Frame,
    refresh_href: String,
    new_href: String,
    rows: Vec<Row>,
    running: bool,
    next_href: Option<String>,
    notice: Option<&'static str>,
}

fn row(org: &str, job: &Job) -> Row {
    let api = format!("/api/v1/orgs/{org}/imports/{}", job.id);
    let finished = job.status.is_finished();
    // The import job's payload carries its options flattened (`dry_run`, `mapping`).
    let dry_run = job
        .payload
        .get("dry_run")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    Row {
        file_name: job.file_name.clone().unwrap_or_else(|| "upload.csv".into()),
        // The audit log's name for the uploader, without its kind: the email or phone.
        created_by: job
            .created_by
            .split_once(':')
            .map_or(job.created_by.as_str(), |(_, who)| who)
            .to_owned(),
        date: job.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        status: job.status.portal_label(),
        dry_run,
        progress: if job.progress.total > 0 {
            format!("{} of {}", job.progress.done, job.progress.total)
        } else {
            job.progress.done.to_string()
        },
        created: job.counts.get("created"),
        updated: job.counts.get("updated"),
        unchanged: job.counts.get("unchanged"),
        failed: job.counts.get("failed"),
        error: job.error.clone(),
        original_href: format!("{api}/original"),
        errors_href: (finished
            && (job.counts.get("failed") > 0 || job.status == JobStatus::Failed))
            .then(|| format!("{api}/errors.csv")),
        result_href: (finished && job.status != JobStatus::Failed)
            .then(|| format!("{api}/result.csv")),
    }
}

async fn history(
    page: OrgPage,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let cursor = params
        .iter()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.clone());
    let jobs = page
        .run(move |app, c| imports::history(app, c, cursor, Some(25)))
        .await?;
    let org = page.org.to_string();
    let rows: Vec<Row> = jobs.items.iter().map(|j| row(&org, j)).collect();
    let running = jobs.items.iter().any(|j| !j.status.is_finished());
    let notice = match params
        .iter()
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.as_str())
    {
        Some("queued" | "uploaded") => {
            Some("Your file was uploaded. Its status shows below; click Refresh for the latest.")
        }
        _ => None,
    };
    let next_href = jobs.next_cursor.map(|c| {
        format!(
            "{}?{}",
            page.path("/imports"),
            serde_urlencoded::to_string([("cursor", c)]).unwrap_or_default()
        )
    });
    render(&HistoryPage {
        frame: page.frame("Upload Users History", Section::Imports),
        refresh_href: page.path("/imports"),
        new_href: page.path("/imports/new"),
        rows,
        running,
        next_href,
        notice,
    })
}
