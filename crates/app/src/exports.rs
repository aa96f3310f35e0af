//! Exports as people see them: asking for one (the users list as CSV or XLSX, the
//! tenant archive, or a member's own data), the history, each export's detail, its
//! download and its error log, and the deletion of files past their retention.
//!
//! Every export is a job (`jobs::export_users`, `jobs::export_tenant`). A job writes
//! its file to a temporary file, fsyncs it, and only then stores it in the blob store
//! (which hashes it and renames it into place) and records it as the job's output in
//! one step with the job's checkpoint. A download serves only a recorded output, so a
//! job killed part-way never serves a partial file: the next run writes the file again.
//!
//! Files are kept `retention_days` (default [`DEFAULT_RETENTION_DAYS`], at most
//! [`MAX_RETENTION_DAYS`]) from the time they were published; then the worker deletes
//! them ([`delete_expired_files`]) and the export stays in the history as expired.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;
use steward_domain::access::{Action, AdminTask};
use steward_domain::{Counts, Feature, Job, JobId, JobKind, JobStatus, OrgId, Progress};
use steward_store::{BlobKey, BlobReader, FilesExpiry, JobOutput, JobQuery, Page};

use crate::caller::AuditContext;
use crate::directory::user_query;
use crate::export::{ExportOptions, ExportTenant, ExportUsers, TenantScopeRequest, UsersFormat};
use crate::security::{Principal, caller_in};
use crate::{App, AppError, AppResult, Caller, FieldError, audit, import, plans};

/// How long an export's file is kept when the request does not say.
pub const DEFAULT_RETENTION_DAYS: u32 = 7;
/// The longest retention a request may ask for.
pub const MAX_RETENTION_DAYS: u32 = 90;
/// Exports of one org queued or running at once (each kind counted on its own).
pub const MAX_IN_FLIGHT_PER_ORG: u64 = 3;
/// The default and largest page of the history.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// What a request asks to export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportRequest {
    /// The users list, with the list's filters (`q`, `sort`, `filter.<key>`, or a
    /// bare attribute key for `filter.<key>`).
    Users {
        format: UsersFormat,
        filter: BTreeMap<String, String>,
    },
    /// The tenant archive.
    Tenant(TenantScopeRequest),
}

/// An export request with its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewExport {
    pub what: ExportRequest,
    /// Days the file is kept (1 to [`MAX_RETENTION_DAYS`]).
    pub retention_days: Option<u32>,
}

/// An export job with its file, as the history and the detail show it.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    pub job: Job,
    /// The file, once the job has published it.
    pub file: Option<ExportFile>,
}

/// The file of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportFile {
    pub name: String,
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the worker deleted it (after it expired).
    pub deleted_at: Option<DateTime<Utc>>,
    /// Past its expiry: no longer offered, whether or not it is deleted yet.
    pub expired: bool,
    pub(crate) key: BlobKey,
}

fn is_export(kind: JobKind) -> bool {
    matches!(kind, JobKind::ExportUsers | JobKind::ExportTenant)
}

fn action_for(kind: JobKind) -> Action {
    match kind {
        JobKind::ExportTenant => Action::OrgAdminOnly(AdminTask::ExportTenantData),
        _ => Action::OrgAdminOnly(AdminTask::ExportUsers),
    }
}

fn retention(raw: Option<u32>) -> AppResult<u32> {
    let days = raw.unwrap_or(DEFAULT_RETENTION_DAYS);
    if !(1..=MAX_RETENTION_DAYS).contains(&days) {
        return Err(AppError::invalid(
            "retention_days",
            format!("keep an export 1 to {MAX_RETENTION_DAYS} days"),
        ));
    }
    Ok(days)
}

