//! The job part of the storage interface: the queue with its leases and heartbeats,
//! each job's checkpoint, counts and outputs, and the row notes a job keeps for its
//! result files.
//!
//! A job's step of work runs through [`JobStore::job_step`]: the job writes through the
//! [`JobTx`] it is handed, returns the checkpoint to save, and the store commits both in
//! one transaction, or neither when the worker no longer holds the lease. The store
//! only offers primitives; what a job counts and how it sorts its work is the job's
//! business, so a second backend does not repeat it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_domain::lifecycle::DeletionReceipt;
use steward_domain::{
    AttachmentId, Counts, Job, JobId, JobKind, JobStatus, OrgId, Progress, UpsertOutcome, UserId,
    UserUpsert,
};

use crate::{BlobKey, Page, PurgeKind, PurgedUser, StoreResult};

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

/// One note about one input row of a job: a problem that skipped the row (an import's
/// error log line), or a repair made to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line of the record in the file, counting the header as line 1.
    pub row: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// Which list a row note goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// The row was skipped for this reason.
    Error,
    /// A cell was repaired and the row imported.
    Repair,
}

/// What one input row did, as stored per step and shown in a result file.
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

/// A blob a job produced (an export archive, a report), for its owner to download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOutput {
    pub key: BlobKey,
    /// The file name a download is offered under.
    pub name: String,
    pub size: u64,
    /// SHA-256 of the blob, lowercase hex.
    pub sha256: String,
}

/// How long a job's files are offered: after `expires_at` they are gone for good, and
/// `deleted_at` says when the worker removed them from the blob store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilesExpiry {
    pub expires_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The writes a job can make inside one step's transaction. Each applies only when
/// the step commits; all of them are scoped to the leased job and its org.
pub trait JobTx {
    /// What upserting `rows` would do to the org's users (created, updated or
    /// unchanged, as [`JobTx::upsert_users`] would answer), without writing anything.
    /// The rows hold distinct phones.
    fn classify_users(&mut self, rows: &[&UserUpsert]) -> StoreResult<Vec<UpsertOutcome>>;
    /// Creates or updates users by phone, in the order given; rows equal to what is
    /// stored are left alone.
    fn upsert_users(
        &mut self,
        rows: &[&UserUpsert],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<UpsertOutcome>>;
    /// Records row notes, in row order.
    fn add_notes(&mut self, kind: NoteKind, notes: &[RowError]) -> StoreResult<()>;
    /// Records what became of a run of rows.
    fn add_outcomes(&mut self, run: &OutcomeRun) -> StoreResult<()>;
    /// Records a blob the job produced (written to the blob store before the step).
    fn add_output(&mut self, output: &JobOutput) -> StoreResult<()>;

    /// One step of a purge of a deleted user of the job's org: marks the user as being
    /// purged (no restore from now on) and removes up to `limit` rows of `kind` (for
    /// attachments, exactly those in `attachments`, whose blobs are already gone).
    /// Answers how many rows went. Refused with a `Rule` conflict when the user is not
    /// deleted or a legal hold covers them.
    fn purge_rows(
        &mut self,
        user: UserId,
        kind: PurgeKind,
        attachments: &[AttachmentId],
        limit: u32,
    ) -> StoreResult<u64>;
    /// The last step of a purge: the user's row goes (or stays as a stub, see
    /// [`PurgedUser`]) with what was kept for a restore, and the receipt is recorded
    /// with, as its counts, the rows every purge step of this user removed (and
    /// `blobs`: one per attachment), whatever runs they came from; `receipt.counts` is
    /// not read. Refused like [`JobTx::purge_rows`], and while rows are left.
    fn finish_purge(&mut self, user: UserId, receipt: &DeletionReceipt) -> StoreResult<PurgedUser>;
}

/// The work of one step: writes through the transaction and answers the checkpoint to
/// save with it.
pub type StepWork<'a> = dyn FnMut(&mut dyn JobTx) -> StoreResult<JobCheckpoint> + 'a;

/// Jobs: the queue, leases, steps and what jobs leave behind.
pub trait JobStore: Send + Sync {
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

    /// One step of a job, in one transaction: checks the lease, runs `work`, and saves
    /// the checkpoint it answers. If the lease is not held (`LeaseLost`) or `work`
    /// fails, nothing of the step is kept. Answers the saved checkpoint.
    fn job_step(&self, lease: &JobLease, work: &mut StepWork<'_>) -> StoreResult<JobCheckpoint>;

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
    /// The blobs a job produced, in the order it recorded them.
    fn job_outputs(&self, org: OrgId, job: JobId) -> StoreResult<Vec<JobOutput>>;

    /// Sets when the files of a job of the org expire, replacing an earlier time (a
    /// job that is run again publishes again). An unknown job is `NotFound`.
    fn set_job_files_expiry(
        &self,
        org: OrgId,
        job: JobId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// When the files of a job of the org expire, if they do.
    fn job_files_expiry(&self, org: OrgId, job: JobId) -> StoreResult<Option<FilesExpiry>>;
    /// Jobs of any org whose files expired by `now` and are not deleted yet, the
    /// longest expired first: the work of the worker that deletes them.
    fn expired_job_files(&self, now: DateTime<Utc>, limit: u32)
    -> StoreResult<Vec<(OrgId, JobId)>>;
    /// Records that the files of a job were deleted (the first time counts).
    fn mark_job_files_deleted(&self, org: OrgId, job: JobId, now: DateTime<Utc>)
    -> StoreResult<()>;
}
