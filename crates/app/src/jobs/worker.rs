//! The job worker: claims jobs from the store with a lease, keeps the lease alive with
//! a heartbeat, runs each job through the [`Registry`], and settles how it ended.
//!
//! A worker that dies stops heart-beating; once its lease runs out another worker
//! claims the job and resumes it from the last checkpoint. Because every step of work
//! is committed together with its checkpoint, and the store refuses the commit of a
//! worker that no longer holds the lease, each step lands exactly once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use steward_domain::{Job, JobId, JobStatus};
use steward_store::{Heartbeat, JobEnd, JobLease, StoreError};

use super::runner::{JobContext, JobStop, Outcome, Registry, Signals, checkpoint_of};
use crate::App;

/// Settings of a worker.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How long a claim lasts without a heartbeat; a crashed worker's job waits this
    /// long before another worker takes it.
    pub lease: Duration,
    /// How long an idle worker waits before looking for work again.
    pub poll: Duration,
    /// How often the worker looks for due scheduled work (purges whose window has
    /// passed) and queues it.
    pub schedule_every: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            schedule_every: Duration::from_secs(60),
        }
    }
}

/// One worker: claims and runs jobs one at a time.
#[derive(Debug)]
pub struct Worker {
    app: App,
    jobs: Arc<Registry>,
    id: String,
    config: WorkerConfig,
    shutdown: Arc<AtomicBool>,
}

impl Worker {
    /// A worker that runs the job types in `jobs` (see [`super::registry`]).
    pub fn new(
        app: App,
        jobs: Arc<Registry>,
        config: WorkerConfig,
        shutdown: Arc<AtomicBool>,
    ) -> Worker {
        let id = format!("{}-{}", std::process::id(), JobId::new());
        Worker {
            app,
            jobs,
            id,
            config,
            shutdown,
        }
    }

    /// Runs jobs until shutdown is signalled.
    pub fn run(&self) {
        tracing::info!(worker = %self.id, "job worker started");
        let mut scheduled: Option<Instant> = None;
        while !self.shutdown.load(Ordering::SeqCst) {
            if scheduled.is_none_or(|at| at.elapsed() >= self.config.schedule_every) {
                scheduled = Some(Instant::now());
                if let Err(error) = crate::lifecycle::schedule_due_purges(&self.app) {
                    tracing::error!(%error, "job worker could not schedule due purges");
                }
            }
            match self.run_next(None) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    // Idle: delete export files past their retention (an indexed look
                    // at a small table when there is nothing to do).
                    if let Err(error) = crate::exports::delete_expired_files(&self.app) {
                        tracing::warn!(%error, "could not delete expired export files");
                    }
                    std::thread::sleep(self.config.poll);
                }
                Err(error) => {
                    tracing::error!(%error, "job worker could not claim work");
                    std::thread::sleep(self.config.poll);
                }
            }
        }
        tracing::info!(worker = %self.id, "job worker stopped");
    }

    /// Claims one job (that one, with `only`) and runs it; returns the job as it ended,
    /// or `None` when there was nothing to claim.
    pub fn run_next(&self, only: Option<JobId>) -> Result<Option<Job>, StoreError> {
        let now = self.app.clock.now();
        let until = now + lease_delta(self.config.lease);
        let Some(job) = self.app.store.claim_job(only, &self.id, now, until)? else {
            return Ok(None);
        };
        let lease = JobLease {
            job_id: job.id,
            org_id: job.org_id,
            worker_id: self.id.clone(),
        };
        tracing::info!(job = %job.id, kind = job.kind.as_str(), attempt = job.attempts, "job started");
        let signals = Signals::default();
        let outcome = std::thread::scope(|scope| {
            let (done, beat) = mpsc::channel::<()>();
            scope.spawn(|| self.heartbeat(&lease, &signals, beat));
            let ctx = JobContext {
                app: &self.app,
                job: &job,
                lease: lease.clone(),
                signals: &signals,
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| self.jobs.run(&ctx)));
            drop(done);
            outcome.unwrap_or_else(|_| {
                Err(JobStop::Failed {
                    message: "the job stopped on an internal error; see the server log".into(),
                    checkpoint: checkpoint_of(&job),
                })
            })
        });
        self.settle(&job, &lease, outcome)?;
        self.app.store.find_job(job.id)
    }

    /// Renews the lease every third of its length until the job ends, and raises the
    /// cancel, shutdown and lost-lease signals for the job to see between steps.
    fn heartbeat(&self, lease: &JobLease, signals: &Signals, done: mpsc::Receiver<()>) {
        let every = self.config.lease / 3;
        let mut last_beat = Instant::now();
        loop {
            signals
                .shutdown
                .store(self.shutdown.load(Ordering::SeqCst), Ordering::SeqCst);
            // Wake often to pass on a shutdown quickly; beat only every third of a lease.
            match done.recv_timeout(Duration::from_millis(200)) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            if last_beat.elapsed() < every {
                continue;
            }
            last_beat = Instant::now();
            let now = self.app.clock.now();
            match self
                .app
                .store
                .heartbeat_job(lease, now + lease_delta(self.config.lease))
            {
                Ok(Heartbeat::Held { cancel_requested }) => {
                    signals.cancel.store(cancel_requested, Ordering::SeqCst);
                }
                Ok(Heartbeat::Lost) => signals.lease_lost.store(true, Ordering::SeqCst),
                Err(error) => tracing::warn!(%error, "job heartbeat failed; will retry"),
            }
        }
    }

    fn settle(&self, job: &Job, lease: &JobLease, outcome: Outcome) -> Result<(), StoreError> {
        let now = self.app.clock.now();
        let end = match outcome {
            Ok((status, checkpoint)) => JobEnd {
                status,
                error: None,
                checkpoint,
            },
            Err(JobStop::Canceled(checkpoint)) => JobEnd {
                status: JobStatus::Canceled,
                error: None,
                checkpoint,
            },
            Err(JobStop::Failed {
                message,
                checkpoint,
            }) => JobEnd {
                status: JobStatus::Failed,
                error: Some(message),
                checkpoint,
            },
            Err(JobStop::Interrupted) => {
                // Hand the job back at once: the next start resumes it.
                tracing::info!(job = %job.id, "job interrupted by shutdown; it resumes on restart");
                self.app.store.heartbeat_job(lease, now)?;
                return Ok(());
            }
            Err(JobStop::LeaseLost) => {
                tracing::warn!(job = %job.id, "job lease lost; another worker has it");
                return Ok(());
            }
        };
        match self.app.store.finish_job(lease, &end, now) {
            Ok(()) => {
                tracing::info!(job = %job.id, status = end.status.as_str(), "job finished");
                Ok(())
            }
            Err(StoreError::LeaseLost) => Ok(()),
            Err(other) => Err(other),
        }
    }
}

fn lease_delta(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(30))
}