/// Reads a users export's filter into the list's parameters, checked against the
/// schema now (a bad filter is refused with the request, not found by the job later).
fn users_filter(
    app: &App,
    org: OrgId,
    filter: &BTreeMap<String, String>,
) -> AppResult<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in filter {
        let name = match key.as_str() {
            "q" | "sort" => key.clone(),
            k if k.starts_with("filter.") => key.clone(),
            "limit" | "cursor" | "columns" => {
                errors.push(FieldError::new(
                    format!("filter.{key}"),
                    "an export holds every matching user and every column; filter with q, sort or an attribute",
                ));
                continue;
            }
            _ => format!("filter.{key}"),
        };
        params.push((name, value.clone()));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let defs = app.store.attribute_defs(org)?;
    user_query(&defs, &params).map_err(|e| match e {
        // Name the fields as the request sent them.
        AppError::Invalid(errors) => AppError::Invalid(
            errors
                .into_iter()
                .map(|f| FieldError {
                    field: format!("filter.{}", f.field.trim_start_matches("filter.")),
                    ..f
                })
                .collect(),
        ),
        other => other,
    })?;
    Ok(params)
}

/// An export request checked and turned into its job's kind, payload and file name.
struct Prepared {
    org: OrgId,
    kind: JobKind,
    payload: serde_json::Value,
    file_name: String,
}

fn prepare(app: &App, caller: &Caller, new: NewExport) -> AppResult<Prepared> {
    let kind = match &new.what {
        ExportRequest::Users { .. } => JobKind::ExportUsers,
        ExportRequest::Tenant(_) => JobKind::ExportTenant,
    };
    let org = caller.authorize(&action_for(kind))?;
    let options = ExportOptions {
        retention_days: retention(new.retention_days)?,
        for_member: None,
    };
    let stamp = app.clock.now().format("%Y%m%d-%H%M%S");
    let (payload, file_name) = match new.what {
        ExportRequest::Users { format, filter } => {
            let filter = users_filter(app, org, &filter)?;
            let payload = ExportUsers {
                format,
                filter,
                options,
            };
            let name = format!("users-{stamp}.{}", format.extension());
            (json(&payload)?, name)
        }
        ExportRequest::Tenant(scope) => {
            // The role first (above), then the plan: a missing role is a 403, a plan
            // without the archive is its own problem naming the plan that has it.
            plans::require(app, org, Feature::TenantExport)?;
            let payload = ExportTenant::validate(app, org, &scope, options)?;
            (json(&payload)?, format!("tenant-{stamp}.zip"))
        }
    };
    Ok(Prepared {
        org,
        kind,
        payload,
        file_name,
    })
}

/// Queues an export of the caller's org: org admins only (the tenant archive also
/// needs a plan that includes it). Answers the queued job.
pub fn request(app: &App, caller: &Caller, new: NewExport) -> AppResult<Job> {
    let p = prepare(app, caller, new)?;
    let job = enqueue(
        app,
        p.org,
        p.kind,
        p.file_name,
        &caller.audit().actor,
        p.payload,
    )?;
    audit::record(
        app,
        caller.audit(),
        p.org,
        &format!("export.{}", short_kind(p.kind)),
        &job.id.to_string(),
        "ok",
    )?;
    Ok(job)
}

/// An export of the org asked for with the same request that has not finished
/// (queued, or running under a lease a killed process may still hold): the one to
/// resume rather than start again.
pub fn unfinished_like(app: &App, caller: &Caller, new: NewExport) -> AppResult<Option<Job>> {
    let p = prepare(app, caller, new)?;
    let recent = app.store.list_jobs(
        p.org,
        &JobQuery {
            kind: Some(p.kind),
            limit: MAX_LIMIT,
            after: None,
        },
    )?;
    Ok(recent
        .items
        .into_iter()
        .find(|job| !job.status.is_finished() && job.payload == p.payload))
}

fn short_kind(kind: JobKind) -> &'static str {
    match kind {
        JobKind::ExportTenant => "tenant",
        _ => "users",
    }
}

fn json<T: Serialize>(payload: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(payload).map_err(|e| AppError::Internal(e.to_string()))
}

