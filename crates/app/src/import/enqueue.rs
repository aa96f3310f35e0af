//! Enqueueing an import: the upload goes to the blob store, and a job with the
//! import's payload goes to the queue (once per idempotency key).

use std::io::Read;

use serde::{Deserialize, Serialize};
use steward_domain::{Counts, Job, JobId, JobKind, JobStatus, OrgId, Progress};
use steward_store::BlobKey;

use super::columns::ColumnMapping;
use super::xlsx::{Format, check_size, format_of_blob};
use crate::{App, AppError, AppResult};

/// What an import counts, in the order it shows them.
pub const COUNTS: [&str; 4] = [CREATED, UPDATED, UNCHANGED, FAILED];
pub const CREATED: &str = "created";
pub const UPDATED: &str = "updated";
pub const UNCHANGED: &str = "unchanged";
/// Rows skipped for their errors.
pub const FAILED: &str = "failed";

/// How an upload is to be imported.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Validate and count what would happen; write no user.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub mapping: Option<ColumnMapping>,
}

/// An upload to enqueue.
#[derive(Clone, Debug, Default)]
pub struct NewImport {
    pub file_name: String,
    pub created_by: String,
    pub options: ImportOptions,
    /// The same key with the same file gives back the first upload's job.
    pub idempotency_key: Option<String>,
}

/// The payload of an import job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportUsers {
    /// The uploaded file in the blob store.
    pub blob: String,
    /// The file's SHA-256, hex.
    #[serde(default)]
    pub sha256: String,
    #[serde(flatten)]
    pub options: ImportOptions,
}

impl ImportUsers {
    pub fn of(job: &Job) -> AppResult<ImportUsers> {
        serde_json::from_value(job.payload.clone()).map_err(|e| {
            AppError::Internal(format!("the import's stored input is unreadable: {e}"))
        })
    }
}

/// Stores the upload and queues its import job. With an idempotency key already used
/// for the same file, gives back that job (and keeps no second copy); used for another
/// file, it is a conflict.
pub fn enqueue(app: &App, org: OrgId, new: NewImport, data: &mut dyn Read) -> AppResult<Job> {
    app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
    let id = JobId::new();
    let blob = format!("orgs/{org}/imports/{id}/original.csv");
    let key = BlobKey::parse(&blob)?;
    let sha256 = app.blobs.put(&key, data)?.sha256;
    if let Ok(Format::Xlsx) = format_of_blob(app, &key)?
        && let Err(e) = check_size(app, &key)
    {
        app.blobs.delete(&key)?;
        return Err(e);
    }
    let payload = ImportUsers {
        blob,
        sha256: sha256.clone(),
        options: new.options,
    };
    let job = Job {
        id,
        org_id: org,
        kind: JobKind::ImportUsers,
        status: JobStatus::Queued,
        file_name: Some(new.file_name),
        created_by: new.created_by,
        created_at: app.clock.now(),
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::zero(&COUNTS),
        payload: serde_json::to_value(&payload).map_err(|e| AppError::Internal(e.to_string()))?,
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    let Some(idempotency_key) = new.idempotency_key else {
        app.store.enqueue_job(&job)?;
        return Ok(job);
    };
    let held = app.store.enqueue_job_once(&job, &idempotency_key)?;
    if held.id == job.id {
        return Ok(job);
    }
    app.blobs.delete(&key)?;
    if ImportUsers::of(&held)?.sha256 == sha256 {
        Ok(held)
    } else {
        Err(AppError::Conflict(format!(
            "the Idempotency-Key {idempotency_key:?} was already used for another file (import {}); use a new key for a new upload",
            held.id
        )))
    }
}
