//! "Delete company data": an org admin deletes the whole org, irreversibly.
//!
//! Safeguards, in the order they are checked: the org-admin role; the org's name typed
//! again; the caller's identity proved again (an admin's password; a member's fresh
//! one-time code; the operator at the command line is trusted); no import, export or
//! other job of the org queued or running (409 with each job and how to cancel it);
//! and a tenant export finished within the last 24 hours, unless the request says
//! `skip_final_export`.
//!
//! Then, at once ([`request`]): the org disappears for every reader, every session and
//! API token of the org ends (its members' sign-in too, unless another org knows
//! them), and its connectors are removed. The deletion job
//! ([`crate::jobs::delete_org`]) removes the rest in the background, resumably. What
//! remains is the receipt (org id, who, when, counts per kind) and the deletion's own
//! log, since the org's audit log goes with the org.
//!
//! The requester's session ends with the org, so the request answers a status key:
//! `GET /api/v1/orgs/{org}/deletion` with `Authorization: Bearer <key>` shows the
//! progress, and then the receipt, to whoever holds it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use steward_domain::access::{Action, AdminTask};
use steward_domain::{Counts, Job, JobId, JobKind, JobStatus, OrgId, Progress};
use steward_store::{DeletionEvent, JobQuery, OrgDeletion};

use crate::security::{Proof, random_secret};
use crate::tokens::hash_secret;
use crate::{App, AppError, AppResult, Caller};

const DELETE: Action = Action::OrgAdminOnly(AdminTask::DeleteCompanyData);

/// How recent a finished tenant export must be for a deletion to go ahead without
/// `skip_final_export`.
pub const FINAL_EXPORT_WINDOW: Duration = Duration::hours(24);

/// The prefix of a deletion's status key.
pub const STATUS_KEY_PREFIX: &str = "sdk_";

/// A request to delete the org.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DeletionRequest {
    /// The org's name, typed again.
    pub confirm_name: String,
    /// Go ahead without a tenant export from the last 24 hours.
    #[serde(default)]
    pub skip_final_export: bool,
}

/// A deletion just begun: its receipt and the key that reads its status.
#[derive(Debug)]
pub struct Started {
    pub status: DeletionStatus,
    /// Shown once; only its hash is kept.
    pub status_key: String,
}

/// Where a deletion stands: the receipt, the job doing it, and its log.
#[derive(Clone, Debug)]
pub struct DeletionStatus {
    pub receipt: OrgDeletion,
    pub job: Option<Job>,
    pub events: Vec<DeletionEvent>,
}

/// What an org admin sees before asking: what would block a deletion now.
#[derive(Clone, Debug)]
pub struct Readiness {
    /// Jobs queued or running, which must end or be canceled first.
    pub pending_jobs: Vec<Job>,
    /// When the newest tenant export finished, if one did in the last 24 hours.
    pub final_export_at: Option<DateTime<Utc>>,
}

/// The job's stable payload: the deletion's facts are in the receipt.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DeleteOrg {}

/// What would block a deletion of the caller's org now (org admins).
pub fn readiness(app: &App, caller: &Caller) -> AppResult<Readiness> {
    let org = caller.authorize(&DELETE)?;
    Ok(Readiness {
        pending_jobs: pending_jobs(app, org)?,
        final_export_at: final_export_at(app, org)?,
    })
}

