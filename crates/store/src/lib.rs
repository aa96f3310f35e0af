//! The storage interface of Steward: one trait per area (orgs and credentials, sessions
//! and codes, users, groups, content, audit), the [`Store`] that gathers them with the
//! jobs, and the blob store for large files.
//!
//! The web and app layers only ever see [`Store`] and [`BlobStore`] (with
//! `use steward_store::prelude::*;` for the area traits' methods); every backend
//! (SQLite embedded by default, PostgreSQL later) implements them and passes the same
//! conformance suite. Every method that touches tenant data takes the [`OrgId`] and the
//! backend filters by it, so one org can never read or change another's rows.

mod audit;
mod blob;
mod content;
mod groups;
mod orgs;
mod sessions;
mod users;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_domain::{Counts, Job, JobId, JobKind, JobStatus, OrgId, Progress, UserUpsert};

pub use audit::{AuditQuery, AuditStore};
pub use blob::{BlobError, BlobKey, BlobStore, LocalBlobStore};
pub use content::{
    ContentStore, DataCounts, DataKind, GroupReport, Publishable, PublishableId, PublishableKind,
};
pub use groups::GroupStore;
pub use orgs::OrgStore;
pub use sessions::SessionStore;
pub use users::{AttributeRewrite, UserQuery, UserSort, UserStore};

/// Every area's trait, so that `use steward_store::prelude::*;` brings all of a
/// store's methods into scope.
pub mod prelude {
    pub use crate::{
        AuditStore, ContentStore, GroupStore, OrgStore, SessionStore, Store, UserStore,
    };
}

/// What can go wrong in a store. Backend details stay in `Backend` for logs; callers
/// decide what a person sees.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The worker no longer holds the job (its lease ran out and another worker took
    /// it, or the job was finished): its work must not be committed.
    #[error("the job's lease was lost")]
    LeaseLost,
    /// Data in the store could not be read back into domain values.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a list, with an opaque cursor for the next page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

/// Which jobs to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct JobQuery {
    pub kind: Option<JobKind>,
    pub limit: u32,
    pub after: Option<String>,
}

/// A worker's hold on a running job: every write the job makes names it, and the
/// store refuses the write once the lease has passed to someone else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLease {
    pub job_id: JobId,
    pub org_id: OrgId,
    pub worker_id: String,
}

/// What a heartbeat learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heartbeat {
    Held { cancel_requested: bool },
    Lost,
}

/// The state a job saves with each step of work, in the same transaction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobCheckpoint {
    pub progress: Progress,
    pub counts: Counts,
    /// The job's own resume position (serde payload of its kind).
    pub state: Option<serde_json::Value>,
}

/// How a job ended.
#[derive(Clone, Debug, PartialEq)]
pub struct JobEnd {
    pub status: JobStatus,
    pub error: Option<String>,
    pub checkpoint: JobCheckpoint,
}

/// One problem with one input row of a job (an import's error log line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line of the record in the file, counting the header as line 1.
    pub row: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// One step of an import: a run of consecutive file rows, what became of each, and
/// the rows to write. Rows of the run that are neither in `users` nor in `errors` were
/// blank.
#[derive(Clone, Debug, Default)]
pub struct ImportStep {
    /// Row numbers `first_row .. first_row + row_count` (see [`RowError::row`]).
    pub first_row: u64,
    pub row_count: u64,
    /// The valid rows, by row number, in file order.
    pub users: Vec<(u64, UserUpsert)>,
    /// Problems that skip their row.
    pub errors: Vec<RowError>,
    /// Cells that were repaired and imported (`reason` says what was done).
    pub repairs: Vec<RowError>,
    /// Work out what the rows would do, record it, and write no user.
    pub dry_run: bool,
}

/// What one import row did, as stored per step and shown in the result file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    Created,
    Updated,
    Unchanged,
    Failed,
    Blank,
}

impl RowOutcome {
    /// One character per row in the stored outcome runs.
    pub fn code(self) -> char {
        match self {
            RowOutcome::Created => 'c',
            RowOutcome::Updated => 'u',
            RowOutcome::Unchanged => '=',
            RowOutcome::Failed => 'x',
            RowOutcome::Blank => ' ',
        }
    }

