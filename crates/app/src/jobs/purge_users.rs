//! The purge job: removes deleted users' rows and blobs for good, one user after the
//! other, in steps of at most [`STEP_ROWS`] rows so the org's other writers never wait
//! long. Each step commits with its checkpoint; a run that stops resumes at the next
//! step. The user stays listed as deleted (their content already hidden) until the
//! last step removes them and records the receipt in the same transaction, so nobody
//! sees a half-purged user.

use serde::{Deserialize, Serialize};
use steward_domain::lifecycle::DeletionReceipt;
use steward_domain::{AttachmentId, Counts, JobKind, ReceiptId};
use steward_store::{BlobKey, Conflict, JobCheckpoint, PurgeKind, StoreError};

use super::runner::{BackgroundJob, JobContext, JobStop, checkpoint_of};
use crate::lifecycle::{PurgeUsers, phone_hash};

/// The most rows one step removes (attachments: their blobs first).
pub const STEP_ROWS: u32 = 1000;
/// The most attachments (and so blob files) one step removes.
const STEP_ATTACHMENTS: u32 = 200;

/// Counts a purge job reports besides the rows per kind.
pub const PURGED: &str = "purged_users";
pub const HELD: &str = "held_users";
pub const SKIPPED: &str = "skipped_users";
pub const BLOBS: &str = "blobs";

/// Where a purge job is: the index of the user being purged. (What was removed of
/// that user so far is counted by the store with each step, for the receipt.)
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct PurgeState {
    user: usize,
}

impl BackgroundJob for PurgeUsers {
    const KIND: JobKind = JobKind::PurgeUsers;

    fn run(self, ctx: &JobContext<'_>) -> Result<JobCheckpoint, JobStop> {
        let app = ctx.app;
        let job = ctx.job();
        let org = job.org_id;
        let mut committed = checkpoint_of(job);
        let fail = |message: String, cp: &JobCheckpoint| JobStop::Failed {
            message,
            checkpoint: cp.clone(),
        };
        let mut state: PurgeState = match &committed.state {
            Some(state) => serde_json::from_value(state.clone()).map_err(|e| {
                fail(
                    format!("the job's resume position is unreadable: {e}"),
                    &committed,
                )
            })?,
            None => PurgeState::default(),
        };
        if committed.progress.total == 0 {
            // The first run sizes the work: every row to remove, and one last step
            // per user.
            let mut total = 0;
            for user in &self.users {
                let counts = app
                    .store
                    .purge_counts(org, *user)
                    .map_err(|e| JobStop::from_store(e, &committed))?;
                total += counts.iter().map(|(_, n)| n).sum::<u64>() + 1;
            }
            committed.progress.total = total;
        }
        while let Some(&user) = self.users.get(state.user) {
            let deleted = app
                .store
                .deleted_users(org)
                .map_err(|e| JobStop::from_store(e, &committed))?
                .into_iter()
                .find(|d| d.user.id == user);
            let outcome = match deleted {
                None => Err(SKIPPED),
                Some(deleted) => purge_one(ctx, &self, &deleted, &mut state, &mut committed)?,
            };
            if let Err(count) = outcome {
                // Restored, already purged, or held: this user is left as they are.
                let mut next = committed.clone();
                next.counts.add(count, 1);
                state = PurgeState {
                    user: state.user + 1,
                };
                next.state = Some(state_value(&state, &committed)?);
                app.store
                    .checkpoint_job(ctx.lease(), &next)
                    .map_err(|e| JobStop::from_store(e, &committed))?;
                committed = next;
            }
        }
        // Whatever freed pages the log still holds go into the (zeroed) file now.
        app.store
            .checkpoint_org_file(org)
            .map_err(|e| JobStop::from_store(e, &committed))?;
        Ok(committed)
    }
}

fn state_value(state: &PurgeState, cp: &JobCheckpoint) -> Result<serde_json::Value, JobStop> {
    serde_json::to_value(state).map_err(|e| JobStop::Failed {
        message: e.to_string(),
        checkpoint: cp.clone(),
    })
}