/// Deletes the caller's org: checks every safeguard, makes the org disappear at once
/// and queues the job that removes the rest.
pub fn request(
    app: &App,
    caller: &Caller,
    proof: Proof<'_>,
    request: &DeletionRequest,
) -> AppResult<Started> {
    let org_id = caller.authorize(&DELETE)?;
    let org = app
        .store
        .get_org(org_id)?
        .ok_or(AppError::NotFound("org"))?;
    if request.confirm_name.trim() != org.name.as_str() {
        return Err(AppError::invalid(
            "confirm_name",
            "type the org's name exactly as it is shown, to confirm that this org is the one to delete",
        ));
    }
    let how = proof.check(app)?;
    let pending = pending_jobs(app, org_id)?;
    if !pending.is_empty() {
        let list: Vec<String> = pending
            .iter()
            .map(|j| format!("{} {} ({})", j.kind.as_str(), j.id, j.status.as_str()))
            .collect();
        return Err(AppError::JobsPending {
            message: format!(
                "the org has jobs queued or running: {}; wait for them to end or cancel them (POST /api/v1/orgs/{org_id}/jobs/{{id}}/cancel, or steward jobs cancel ID), then ask again",
                list.join(", ")
            ),
            jobs: pending,
        });
    }
    let export = final_export_at(app, org_id)?;
    if export.is_none() && !request.skip_final_export {
        return Err(AppError::Conflict(
            "no tenant export of this org finished in the last 24 hours: export the tenant's data first (POST .../exports with kind \"tenant\", or steward org export), or send \"skip_final_export\": true to delete without one".into(),
        ));
    }

    let now = app.clock.now();
    let actor = caller.audit().actor.clone();
    let mut held = Counts::default();
    for (kind, n) in app.store.data_counts(org_id)?.0 {
        held.add(kind.as_str(), n);
    }
    let job = Job {
        id: JobId::new(),
        org_id,
        kind: JobKind::DeleteOrg,
        status: JobStatus::Queued,
        file_name: None,
        created_by: actor.clone(),
        created_at: now,
        started_at: None,
        finished_at: None,
        progress: Progress {
            done: 0,
            total: crate::jobs::delete_org::PHASES,
        },
        counts: Counts::default(),
        payload: serde_json::to_value(DeleteOrg {})
            .map_err(|e| AppError::Internal(e.to_string()))?,
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    let status_key = random_secret(STATUS_KEY_PREFIX);
    let receipt = OrgDeletion {
        org_id,
        job_id: job.id,
        requested_by: actor.clone(),
        requested_at: now,
        status_key: hash_secret(&status_key),
        counts: held,
        finished_at: None,
    };
    let audit = caller.audit();
    let final_export = match export {
        Some(at) => format!("tenant export finished {}", at.to_rfc3339()),
        None => "final export skipped".into(),
    };
    let requested = DeletionEvent {
        at: now,
        actor: actor.clone(),
        step: "requested".into(),
        detail: format!(
            "name confirmed; identity confirmed by {how}; {final_export}; request {} from {}",
            audit.request_id.as_deref().unwrap_or("-"),
            audit.ip.as_deref().unwrap_or("the command line")
        ),
    };
    let ended = app.store.begin_org_deletion(
        &receipt,
        &job,
        &requested,
        &crate::security::throttle_keys_of,
    )?;
    let access = DeletionEvent {
        at: app.clock.now(),
        actor,
        step: "access_ended".into(),
        detail: format!(
            "sessions ended: {}; API tokens removed: {}; admin accounts removed: {}; connectors removed: {}",
            ended.get("sessions"),
            ended.get("api_tokens"),
            ended.get("accounts"),
            ended.get("connectors")
        ),
    };
    app.store.add_org_deletion_event(org_id, &access)?;
    Ok(Started {
        status: status_of(app, org_id)?.ok_or(AppError::NotFound("deletion"))?,
        status_key,
    })
}

/// A deletion's status, for whoever holds its status key (the requester, whose
/// session ended with the org). A wrong key and an org never deleted look the same.
pub fn status_by_key(app: &App, org: OrgId, key: &str) -> AppResult<DeletionStatus> {
    let status = status_of(app, org)?.ok_or(AppError::NotFound("deletion"))?;
    let given = hash_secret(key);
    let equal = given
        .0
        .iter()
        .zip(status.receipt.status_key.0.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    if equal {
        Ok(status)
    } else {
        Err(AppError::NotFound("deletion"))
    }
}

/// A deletion's status for the operator at the command line.
pub fn operator_status(app: &App, org: OrgId) -> AppResult<Option<DeletionStatus>> {
    status_of(app, org)
}

fn status_of(app: &App, org: OrgId) -> AppResult<Option<DeletionStatus>> {
    let Some(receipt) = app.store.org_deletion(org)? else {
        return Ok(None);
    };
    let job = app.store.get_job(org, receipt.job_id)?;
    let events = app.store.org_deletion_events(org)?;
    Ok(Some(DeletionStatus {
        receipt,
        job,
        events,
    }))
}

/// The org's jobs that are queued or running (the deletion waits for them).
fn pending_jobs(app: &App, org: OrgId) -> AppResult<Vec<Job>> {
    let mut pending = Vec::new();
    let mut after = None;
    loop {
        let page = app.store.list_jobs(
            org,
            &JobQuery {
                kind: None,
                limit: 200,
                after,
            },
        )?;
        pending.extend(
            page.items
                .into_iter()
                .filter(|job| !job.status.is_finished()),
        );
        match page.next_cursor {
            Some(next) => after = Some(next),
            None => return Ok(pending),
        }
    }
}

/// When the newest tenant export of the org finished, if one did in the last 24 hours.
fn final_export_at(app: &App, org: OrgId) -> AppResult<Option<DateTime<Utc>>> {
    let since = app.clock.now() - FINAL_EXPORT_WINDOW;
    let page = app.store.list_jobs(
        org,
        &JobQuery {
            kind: Some(JobKind::ExportTenant),
            limit: 200,
            after: None,
        },
    )?;
    Ok(page
        .items
        .iter()
        .filter(|job| job.status == JobStatus::Completed)
        .filter_map(|job| job.finished_at)
        .filter(|at| *at >= since)
        .max())
}
