//! The job runtime's contract: a job type is a [`BackgroundJob`] (a stable kind, a
//! serde payload, an idempotent run), and a [`Registry`] maps the kind stored with a job
//! to the runner of the type registered for it, in the shape of crates.io's
//! `crates_io_worker`. The runtime knows no job by name: a kind nobody registered fails
//! its job with a message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use steward_domain::{Job, JobKind, JobStatus};
use steward_store::{JobCheckpoint, JobLease, StoreError};

use crate::App;

/// A kind of background job: a stable name, a serde payload, an idempotent run.
pub trait BackgroundJob: Serialize + DeserializeOwned {
    /// The stable kind stored with the job; its name (`KIND.as_str()`) is how the
    /// registry finds this type's runner again.
    const KIND: JobKind;

    /// Runs the job, or resumes it from `ctx.job().checkpoint`. Running it again from
    /// the last checkpoint must reach the same end state as an uninterrupted run.
    fn run(self, ctx: &JobContext<'_>) -> Result<JobCheckpoint, JobStop>;

    /// The final status of a run that returned normally, from its last checkpoint (an
    /// import with failed rows ends `completed_with_errors`).
    fn status_for(_checkpoint: &JobCheckpoint) -> JobStatus {
        JobStatus::Completed
    }
}

/// Why a job stopped before its end.
#[derive(Debug)]
pub enum JobStop {
    /// Canceled by a person; the checkpoint holds the true counts so far.
    Canceled(JobCheckpoint),
    /// The process is shutting down; another run resumes the job.
    Interrupted,
    /// Another worker holds the job now; this one must walk away.
    LeaseLost,
    /// The job cannot finish: the message says why, in one sentence for a person.
    Failed {
        message: String,
        checkpoint: JobCheckpoint,
    },
}

impl JobStop {
    /// Turns a store error inside a job into the right stop.
    pub fn from_store(error: StoreError, checkpoint: &JobCheckpoint) -> JobStop {
        match error {
            StoreError::LeaseLost => JobStop::LeaseLost,
            other => {
                tracing::error!(error = %other, "job step failed in the store");
                JobStop::Failed {
                    message: "the job could not save its work; see the server log".into(),
                    checkpoint: checkpoint.clone(),
                }
            }
        }
    }
}

/// What a running job can see and ask.
#[derive(Debug)]
pub struct JobContext<'a> {
    pub app: &'a App,
    pub(crate) job: &'a Job,
    pub(crate) lease: JobLease,
    pub(crate) signals: &'a Signals,
}

impl JobContext<'_> {
    pub fn job(&self) -> &Job {
        self.job
    }

    pub fn lease(&self) -> &JobLease {
        &self.lease
    }

    /// Call between steps: says whether to go on, given cancel requests, shutdown and
    /// the lease. `committed` is the checkpoint of the last committed step.
    pub fn check(&self, committed: &JobCheckpoint) -> Result<(), JobStop> {
        if self.signals.lease_lost.load(Ordering::SeqCst) {
            return Err(JobStop::LeaseLost);
        }
        if self.signals.cancel.load(Ordering::SeqCst) {
            return Err(JobStop::Canceled(committed.clone()));
        }
        if self.signals.shutdown.load(Ordering::SeqCst) {
            return Err(JobStop::Interrupted);
        }
        Ok(())
    }
}

/// What the heartbeat tells a running job.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    pub(crate) cancel: AtomicBool,
    pub(crate) lease_lost: AtomicBool,
    pub(crate) shutdown: AtomicBool,
}

/// How a run ended: the final status and checkpoint, or why it stopped early.
pub(crate) type Outcome = Result<(JobStatus, JobCheckpoint), JobStop>;

type RunFn = fn(&JobContext<'_>) -> Outcome;

/// The job types a worker can run, by their stored kind.
#[derive(Default)]
pub struct Registry {
    runners: HashMap<&'static str, RunFn>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&str> = self.runners.keys().copied().collect();
        kinds.sort_unstable();
        f.debug_struct("Registry").field("kinds", &kinds).finish()
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers job type `J`, to run every job stored with `J::KIND`.
    ///
    /// # Panics
    /// When a type is already registered for that kind: two runners for one kind is a
    /// programming error, found at start-up.
    #[must_use]
    pub fn register_job_type<J: BackgroundJob>(mut self) -> Registry {
        let previous = self.runners.insert(J::KIND.as_str(), run_as::<J>);
        assert!(
            previous.is_none(),
            "two job types registered for {}",
            J::KIND.as_str()
        );
        self
    }

    /// Whether a type is registered for `kind`.
    pub fn runs(&self, kind: JobKind) -> bool {
        self.runners.contains_key(kind.as_str())
    }

    /// Runs the job in `ctx` with the runner registered for its kind.
    pub(crate) fn run(&self, ctx: &JobContext<'_>) -> Outcome {
        match self.runners.get(ctx.job.kind.as_str()) {
            Some(run) => run(ctx),
            None => Err(JobStop::Failed {
                message: format!(
                    "this version of steward cannot run {} jobs",
                    ctx.job.kind.as_str()
                ),
                checkpoint: checkpoint_of(ctx.job),
            }),
        }
    }
}

/// The checkpoint a job was claimed with, as the state to report if it fails early.
pub fn checkpoint_of(job: &Job) -> JobCheckpoint {
    JobCheckpoint {
        progress: job.progress,
        counts: job.counts.clone(),
        state: job.checkpoint.clone(),
    }
}

fn run_as<J: BackgroundJob>(ctx: &JobContext<'_>) -> Outcome {
    let payload: J =
        serde_json::from_value(ctx.job.payload.clone()).map_err(|e| JobStop::Failed {
            message: format!("the job's stored input cannot be read: {e}"),
            checkpoint: checkpoint_of(ctx.job),
        })?;
    let checkpoint = payload.run(ctx)?;
    Ok((J::status_for(&checkpoint), checkpoint))
}