/// Purges one deleted user step by step. `Err(count)` inside `Ok` when the user is
/// left alone: held, or no longer deleted.
fn purge_one(
    ctx: &JobContext<'_>,
    job: &PurgeUsers,
    deleted: &steward_domain::lifecycle::DeletedUser,
    state: &mut PurgeState,
    committed: &mut JobCheckpoint,
) -> Result<Result<(), &'static str>, JobStop> {
    let app = ctx.app;
    let org = ctx.job().org_id;
    let user = deleted.user.id;
    let store_stop = |e, cp: &JobCheckpoint| JobStop::from_store(e, cp);
    if app
        .store
        .is_held(org, user)
        .map_err(|e| store_stop(e, committed))?
    {
        return Ok(Err(HELD));
    }
    // Where the attachments' walk through the user's messages stands (a new run
    // starts again at 0, finding only what is left).
    let mut from = 0;
    for kind in PurgeKind::ALL {
        loop {
            ctx.check(committed)?;
            let mut attachments: Vec<AttachmentId> = Vec::new();
            let mut blobs = 0;
            if kind == PurgeKind::Attachments {
                let batch = app
                    .store
                    .purge_attachments(org, user, from, STEP_ATTACHMENTS)
                    .map_err(|e| store_stop(e, committed))?;
                let Some(last) = batch.last() else {
                    break;
                };
                from = last.position;
                // The blobs go before their rows: a crash in between leaves hidden rows
                // whose files are gone, which the next run removes; never a file
                // without its row.
                for a in &batch {
                    if let Ok(key) = BlobKey::parse(&a.blob_key) {
                        app.blobs.delete(&key).map_err(|e| JobStop::Failed {
                            message: format!("an attachment's file could not be removed: {e}"),
                            checkpoint: committed.clone(),
                        })?;
                        blobs += 1;
                    }
                    attachments.push(a.id);
                }
            }
            let before = committed.clone();
            let mut removed_now = 0;
            let step = app.store.job_step(ctx.lease(), &mut |tx| {
                let n = tx.purge_rows(user, kind, &attachments, STEP_ROWS)?;
                removed_now = n;
                let mut next = before.clone();
                next.progress.done = (next.progress.done + n).min(next.progress.total);
                next.counts.add(kind.as_str(), n);
                next.counts.add(BLOBS, blobs);
                Ok(next)
            });
            match step {
                Ok(next) => *committed = next,
                Err(e) => return refused(e, committed),
            }
            if removed_now == 0
                || (kind != PurgeKind::Attachments && removed_now < u64::from(STEP_ROWS))
            {
                break;
            }
        }
    }
    // The last step. The schedule entry and the phone's sign-in lookup go first: if
    // the step never commits, the user is still deleted (no sign-in) and the job,
    // still leased, runs it again.
    app.store
        .forget_purge(org, user, Some(&deleted.user.phone))
        .map_err(|e| store_stop(e, committed))?;
    let salt = app
        .store
        .receipt_salt(org)
        .map_err(|e| store_stop(e, committed))?;
    let receipt = DeletionReceipt {
        id: ReceiptId::new(),
        org_id: org,
        phone_hash: phone_hash(&salt, &deleted.user.phone),
        deleted_by: deleted.deleted_by.clone(),
        deleted_at: deleted.deleted_at,
        purged_by: job.requested_by.clone(),
        purged_at: app.clock.now(),
        // The store fills in what the purge steps removed.
        counts: Counts::default(),
    };
    let before = committed.clone();
    let next_state = PurgeState {
        user: state.user + 1,
    };
    let next_value = state_value(&next_state, committed)?;
    let step = app.store.job_step(ctx.lease(), &mut |tx| {
        tx.finish_purge(user, &receipt)?;
        let mut next = before.clone();
        next.progress.done = (next.progress.done + 1).min(next.progress.total);
        next.counts.add(PURGED, 1);
        next.state = Some(next_value.clone());
        Ok(next)
    });
    match step {
        Ok(next) => {
            *committed = next;
            *state = next_state;
            tracing::info!(%org, user = %user, "user purged");
            Ok(Ok(()))
        }
        Err(e) => refused(e, committed),
    }
}

/// A step the store refused: a hold or a restore in between leaves the user alone;
/// anything else stops the job.
fn refused(e: StoreError, committed: &JobCheckpoint) -> Result<Result<(), &'static str>, JobStop> {
    match e {
        StoreError::Conflict(Conflict::Rule(rule)) if rule.contains("legal hold") => Ok(Err(HELD)),
        StoreError::Conflict(Conflict::Rule(_)) => Ok(Err(SKIPPED)),
        other => Err(JobStop::from_store(other, committed)),
    }
}
