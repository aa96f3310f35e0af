//! Deleting an org ("delete company data"): the receipt that outlives it, the log of
//! the deletion's steps (the org's own audit log goes with the org), and the
//! primitives the deletion job works with.
//!
//! The deletion starts at once ([`OrgDeletionStore::begin_org_deletion`]: the org
//! disappears for every reader, its credentials end, its connectors go) and the
//! deletion job then removes the rest in resumable steps: the org's own database,
//! its phones in the shared store, and its remaining shared rows. Every method is
//! idempotent, so a step run again after a crash does no harm.

use chrono::{DateTime, Utc};
use steward_domain::{Counts, Job, JobId, OrgId, PhoneNumber};

use crate::{StoreResult, TokenHash};

/// What stays of a deleted org: who asked, when, what was removed (counts per kind)
/// and when it ended. Nothing of the org's data.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgDeletion {
    pub org_id: OrgId,
    /// The deletion job.
    pub job_id: JobId,
    /// The requester as the audit log names them (`account:<email>`, `cli`).
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// The hash of the key that lets the requester read the status after their
    /// session ended with the org.
    pub status_key: TokenHash,
    /// What the org held when the deletion began, and what each step removed.
    pub counts: Counts,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One step of a deletion, as its log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionEvent {
    pub at: DateTime<Utc>,
    /// Who did the step: the requester, or `job:<id>` for the background job.
    pub actor: String,
    /// `requested`, `org_database_removed`, `blobs_removed`, `phones_forgotten`, ...
    pub step: String,
    /// Counts or a short note, never the org's data.
    pub detail: String,
}

/// A phone the org knew, and whether another org knows it too (then only the org's
/// link to it goes; the person's sign-in stays for the other org).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgPhone {
    pub phone: PhoneNumber,
    pub elsewhere: bool,
}

/// The keys the sign-in throttles count a person's attempts under, from their email
/// or phone (the app knows how keys are made; the store only removes them).
pub type ThrottleKeys<'a> = &'a dyn Fn(&str) -> Vec<String>;

/// The receipt, the deletion's log and the deletion's primitives.
pub trait OrgDeletionStore {
    /// Starts deleting an org, at once: removes its connectors and their publications
    /// from the org's data; then, in one transaction, records `deletion` with `event`,
    /// enqueues `job`, deletes the org (so every read of it finds nothing) with its
    /// API tokens and admin accounts, the sessions of those accounts and of members
    /// no other org knows, and the accounts' sign-in throttles. Answers what
    /// it ended: `connectors`, `sessions`, `api_tokens`, `accounts`. An org already
    /// being deleted, or missing, is `NotFound`.
    fn begin_org_deletion(
        &self,
        deletion: &OrgDeletion,
        job: &Job,
        event: &DeletionEvent,
        throttle_keys: ThrottleKeys<'_>,
    ) -> StoreResult<Counts>;
    /// The receipt of an org's deletion, begun or finished.
    fn org_deletion(&self, org: OrgId) -> StoreResult<Option<OrgDeletion>>;
    /// The deletion's log, oldest first.
    fn org_deletion_events(&self, org: OrgId) -> StoreResult<Vec<DeletionEvent>>;
    fn add_org_deletion_event(&self, org: OrgId, event: &DeletionEvent) -> StoreResult<()>;
    /// Removes the org's own database files, closing them first in this process;
    /// answers the bytes removed (0 when they are gone already). Only for an org
    /// whose deletion has begun.
    fn remove_org_database(&self, org: OrgId) -> StoreResult<u64>;
    /// Up to `limit` phones the org knows (for member sign-in), in phone order.
    fn org_phones(&self, org: OrgId, limit: u32) -> StoreResult<Vec<OrgPhone>>;
    /// In one transaction: the org's link to each phone goes; for phones no other org
    /// knows, also their sessions, sign-in codes, kept text messages and sign-in
    /// throttles. Answers counts: `phones`, `sessions`,
    /// `sign_in_codes`, `text_messages`, `throttles`.
    fn forget_org_phones(
        &self,
        org: OrgId,
        phones: &[OrgPhone],
        throttle_keys: ThrottleKeys<'_>,
    ) -> StoreResult<Counts>;
    /// Last: removes the org's remaining shared rows (its jobs, all but `keep`, the
    /// deletion job itself), saves the receipt's final `counts` (with `removed_jobs`
    /// added) and end time with `event`, and leaves no byte of what was removed in the
    /// store's free space or log. Answers how many jobs it removed.
    fn finish_org_deletion(
        &self,
        org: OrgId,
        keep: JobId,
        counts: &Counts,
        event: &DeletionEvent,
    ) -> StoreResult<u64>;
}
