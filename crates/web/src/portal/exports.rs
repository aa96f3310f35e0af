//! Export Users (from the users page, with its search and filters) and the Export
//! History (status, counts, size, expiry, downloads), plus Export tenant data.
//!
//! The forms call the same use case as the API's `POST .../exports`; the downloads
//! link to the API's GET routes, which accept the portal's session cookie.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use steward_app::export::{TenantScopeRequest, UsersFormat};
use steward_app::exports::{self, Export, ExportRequest, NewExport};
use steward_domain::{JobKind, JobStatus};

use super::session::see_other;
use super::{Form, Frame, OrgPage, PageError, Section, render};
use crate::state::WebState;

pub(super) fn router() -> Router<WebState> {
    Router::new().route("/orgs/{org}/exports", get(history).post(create))
}

/// `POST /portal/orgs/{org}/exports`: `kind` (users or tenant), and for users the
/// `format` and the list's `q`, `sort` and `filter.<key>` fields.
async fn create(page: OrgPage, form: Form) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let what = if form.get("kind") == Some("tenant") {
        ExportRequest::Tenant(TenantScopeRequest::default())
    } else {
        let format = UsersFormat::parse(form.get("format").unwrap_or("csv")).unwrap_or_default();
        let filter: BTreeMap<String, String> = form
            .0
            .iter()
            .filter(|(k, v)| {
                !v.trim().is_empty() && (k == "q" || k == "sort" || k.starts_with("filter."))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ExportRequest::Users { format, filter }
    };
    let new = NewExport {
        what,
        retention_days: None,
    };
    page.run(move |app, c| exports::request(app, c, new))
        .await?;
    Ok(see_other(&page.path("/exports?done=queued")))
}

struct Row {
    file_name: String,
    created_by: String,
    date: String,
    status: &'static str,
    counts: String,
    duration: String,
    size: String,
    expires: String,
    error: Option<String>,
    download_href: Option<String>,
    errors_href: Option<String>,
}

#[derive(Template)]
#[template(path = "exports.html")]
struct HistoryPage {
    frame: Frame,
    action: String,
    refresh_href: String,
    /// Users exports, then tenant data exports.
    sections: Vec<(&'static str, Vec<Row>)>,
    running: bool,
    notice: Option<&'static str>,
}

/// A size as people read it: 12.3 MB, 4.0 KB, 512 bytes.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} bytes"),
    }
}

fn row(org: &str, export: &Export) -> Row {
    let job = &export.job;
    let api = format!("/api/v1/orgs/{org}/exports/{}", job.id);
    let file = export.file.as_ref();
    let available = file.is_some_and(|f| !f.expired);
    Row {
        file_name: job.file_name.clone().unwrap_or_default(),
        created_by: job
            .created_by
            .split_once(':')
            .map_or(job.created_by.as_str(), |(_, who)| who)
            .to_owned(),
        date: job.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        status: if file.is_some_and(|f| f.expired) {
            "Expired"
        } else {
            job.status.portal_label()
        },
        counts: job
            .counts
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect::<Vec<_>>()
            .join(", "),
        duration: job
            .duration_ms()
            .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
            .unwrap_or_default(),
        size: file.map(|f| size(f.size)).unwrap_or_default(),
        expires: file
            .and_then(|f| f.expires_at)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        error: job.error.clone(),
        download_href: available.then(|| format!("{api}/download")),
        errors_href: (job.status == JobStatus::CompletedWithErrors)
            .then(|| format!("{api}/errors.csv")),
    }
}

async fn history(
    page: OrgPage,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (users, tenant) = page
        .run(|app, c| {
            let users = exports::history(app, c, JobKind::ExportUsers, None, Some(25))?;
            let tenant = exports::history(app, c, JobKind::ExportTenant, None, Some(25))?;
            Ok((users, tenant))
        })
        .await?;
    let org = page.org.to_string();
    let running = users
        .items
        .iter()
        .chain(&tenant.items)
        .any(|e| !e.job.status.is_finished());
    let notice = params
        .iter()
        .any(|(k, v)| k == "done" && v == "queued")
        .then_some("Your export was queued. Its status shows below; click Refresh for the latest.");
    render(&HistoryPage {
        frame: page.frame("Export History", Section::Exports),
        action: page.path("/exports"),
        refresh_href: page.path("/exports"),
        sections: vec![
            (
                "Users exports",
                users.items.iter().map(|e| row(&org, e)).collect(),
            ),
            (
                "Tenant data exports",
                tenant.items.iter().map(|e| row(&org, e)).collect(),
            ),
        ],
        running,
        notice,
    })
}
