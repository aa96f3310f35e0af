//! Bulk user deletion as an org admin sees it: upload a CSV of phone numbers (a dry
//! run first, if wished), follow the job in the history, read its error log and
//! result file. The upload, the files and the history are the import's (see
//! [`crate::imports`]); the job is [`crate::jobs::delete_users`].

use std::io::{Read, Write};

use steward_domain::access::{Action, AdminTask};
use steward_domain::{Job, JobId, JobKind};
use steward_store::{JobQuery, Page};

use crate::import::{self, ImportOptions, NewImport};
use crate::imports::{CappedReader, MAX_FILE_NAME_CHARS, MAX_LIMIT};
use crate::jobs::delete_users::COUNTS;
use crate::{App, AppError, AppResult, Caller, audit};

const DELETE: Action = Action::OrgAdminOnly(AdminTask::DeleteUsers);

/// Stores the uploaded list and queues its deletion job.
pub fn upload(
    app: &App,
    caller: &Caller,
    file_name: String,
    dry_run: bool,
    data: &mut dyn Read,
) -> AppResult<Job> {
    let org = caller.authorize(&DELETE)?;
    if file_name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(AppError::invalid(
            "file_name",
            format!("a file name has at most {MAX_FILE_NAME_CHARS} characters"),
        ));
    }
    let new = NewImport {
        file_name,
        created_by: caller.audit().actor.clone(),
        options: ImportOptions {
            dry_run,
            mapping: None,
        },
        idempotency_key: None,
    };
    let max = app.limits().upload_bytes;
    let mut capped = CappedReader {
        inner: data,
        left: max,
        over: false,
    };
    let job = import::enqueue_as(app, org, JobKind::DeleteUsers, &COUNTS, new, &mut capped)
        .map_err(|e| {
            if capped.over {
                AppError::TooLarge(format!(
                    "the file is larger than {}, the most an upload may hold",
                    crate::limits::describe_bytes(max)
                ))
            } else {
                e
            }
        })?;
    let target = job.id.to_string();
    audit::record(app, caller.audit(), org, "users.delete_bulk", &target, "ok")?;
    Ok(job)
}

/// The org's bulk deletions, newest first.
pub fn history(
    app: &App,
    caller: &Caller,
    cursor: Option<String>,
    limit: Option<u32>,
) -> AppResult<Page<Job>> {
    let org = caller.authorize(&DELETE)?;
    let limit = limit.unwrap_or(crate::imports::DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            format!("a page holds 1 to {MAX_LIMIT} jobs"),
        ));
    }
    let query = JobQuery {
        kind: Some(JobKind::DeleteUsers),
        limit,
        after: cursor,
    };
    Ok(app.store.list_jobs(org, &query)?)
}

/// One bulk deletion of the org, by the id in a URL.
pub fn find(app: &App, caller: &Caller, raw_id: &str) -> AppResult<Job> {
    let org = caller.authorize(&DELETE)?;
    let id: JobId = raw_id.parse().map_err(|_| AppError::NotFound("deletion"))?;
    app.store
        .get_job(org, id)?
        .filter(|job| job.kind == JobKind::DeleteUsers)
        .ok_or(AppError::NotFound("deletion"))
}

/// The deletion's error log as CSV: row, column, value, reason.
pub fn errors_csv(app: &App, caller: &Caller, raw_id: &str, out: &mut dyn Write) -> AppResult<Job> {
    let job = find(app, caller, raw_id)?;
    import::write_errors_csv(app, job.org_id, job.id, out)?;
    Ok(job)
}

/// The result file: every row of the upload with what became of it.
pub fn result_csv(app: &App, caller: &Caller, raw_id: &str, out: &mut dyn Write) -> AppResult<Job> {
    let job = find(app, caller, raw_id)?;
    import::write_result_csv(app, job.org_id, job.id, out)?;
    Ok(job)
}