    pub fn from_code(code: char) -> Option<RowOutcome> {
        [
            RowOutcome::Created,
            RowOutcome::Updated,
            RowOutcome::Unchanged,
            RowOutcome::Failed,
            RowOutcome::Blank,
        ]
        .into_iter()
        .find(|o| o.code() == code)
    }
}

/// The outcomes of one step's rows: `outcomes[i]` is row `first_row + i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeRun {
    pub first_row: u64,
    pub outcomes: Vec<RowOutcome>,
}

/// A token as found by its secret's hash.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenHash(pub [u8; 32]);

/// The storage interface: every area's methods, and the jobs. Methods are shaped like
/// use cases; each is one transaction.
pub trait Store:
    OrgStore + SessionStore + UserStore + GroupStore + ContentStore + AuditStore + Send + Sync + 'static
{
    /// Checks the store answers (for `/readyz`).
    fn ping(&self) -> StoreResult<()>;

    // Jobs.
    fn enqueue_job(&self, job: &Job) -> StoreResult<()>;
    /// Enqueues `job` under an idempotency key of its org, unless a job already holds
    /// that key; returns the job that holds it (the new one or the earlier one).
    fn enqueue_job_once(&self, job: &Job, idempotency_key: &str) -> StoreResult<Job>;
    fn get_job(&self, org: OrgId, id: JobId) -> StoreResult<Option<Job>>;
    /// A job by id alone, for the worker and the operator's CLI.
    fn find_job(&self, id: JobId) -> StoreResult<Option<Job>>;
    fn list_jobs(&self, org: OrgId, query: &JobQuery) -> StoreResult<Page<Job>>;
    /// How many jobs of `kind` the org has queued or running (for the per-org limit).
    fn count_active_jobs(&self, org: OrgId, kind: JobKind) -> StoreResult<u64>;
    /// Takes the oldest queued job, or a running one whose lease has expired (its
    /// worker died), and leases it to `worker_id` until `lease_until`. With `only`,
    /// takes that job or nothing (the CLI runs the job it just enqueued).
    fn claim_job(
        &self,
        only: Option<JobId>,
        worker_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<Job>>;
    fn heartbeat_job(&self, lease: &JobLease, lease_until: DateTime<Utc>)
    -> StoreResult<Heartbeat>;
    /// Saves progress alone (for steps whose work is outside the store, like writing a
    /// blob).
    fn checkpoint_job(&self, lease: &JobLease, checkpoint: &JobCheckpoint) -> StoreResult<()>;
    fn finish_job(&self, lease: &JobLease, end: &JobEnd, now: DateTime<Utc>) -> StoreResult<()>;
    /// Cancels a queued job at once; asks a running one to stop at its next step.
    fn request_job_cancel(
        &self,
        org: OrgId,
        id: JobId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>>;

    /// One step of an import, atomically: upserts the rows (unless a dry run), records
    /// the row errors, repairs and outcomes, and saves the checkpoint. The counts in
    /// `checkpoint` are those *before* this step; the store adds what the step did and
    /// returns the new totals.
    fn import_users_step(
        &self,
        lease: &JobLease,
        step: &ImportStep,
        checkpoint: &JobCheckpoint,
        now: DateTime<Utc>,
    ) -> StoreResult<Counts>;
    /// Row errors of a job in row order, after `after_row`.
    fn job_errors(
        &self,
        org: OrgId,
        job: JobId,
        after_row: u64,
        limit: u32,
    ) -> StoreResult<Vec<RowError>>;
    /// Repairs made to a job's rows, in row order, after `after_row`.
    fn job_repairs(
        &self,
        org: OrgId,
        job: JobId,
        after_row: u64,
        limit: u32,
    ) -> StoreResult<Vec<RowError>>;
    /// The outcome runs of a job's steps in row order, those starting after `after_row`.
    fn job_outcomes(
        &self,
        org: OrgId,
        job: JobId,
        after_row: u64,
        limit: u32,
    ) -> StoreResult<Vec<OutcomeRun>>;
}
