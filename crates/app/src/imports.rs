//! Imports as an org admin sees them: the template, uploads, the history and each
//! job's files. Each use case checks the caller's right first; the job itself is in
//! [`crate::import`].

use std::io::{Read, Write};

use steward_domain::access::{Action, AdminTask};
use steward_domain::{Job, JobId, JobKind};
use steward_store::{JobQuery, Page, blob_info_of};

use crate::import::{self, ImportOptions, ImportUsers, NewImport};
use crate::{App, AppError, AppResult, Caller, FieldError, audit};

/// Imports, their history and files are org-admin work.
const IMPORT: Action = Action::OrgAdminOnly(AdminTask::ImportUsers);

/// The default and largest page of the history.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// The longest uploaded file name accepted.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// An upload as a request describes it.
#[derive(Clone, Debug, Default)]
pub struct Upload {
    pub file_name: String,
    pub options: ImportOptions,
    /// The same key with the same file gives back the first upload's job.
    pub idempotency_key: Option<String>,
}

/// Stores the uploaded file and queues its import job.
pub fn upload(app: &App, caller: &Caller, upload: Upload, data: &mut dyn Read) -> AppResult<Job> {
    let org = caller.authorize(&IMPORT)?;
    if let Some(key) = &upload.idempotency_key
        && (key.is_empty()
            || key.len() > MAX_IDEMPOTENCY_KEY
            || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
    {
        return Err(AppError::Invalid(vec![FieldError::new(
            "Idempotency-Key",
            format!(
                "the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
            ),
        )]));
    }
    // The name is kept as sent (it is the uploader's data; outputs show it through
    // `display_safe`), but bounded like any text a request brings.
    if upload.file_name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(AppError::invalid(
            "file_name",
            format!("a file name has at most {MAX_FILE_NAME_CHARS} characters"),
        ));
    }
    let limits = app.limits();
    let in_flight = app.store.count_active_jobs(org, JobKind::ImportUsers)?;
    if in_flight >= limits.imports_in_flight_per_org {
        return Err(AppError::Conflict(format!(
            "the org already has {in_flight} imports queued or running, the most it may have at once ({}); wait for one to finish",
            limits.imports_in_flight_per_org
        )));
    }
    let new = NewImport {
        file_name: upload.file_name,
        created_by: caller.audit().actor.clone(),
        options: upload.options,
        idempotency_key: upload.idempotency_key,
    };
    let max = limits.upload_bytes;
    let mut capped = CappedReader {
        inner: data,
        left: max,
        over: false,
    };
    let job = import::enqueue(app, org, new, &mut capped).map_err(|e| {
        if capped.over {
            AppError::TooLarge(format!(
                "the file is larger than {}, the most an import may hold",
                crate::limits::describe_bytes(max)
            ))
        } else {
            e
        }
    })?;
    audit::record(
        app,
        caller.audit(),
        org,
        "import.create",
        &job.id.to_string(),
        "ok",
    )?;
    Ok(job)
}

/// Reads at most `left` bytes; one more fails the read (so the partial file is never
/// kept) and sets `over`.
struct CappedReader<'a> {
    inner: &'a mut dyn Read,
    left: u64,
    over: bool,
}

impl Read for CappedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Ask for one byte past the cap, so a file of exactly the cap passes.
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            self.over = true;
            return Err(std::io::Error::other("the file is over the upload limit"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The org's imports, newest first.
pub fn history(
    app: &App,
    caller: &Caller,
    cursor: Option<String>,
    limit: Option<u32>,
) -> AppResult<Page<Job>> {
    let org = caller.authorize(&IMPORT)?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            format!("a page holds 1 to {MAX_LIMIT} imports"),
        ));
    }
    let query = JobQuery {
        kind: Some(JobKind::ImportUsers),
        limit,
        after: cursor,
    };
    Ok(app.store.list_jobs(org, &query)?)
}

/// One import of the org, by the id in a URL.
pub fn find(app: &App, caller: &Caller, raw_id: &str) -> AppResult<Job> {
    let org = caller.authorize(&IMPORT)?;
    let id: JobId = raw_id.parse().map_err(|_| AppError::NotFound("import"))?;
    import::find_import(app, org, id)
}

/// The org's CSV template: the header row an upload needs.
pub fn template_csv(app: &App, caller: &Caller, out: &mut dyn Write) -> AppResult<()> {
    let org = caller.authorize(&IMPORT)?;
    import::write_template_csv(app, org, out)
}

/// The file as it was uploaded.
pub fn original(
    app: &App,
    caller: &Caller,
    raw_id: &str,
) -> AppResult<(Job, steward_store::BlobReader, &'static str)> {
    let job = find(app, caller, raw_id)?;
    import::open_original(app, job.org_id, job.id)
}

/// The import's error log as CSV: row, column, value, reason.
pub fn errors_csv(app: &App, caller: &Caller, raw_id: &str, out: &mut dyn Write) -> AppResult<Job> {
    let job = find(app, caller, raw_id)?;
    import::write_errors_csv(app, job.org_id, job.id, out)?;
    Ok(job)
}

/// The import's result file: every row of the upload with what became of it.
pub fn result_csv(app: &App, caller: &Caller, raw_id: &str, out: &mut dyn Write) -> AppResult<Job> {
    let job = find(app, caller, raw_id)?;
    import::write_result_csv(app, job.org_id, job.id, out)?;
    Ok(job)
}

/// An import of the org that has not finished (queued, or running under a lease that a
/// crashed process may still hold) for a file with this content and these options:
/// the one to resume instead of starting the same file again.
pub fn unfinished_for_file(
    app: &App,
    caller: &Caller,
    file: &mut dyn Read,
    options: &ImportOptions,
) -> AppResult<Option<Job>> {
    let org = caller.authorize(&IMPORT)?;
    let sha256 = blob_info_of(file)
        .map_err(|e| AppError::Internal(format!("cannot read the file: {e}")))?
        .sha256;
    let query = JobQuery {
        kind: Some(JobKind::ImportUsers),
        limit: MAX_LIMIT,
        after: None,
    };
    // Unfinished imports are among the newest: one page is plenty.
    let recent = app.store.list_jobs(org, &query)?;
    Ok(recent.items.into_iter().find(|job| {
        !job.status.is_finished()
            && ImportUsers::of(job)
                .is_ok_and(|payload| payload.sha256 == sha256 && &payload.options == options)
    }))
}
