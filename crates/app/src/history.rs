//! Jobs of every kind as people follow them: the history of an org, one job, and
//! canceling.

use steward_domain::access::{Action, AdminTask};
use steward_domain::{Job, JobId};
use steward_store::{JobQuery, Page};

use crate::{App, AppError, AppResult, Caller, audit};

/// Following and canceling jobs is org-admin work (every job today is an import,
/// export or deletion, all reserved to org admins).
const FOLLOW: Action = Action::OrgAdminOnly(AdminTask::ImportUsers);

/// The largest page of jobs.
pub const MAX_LIMIT: u32 = 200;

/// The org's jobs of every kind, newest first.
pub fn list_jobs(app: &App, caller: &Caller, limit: u32) -> AppResult<Page<Job>> {
    let org = caller.authorize(&FOLLOW)?;
    let query = JobQuery {
        limit: limit.clamp(1, MAX_LIMIT),
        ..JobQuery::default()
    };
    Ok(app.store.list_jobs(org, &query)?)
}

/// A job by its id alone, in whatever org it runs (for the operator's CLI).
pub fn find_job(app: &App, id: JobId) -> AppResult<Job> {
    app.store.find_job(id)?.ok_or(AppError::NotFound("job"))
}

/// Cancels a queued job at once; asks a running one to stop after its current step.
pub fn cancel_job(app: &App, caller: &Caller, id: JobId) -> AppResult<Job> {
    let org = caller.authorize(&FOLLOW)?;
    let job = app
        .store
        .request_job_cancel(org, id, app.clock.now())?
        .ok_or(AppError::NotFound("job"))?;
    audit::record(
        app,
        caller.audit(),
        org,
        "job.cancel",
        &id.to_string(),
        "ok",
    )?;
    Ok(job)
}