fn enqueue(
    app: &App,
    org: OrgId,
    kind: JobKind,
    file_name: String,
    created_by: &str,
    payload: serde_json::Value,
) -> AppResult<Job> {
    let in_flight = app.store.count_active_jobs(org, kind)?;
    if in_flight >= MAX_IN_FLIGHT_PER_ORG {
        return Err(AppError::Conflict(format!(
            "the org already has {in_flight} {} exports queued or running, the most it may have at once; wait for one to finish",
            short_kind(kind)
        )));
    }
    let job = Job {
        id: JobId::new(),
        org_id: org,
        kind,
        status: JobStatus::Queued,
        file_name: Some(file_name),
        created_by: created_by.to_owned(),
        created_at: app.clock.now(),
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::default(),
        payload,
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    app.store.enqueue_job(&job)?;
    Ok(job)
}

/// A member's own data: one archive per org they belong to, holding their profile,
/// memberships, their messages and responses and their telemetry. Only a member
/// signed in by phone may ask, and only they may download the files
/// ([`download_own`]).
pub fn request_own(
    app: &App,
    principal: &Principal,
    request_id: Option<String>,
    ip: Option<String>,
) -> AppResult<Vec<Job>> {
    let Principal::Member(phone) = principal else {
        return Err(AppError::Forbidden(
            "exporting your own data needs a member's own sign-in (by phone)".into(),
        ));
    };
    let mut jobs = Vec::new();
    for user in crate::security::member_orgs(app, phone)? {
        let caller = caller_in(app, principal, user.org_id, request_id.clone(), ip.clone())?;
        let org = caller.authorize(&Action::ExportOwnData)?;
        let options = ExportOptions {
            retention_days: DEFAULT_RETENTION_DAYS,
            for_member: Some(phone.as_str().to_owned()),
        };
        let payload = ExportTenant::own_data(phone, options);
        let stamp = app.clock.now().format("%Y%m%d-%H%M%S");
        let job = enqueue(
            app,
            org,
            JobKind::ExportTenant,
            format!("my-data-{stamp}.zip"),
            &caller.audit().actor,
            json(&payload)?,
        )?;
        audit::record(
            app,
            caller.audit(),
            org,
            "export.own_data",
            &job.id.to_string(),
            "ok",
        )?;
        jobs.push(job);
    }
    Ok(jobs)
}

/// One of the member's own exports, to download: another person's is not found.
pub fn download_own(
    app: &App,
    principal: &Principal,
    raw_id: &str,
) -> AppResult<(Export, BlobReader)> {
    let Principal::Member(phone) = principal else {
        return Err(AppError::NotFound("export"));
    };
    let id: JobId = raw_id.parse().map_err(|_| AppError::NotFound("export"))?;
    let job = app
        .store
        .find_job(id)?
        .filter(|job| job.kind == JobKind::ExportTenant)
        .ok_or(AppError::NotFound("export"))?;
    if ExportOptions::of(&job)?.for_member.as_deref() != Some(phone.as_str()) {
        return Err(AppError::NotFound("export"));
    }
    let caller = caller_in(app, principal, job.org_id, None, None)?;
    caller.authorize(&Action::ExportOwnData)?;
    open_file(app, &caller, with_file(app, job)?)
}

/// The org's exports of one kind (`users` or `tenant`), newest first.
pub fn history(
    app: &App,
    caller: &Caller,
    kind: JobKind,
    cursor: Option<String>,
    limit: Option<u32>,
) -> AppResult<Page<Export>> {
    if !is_export(kind) {
        return Err(AppError::invalid("kind", "use users or tenant"));
    }
    let org = caller.authorize(&action_for(kind))?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            format!("a page holds 1 to {MAX_LIMIT} exports"),
        ));
    }
    let page = app.store.list_jobs(
        org,
        &JobQuery {
            kind: Some(kind),
            limit,
            after: cursor,
        },
    )?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|job| with_file(app, job))
            .collect::<AppResult<_>>()?,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

