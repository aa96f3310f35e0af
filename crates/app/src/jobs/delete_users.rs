//! The bulk user deletion job: reads an uploaded CSV of phone numbers and deletes each
//! user as `DELETE .../users/{phone}` would (restorable for the org's purge window),
//! in steps of rows. It reuses the import's machinery: the upload and its payload,
//! the CSV reading, and the error log and result file, which it fills through the
//! same row notes and outcomes. A dry run checks every row and deletes no one.
//!
//! Each user's deletion commits on its own (it is the single-user use case); the
//! step's notes, outcomes and resume position commit after its rows. A run that stops
//! between the two does those rows again on resume, where a user already deleted
//! counts as `already_deleted`: nobody is deleted twice.

use serde::{Deserialize, Serialize};
use steward_domain::access::Actor;
use steward_domain::{JobKind, JobStatus, PhoneNumber, UserStatus};
use steward_store::{JobCheckpoint, NoteKind, OutcomeRun, RowError, RowOutcome};

use super::runner::{BackgroundJob, JobContext, JobStop, checkpoint_of};
use crate::audit::AuditContext;
use crate::import::rows::ResumeAt;
use crate::import::{ImportUsers, csv_problem, open_csv, phone_column};
use crate::{Caller, lifecycle};

/// What a bulk deletion counts.
pub const COUNTS: [&str; 3] = [DELETED, ALREADY_DELETED, FAILED];
pub const DELETED: &str = "deleted";
pub const ALREADY_DELETED: &str = "already_deleted";
pub const FAILED: &str = "failed";

/// Rows per step.
const ROWS_PER_STEP: usize = 200;

/// The payload: an import's (the uploaded file, its hash, `dry_run`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeleteUsers(pub ImportUsers);

impl BackgroundJob for DeleteUsers {
    const KIND: JobKind = JobKind::DeleteUsers;

    fn run(self, ctx: &JobContext<'_>) -> Result<JobCheckpoint, JobStop> {
        let job = ctx.job();
        let app = ctx.app;
        let mut committed = checkpoint_of(job);
        let fail = |message: String| JobStop::Failed {
            message,
            checkpoint: checkpoint_of(job),
        };
        let dry_run = self.0.options.dry_run;
        let org = app
            .store
            .get_org(job.org_id)
            .map_err(|e| JobStop::from_store(e, &committed))?
            .ok_or_else(|| fail("the org no longer exists".into()))?;
        // Authorized when the file was uploaded; each deletion is audited as the uploader's.
        let caller = Caller::new(
            org.id,
            Actor::org_admin(),
            AuditContext {
                actor: job.created_by.clone(),
                request_id: None,
                ip: None,
            },
        );
        let mut reader = open_csv(app, &self.0.blob).map_err(&fail)?;
        let headers = reader.headers().map_err(|e| fail(csv_problem(&e)))?.clone();
        let column = phone_column(&headers).map_err(&fail)?;
        let data_start = reader.position().clone();
        let mut record = csv::StringRecord::new();
        let mut total = 0;
        while reader
            .read_record(&mut record)
            .map_err(|e| fail(csv_problem(&e)))?
        {
            reader.get_ref().row_ended(reader.position().byte());
            total += 1;
        }
        committed.progress.total = total;
        let start = match &committed.state {
            Some(state) => {
                let at: ResumeAt = serde_json::from_value(state.clone())
                    .map_err(|e| fail(format!("the job's resume position is unreadable: {e}")))?;
                let mut pos = csv::Position::new();
                pos.set_byte(at.byte)
                    .set_line(at.line)
                    .set_record(at.record);
                pos
            }
            None => data_start,
        };
        reader.seek(start).map_err(|e| fail(csv_problem(&e)))?;

        loop {
            ctx.check(&committed)?;
            let mut next = committed.clone();
            let mut errors = Vec::new();
            let mut outcomes = Vec::new();
            let mut first_row = None;
            while outcomes.len() < ROWS_PER_STEP
                && reader
                    .read_record(&mut record)
                    .map_err(|e| fail(csv_problem(&e)))?
            {
                reader.get_ref().row_ended(reader.position().byte());
                let row = record.position().map_or(0, |p| p.record() + 1);
                first_row.get_or_insert(row);
                let cell = record.get(column).unwrap_or("").trim();
                let outcome = if cell.is_empty() {
                    RowOutcome::Blank
                } else {
                    match delete_one(ctx, &caller, org.region, cell, dry_run) {
                        Ok(outcome) => outcome,
                        Err(reason) => {
                            errors.push(RowError {
                                row,
                                column: headers[column].trim_start_matches('\u{feff}').into(),
                                value: cell.into(),
                                reason,
                            });
                            RowOutcome::Failed
                        }
                    }
                };
                let name = match outcome {
                    RowOutcome::Updated => Some(DELETED),
                    RowOutcome::Unchanged => Some(ALREADY_DELETED),
                    RowOutcome::Failed => Some(FAILED),
                    _ => None,
                };
                if let Some(name) = name {
                    next.counts.add(name, 1);
                }
                outcomes.push(outcome);
            }
            let Some(first_row) = first_row else {
                return Ok(committed);
            };
            let pos = reader.position();
            next.progress.done += outcomes.len() as u64;
            next.state = Some(
                serde_json::to_value(ResumeAt {
                    byte: pos.byte(),
                    line: pos.line(),
                    record: pos.record(),
                })
                .map_err(|e| fail(e.to_string()))?,
            );
            let run = OutcomeRun {
                first_row,
                outcomes,
            };
            committed = app
                .store
                .job_step(ctx.lease(), &mut |tx| {
                    tx.add_notes(NoteKind::Error, &errors)?;
                    tx.add_outcomes(&run)?;
                    Ok(next.clone())
                })
                .map_err(|e| JobStop::from_store(e, &committed))?;
        }
    }

    fn status_for(checkpoint: &JobCheckpoint) -> JobStatus {
        if checkpoint.counts.get(FAILED) > 0 {
            JobStatus::CompletedWithErrors
        } else {
            JobStatus::Completed
        }
    }
}

/// Deletes (or, in a dry run, checks) the user of one row; the reason if it cannot.
fn delete_one(
    ctx: &JobContext<'_>,
    caller: &Caller,
    region: steward_domain::Region,
    cell: &str,
    dry_run: bool,
) -> Result<RowOutcome, String> {
    let phone = PhoneNumber::parse(cell, region).map_err(|e| e.to_string())?;
    let user = ctx
        .app
        .store
        .get_user(ctx.job().org_id, &phone)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no user of the org has this phone".to_owned())?;
    if user.status == UserStatus::Deleted {
        return Ok(RowOutcome::Unchanged);
    }
    if !dry_run {
        lifecycle::delete_user(ctx.app, caller, phone.as_str()).map_err(|e| e.to_string())?;
    }
    Ok(RowOutcome::Updated)
}
