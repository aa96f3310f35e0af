//! The tenant export job: the org's data (or one person's part of it) as the archive
//! [`crate::archive::write_archive`] writes, published like every export (see
//! [`super::publish`]): written whole to a temporary file first, so a run that stops
//! part-way leaves nothing and the next run writes the archive again.
//!
//! A member's export of their own data is this job with the scope of one user.

use steward_domain::JobKind;
use steward_store::JobCheckpoint;

use super::publish::publish;
use super::runner::{BackgroundJob, JobContext, JobStop, checkpoint_of};
use crate::AppError;
use crate::archive::{ArchiveStop, write_archive};
use crate::export::{ExportTenant, published};

/// What a tenant export counts: the files in the archive and their rows.
pub const FILES: &str = "files";
pub const ROWS: &str = "rows";

impl BackgroundJob for ExportTenant {
    const KIND: JobKind = JobKind::ExportTenant;

    fn run(self, ctx: &JobContext<'_>) -> Result<JobCheckpoint, JobStop> {
        let job = ctx.job();
        let committed = checkpoint_of(job);
        if published(&committed) {
            return Ok(committed);
        }
        let fail = |message: String| JobStop::Failed {
            message,
            checkpoint: checkpoint_of(job),
        };
        let scope = self.scope().map_err(&fail)?;
        let mut file = tempfile::tempfile().map_err(|e| {
            tracing::error!(error = %e, "cannot create a temporary file for an export");
            fail("the export could not create its temporary file; see the server log".into())
        })?;
        let mut progress = committed.clone();
        let mut stopped = None;
        let mut last_saved = std::time::Instant::now();
        let written = write_archive(
            ctx.app,
            job.org_id,
            &scope,
            &mut file,
            &mut |done, total| {
                if let Err(stop) = ctx.check(&committed) {
                    stopped = Some(stop);
                    return Err(ArchiveStop(AppError::Conflict(
                        "the export was stopped".into(),
                    )));
                }
                progress.progress.done = done;
                progress.progress.total = total;
                if last_saved.elapsed() >= std::time::Duration::from_millis(500) {
                    last_saved = std::time::Instant::now();
                    if let Err(e) = ctx.app.store.checkpoint_job(ctx.lease(), &progress) {
                        let message = e.to_string();
                        stopped = Some(JobStop::from_store(e, &committed));
                        return Err(ArchiveStop(AppError::Internal(message)));
                    }
                }
                Ok(())
            },
        );
        if let Some(stop) = stopped {
            return Err(stop);
        }
        let manifest = written.map_err(|e| match e {
            // What a person can act on (the scope's user is not in the org, ...).
            AppError::NotFound(_) | AppError::Invalid(_) | AppError::Conflict(_) => {
                fail(format!("the archive could not be written: {e}"))
            }
            other => {
                tracing::error!(error = %other, job = %job.id, "tenant export failed");
                fail("the archive could not be written; see the server log".into())
            }
        })?;
        progress.counts.add(FILES, manifest.files.len() as u64);
        progress
            .counts
            .add(ROWS, manifest.files.iter().filter_map(|f| f.rows).sum());
        progress.progress.done = progress.progress.total;
        publish(ctx, &mut file, self.options.retention_days, &[], progress)
    }
}
