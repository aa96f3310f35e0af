//! The org deletion job: removes what [`crate::org_deletion::request`] left of an org,
//! in phases, each resumable from the job's checkpoint: the org's own database, its
//! blobs (uploads, outputs, attachments), its phones in the shared store (with their
//! sign-in data when no other org knows them) and, last, its remaining shared rows,
//! leaving the receipt. Every step is idempotent, so a run that stops anywhere and
//! starts again ends as an uninterrupted run would; each phase's end is written to
//! the deletion's log.

use serde::{Deserialize, Serialize};
use steward_domain::{Counts, JobKind, OrgId, Progress};
use steward_store::{BlobKey, DeletionEvent, JobCheckpoint};

use super::runner::{BackgroundJob, JobContext, JobStop, checkpoint_of};
use crate::org_deletion::DeleteOrg;

/// How many phases the job has (its progress counts phases done).
pub const PHASES: u64 = 4;

/// Blobs removed per checkpoint.
const BLOBS_PER_STEP: usize = 500;
/// Phones forgotten per transaction: the shared file is on every request's path
/// (sessions, tokens), so its writes stay short.
const PHONES_PER_STEP: u32 = 200;

/// Where the job is; stored as its checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    OrgDatabase,
    Blobs,
    Phones,
    Finish,
}

impl Phase {
    fn number(self) -> u64 {
        match self {
            Phase::OrgDatabase => 0,
            Phase::Blobs => 1,
            Phase::Phones => 2,
            Phase::Finish => 3,
        }
    }
}

impl BackgroundJob for DeleteOrg {
    const KIND: JobKind = JobKind::DeleteOrg;

    fn run(self, ctx: &JobContext<'_>) -> Result<JobCheckpoint, JobStop> {
        let job = ctx.job();
        let org = job.org_id;
        let mut cp = checkpoint_of(job);
        let fail = |message: String, cp: &JobCheckpoint| JobStop::Failed {
            message,
            checkpoint: cp.clone(),
        };
        let mut phase: Phase = match &cp.state {
            Some(state) => serde_json::from_value(state.clone())
                .map_err(|e| fail(format!("the deletion's checkpoint is unreadable: {e}"), &cp))?,
            None => Phase::OrgDatabase,
        };
        let run = Run { ctx, org };
        loop {
            // A deletion is not canceled: once begun, the org is gone for everyone.
            run.check(&cp)?;
            let next = match phase {
                Phase::OrgDatabase => {
                    let bytes = ctx
                        .app
                        .store
                        .remove_org_database(org)
                        .map_err(|e| JobStop::from_store(e, &cp))?;
                    cp.counts.add("database_bytes", bytes);
                    run.log("org_database_removed", &format!("{bytes} bytes"), &cp)?;
                    Phase::Blobs
                }
                Phase::Blobs => {
                    let prefix = BlobKey::parse(&format!("orgs/{org}"))
                        .map_err(|e| fail(e.to_string(), &cp))?;
                    let (files, bytes) = ctx
                        .app
                        .blobs
                        .delete_under(&prefix, BLOBS_PER_STEP)
                        .map_err(|e| {
                            tracing::error!(error = %e, "cannot remove an org's blobs");
                            fail(
                                "the org's files could not be removed; see the server log".into(),
                                &cp,
                            )
                        })?;
                    if files > 0 {
                        cp.counts.add("blobs", files);
                        cp.counts.add("blob_bytes", bytes);
                        run.save(&cp)?;
                        continue;
                    }
                    let detail = format!(
                        "{} files, {} bytes",
                        cp.counts.get("blobs"),
                        cp.counts.get("blob_bytes")
                    );
                    run.log("blobs_removed", &detail, &cp)?;
                    Phase::Phones
                }
                Phase::Phones => {
                    let store = &ctx.app.store;
                    let phones = store
                        .org_phones(org, PHONES_PER_STEP)
                        .map_err(|e| JobStop::from_store(e, &cp))?;
                    if !phones.is_empty() {
                        let forgotten = store
                            .forget_org_phones(org, &phones, &crate::security::throttle_keys_of)
                            .map_err(|e| JobStop::from_store(e, &cp))?;
                        cp.counts.add_all(&forgotten);
                        run.save(&cp)?;
                        continue;
                    }
                    let c = &cp.counts;
                    let detail = format!(
                        "phones: {}; their sessions: {}, sign-in codes: {}, text messages: {}, throttles: {}",
                        c.get("phones"),
                        c.get("sessions"),
                        c.get("sign_in_codes"),
                        c.get("text_messages"),
                        c.get("throttles")
                    );
                    run.log("phones_forgotten", &detail, &cp)?;
                    Phase::Finish
                }
                Phase::Finish => {
                    let store = &ctx.app.store;
                    let receipt = store
                        .org_deletion(org)
                        .map_err(|e| JobStop::from_store(e, &cp))?
                        .ok_or_else(|| fail("the deletion's receipt is missing".into(), &cp))?;
                    if receipt.finished_at.is_some() {
                        // A run that stopped after the last step committed.
                        cp.progress.done = PHASES;
                        cp.state = None;
                        return Ok(cp);
                    }
                    let mut counts: Counts = receipt.counts.clone();
                    for (name, n) in cp.counts.iter() {
                        counts.add(&format!("removed_{name}"), n);
                    }
                    let event = DeletionEvent {
                        at: ctx.app.clock.now(),
                        actor: format!("job:{}", job.id),
                        step: "completed".into(),
                        detail:
                            "the org's rows, files and sign-in data are gone; this receipt remains"
                                .into(),
                    };
                    let jobs = store
                        .finish_org_deletion(org, job.id, &counts, &event)
                        .map_err(|e| JobStop::from_store(e, &cp))?;
                    cp.counts.add("jobs", jobs);
                    cp.progress.done = PHASES;
                    cp.state = None;
                    return Ok(cp);
                }
            };
            phase = next;
            cp.progress = Progress {
                done: phase.number(),
                total: PHASES,
            };
            cp.state = Some(serde_json::to_value(phase).map_err(|e| fail(e.to_string(), &cp))?);
            run.save(&cp)?;
        }
    }
}

/// The running job's org, and what it does between steps.
struct Run<'a, 'c> {
    ctx: &'a JobContext<'c>,
    org: OrgId,
}

impl Run<'_, '_> {
    /// Goes on through cancel requests (an org being deleted is gone for everyone;
    /// stopping half-way would help nobody), not through shutdown or a lost lease.
    fn check(&self, cp: &JobCheckpoint) -> Result<(), JobStop> {
        match self.ctx.check(cp) {
            Err(JobStop::Canceled(_)) => Ok(()),
            other => other,
        }
    }

    fn save(&self, cp: &JobCheckpoint) -> Result<(), JobStop> {
        self.ctx
            .app
            .store
            .checkpoint_job(self.ctx.lease(), cp)
            .map_err(|e| JobStop::from_store(e, cp))
    }

    fn log(&self, step: &str, detail: &str, cp: &JobCheckpoint) -> Result<(), JobStop> {
        let event = DeletionEvent {
            at: self.ctx.app.clock.now(),
            actor: format!("job:{}", self.ctx.job().id),
            step: step.into(),
            detail: detail.into(),
        };
        self.ctx
            .app
            .store
            .add_org_deletion_event(self.org, &event)
            .map_err(|e| JobStop::from_store(e, cp))
    }
}
