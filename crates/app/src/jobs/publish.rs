//! Publishing an export's file: the last step of every export job.

use std::io::{Seek, Write};

use steward_store::{BlobKey, JobCheckpoint, JobOutput, NoteKind, RowError};

use super::runner::{JobContext, JobStop, checkpoint_of};

/// The last step of an export job: `file` (written whole) is fsynced, stored in the
/// blob store under the job (hashed on the way) and recorded as the job's output with
/// `notes` and the final checkpoint, in one step. Until that step commits the export
/// has no file, so nothing partial is ever offered; a run after a crash writes it
/// again.
pub(crate) fn publish(
    ctx: &JobContext<'_>,
    file: &mut std::fs::File,
    retention_days: u32,
    notes: &[RowError],
    mut checkpoint: JobCheckpoint,
) -> Result<JobCheckpoint, JobStop> {
    let job = ctx.job();
    let fail = |message: String| JobStop::Failed {
        message,
        checkpoint: checkpoint_of(job),
    };
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, job = %job.id, "cannot write an export file");
        fail("the export file could not be written; see the server log".into())
    };
    file.flush().map_err(io)?;
    file.sync_all().map_err(io)?;
    file.rewind().map_err(io)?;
    let name = job.file_name.clone().unwrap_or_else(|| "export".into());
    let key = BlobKey::parse(&format!("orgs/{}/exports/{}/{name}", job.org_id, job.id))
        .map_err(|e| fail(e.to_string()))?;
    let stored = ctx.app.blobs.put(&key, file).map_err(|e| {
        tracing::error!(error = %e, job = %job.id, "cannot store an export file");
        fail("the export file could not be stored; see the server log".into())
    })?;
    let expires_at = ctx.app.clock.now() + chrono::Duration::days(i64::from(retention_days));
    ctx.app
        .store
        .set_job_files_expiry(job.org_id, job.id, expires_at)
        .map_err(|e| JobStop::from_store(e, &checkpoint))?;
    checkpoint.state = Some(serde_json::json!({ "published": key.as_str() }));
    let output = JobOutput {
        key,
        name,
        size: stored.size,
        sha256: stored.sha256,
    };
    let previous = checkpoint_of(job);
    ctx.app
        .store
        .job_step(ctx.lease(), &mut |tx| {
            tx.add_notes(NoteKind::Error, notes)?;
            tx.add_output(&output)?;
            Ok(checkpoint.clone())
        })
        .map_err(|e| JobStop::from_store(e, &previous))
}