/// One export of the org, by the id in a URL.
pub fn find(app: &App, caller: &Caller, raw_id: &str) -> AppResult<Export> {
    // The users-export right lets the caller see whether the id is an export at all;
    // the right of the export's own kind is checked once the job is known.
    let org = caller.authorize(&action_for(JobKind::ExportUsers))?;
    let id: JobId = raw_id.parse().map_err(|_| AppError::NotFound("export"))?;
    let job = app
        .store
        .get_job(org, id)?
        .filter(|job| is_export(job.kind))
        .ok_or(AppError::NotFound("export"))?;
    caller.authorize(&action_for(job.kind))?;
    with_file(app, job)
}

fn with_file(app: &App, job: Job) -> AppResult<Export> {
    let output = app
        .store
        .job_outputs(job.org_id, job.id)?
        .into_iter()
        .next();
    let file = match output {
        None => None,
        Some(JobOutput {
            key,
            name,
            size,
            sha256,
        }) => {
            let expiry = app.store.job_files_expiry(job.org_id, job.id)?;
            let now = app.clock.now();
            Some(ExportFile {
                name,
                size,
                sha256,
                expires_at: expiry.map(|e| e.expires_at),
                deleted_at: expiry.and_then(|e| e.deleted_at),
                expired: expiry
                    .is_some_and(|e: FilesExpiry| e.deleted_at.is_some() || e.expires_at <= now),
                key,
            })
        }
    };
    Ok(Export { job, file })
}

/// The file of an export, to stream: refused while the job runs, after it failed,
/// and once the file expired (gone, with the date). Each download is audited.
pub fn download(app: &App, caller: &Caller, raw_id: &str) -> AppResult<(Export, BlobReader)> {
    let export = find(app, caller, raw_id)?;
    if ExportOptions::of(&export.job)?.for_member.is_some() {
        return Err(AppError::Forbidden(
            "a member's export of their own data is downloaded only by that member".into(),
        ));
    }
    open_file(app, caller, export)
}

fn open_file(app: &App, caller: &Caller, export: Export) -> AppResult<(Export, BlobReader)> {
    let job = &export.job;
    let Some(file) = &export.file else {
        return Err(AppError::Conflict(match job.status {
            JobStatus::Failed => format!(
                "the export failed, so it has no file: {}",
                job.error.as_deref().unwrap_or("no reason was recorded")
            ),
            JobStatus::Canceled => "the export was canceled, so it has no file".into(),
            status => format!(
                "the export has no file yet (it is {}); try again when it is completed",
                status.as_str()
            ),
        }));
    };
    if file.expired {
        let when = file
            .expires_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        return Err(AppError::Gone(format!(
            "the file of this export expired on {when} and was deleted; request a new export"
        )));
    }
    let reader = app.blobs.open(&file.key)?;
    audit::record(
        app,
        caller.audit(),
        job.org_id,
        "export.download",
        &job.id.to_string(),
        "ok",
    )?;
    Ok((export, reader))
}

/// The export's error log as CSV: row, column, value, reason (for a users export,
/// the rows that would not import again as they are).
pub fn errors_csv(app: &App, caller: &Caller, raw_id: &str, out: &mut dyn Write) -> AppResult<Job> {
    let export = find(app, caller, raw_id)?;
    import::write_notes_csv(app, export.job.org_id, export.job.id, out)?;
    Ok(export.job)
}

/// Deletes the files of exports past their retention (the worker calls this when it
/// is idle); the jobs stay in the history as expired. Answers how many exports lost
/// their files.
pub fn delete_expired_files(app: &App) -> AppResult<u64> {
    let now = app.clock.now();
    let due = app.store.expired_job_files(now, 100)?;
    let system = AuditContext {
        actor: "system".into(),
        request_id: None,
        ip: None,
    };
    for (org, job) in &due {
        for output in app.store.job_outputs(*org, *job)? {
            app.blobs.delete(&output.key)?;
        }
        app.store.mark_job_files_deleted(*org, *job, now)?;
        audit::record(app, &system, *org, "export.expire", &job.to_string(), "ok")?;
    }
    Ok(due.len() as u64)
}
