//! Deleting users, restoring them, purging them for good, legal holds and deletion
//! receipts (see `steward_domain::lifecycle` for the states).
//!
//! A deletion is immediate and reversible: the user turns `deleted`, leaves the org's
//! groups, loses access to the org, and what they made in the org's groups drops out
//! of every read. The purge (a [`PurgeUsers`] job, scheduled when the window passes or
//! asked for at once) removes those rows for good and leaves a receipt.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use steward_domain::access::{Action, AdminTask};
use steward_domain::lifecycle::{
    DeletedUser, DeletionReceipt, HoldScope, LegalHold, MAX_HOLD_REASON_CHARS, PurgeWindow,
};
use steward_domain::{
    Counts, HoldId, Job, JobId, JobKind, JobStatus, OrgId, PhoneNumber, Progress, User, UserId,
};

use crate::audit;
use crate::directory::find_user;
use crate::{App, AppError, AppResult, Caller, FieldError};

/// The purge job: removes deleted users' rows and blobs for good, in small steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeUsers {
    /// The users to purge, in order.
    pub users: Vec<UserId>,
    /// Who asked, as the receipt names them (`scheduler` for a purge the window made
    /// due).
    pub requested_by: String,
}

/// Who the receipt names for a purge that the window made due.
pub const SCHEDULER: &str = "scheduler";

/// Deletes a user of the caller's org (org admins): see the module doc. The user is
/// answered as they are now, `deleted`, with `deleted_at`.
pub fn delete_user(app: &App, caller: &Caller, raw_phone: &str) -> AppResult<User> {
    Ok(delete(app, caller, raw_phone)?.user)
}

/// [`delete_user`], answering the deletion with who made it and when the purge is due.
pub fn delete(app: &App, caller: &Caller, raw_phone: &str) -> AppResult<DeletedUser> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    let user = find_user(app, org, raw_phone)?;
    if app.store.deleted_user(org, &user.phone)?.is_some() {
        return Err(AppError::Conflict(format!(
            "{} is already deleted; restore it or purge it now",
            user.phone
        )));
    }
    let now = app.clock.now();
    let window = app.store.purge_window(org)?;
    let deleted = app
        .store
        .delete_user(
            org,
            &user.phone,
            &caller.audit().actor,
            now,
            now + window.as_duration(),
        )?
        .ok_or(AppError::NotFound("user"))?;
    audit::record(
        app,
        caller.audit(),
        org,
        "user.delete",
        user.phone.as_str(),
        "ok",
    )?;
    Ok(deleted)
}

/// Brings a deleted user back exactly as they were, until the purge begins.
pub fn restore_user(app: &App, caller: &Caller, raw_phone: &str) -> AppResult<User> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    let user = find_user(app, org, raw_phone)?;
    let restored = app
        .store
        .restore_user(org, &user.phone, app.clock.now())?
        .ok_or(AppError::NotFound("deleted user"))?;
    audit::record(
        app,
        caller.audit(),
        org,
        "user.restore",
        user.phone.as_str(),
        "ok",
    )?;
    Ok(restored)
}

/// A deleted user with what their purge would remove.
#[derive(Clone, Debug, PartialEq)]
pub struct DeletedUserView {
    pub deleted: DeletedUser,
    /// Rows per kind (see `steward_store::PurgeKind`) the purge removes.
    pub to_purge: Counts,
    /// Whether a legal hold keeps them from being purged.
    pub held: bool,
}

/// The org's deleted users, oldest deletion first (org admins).
pub fn deleted_users(app: &App, caller: &Caller) -> AppResult<Vec<DeletedUserView>> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    app.store
        .deleted_users(org)?
        .into_iter()
        .map(|deleted| {
            Ok(DeletedUserView {
                to_purge: app.store.purge_counts(org, deleted.user.id)?,
                held: app.store.is_held(org, deleted.user.id)?,
                deleted,
            })
        })
        .collect()
}

/// The refusal for adding or importing a phone that is deleted and not yet purged.
pub fn deleted_phone_message(phone: &PhoneNumber) -> String {
    format!(
        "{phone} belongs to a deleted user who is not purged yet; restore the user, or purge them now and add the phone again"
    )
}

/// Refuses when `phone` is a deleted user of the org who is not purged yet.
pub(crate) fn refuse_deleted(app: &App, org: OrgId, phone: &PhoneNumber) -> AppResult<()> {
    if app.store.deleted_user(org, phone)?.is_some() {
        return Err(AppError::Conflict(deleted_phone_message(phone)));
    }
    Ok(())
}

/// "Delete permanently now": queues the purge of one deleted user at once, even
/// inside the window (never past a legal hold).
pub fn purge_now(app: &App, caller: &Caller, raw_phone: &str) -> AppResult<Job> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    let user = find_user(app, org, raw_phone)?;
    let deleted = app
        .store
        .deleted_user(org, &user.phone)?
        .ok_or(AppError::NotFound("deleted user"))?;
    if app.store.is_held(org, user.id)? {
        return Err(AppError::Conflict(format!(
            "a legal hold covers {}; remove the hold before purging",
            user.phone
        )));
    }
    let job = enqueue_purge(app, org, &deleted, &caller.audit().actor)?;
    audit::record(
        app,
        caller.audit(),
        org,
        "user.purge_requested",
        &format!("{} (job {})", user.phone, job.id),
        "ok",
    )?;
    Ok(job)
}

/// Queues the purge of one deleted user, once per deletion: asking again gives back
/// the same job.
fn enqueue_purge(app: &App, org: OrgId, deleted: &DeletedUser, by: &str) -> AppResult<Job> {
    let payload = PurgeUsers {
        users: vec![deleted.user.id],
        requested_by: by.to_owned(),
    };
    let job = Job {
        id: JobId::new(),
        org_id: org,
        kind: JobKind::PurgeUsers,
        status: JobStatus::Queued,
        file_name: None,
        created_by: by.to_owned(),
        created_at: app.clock.now(),
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::default(),
        payload: serde_json::to_value(&payload).map_err(|e| AppError::Internal(e.to_string()))?,
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    let key = format!(
        "purge:{}:{}",
        deleted.user.id,
        deleted.deleted_at.timestamp_micros()
    );
    Ok(app.store.enqueue_job_once(&job, &key)?)
}

/// How many due purges one scheduler pass looks at.
const SCHEDULE_BATCH: u32 = 100;

/// Queues a purge job for every deleted user whose window has passed and whom no hold
/// covers (the worker calls this now and then). Answers the jobs queued or found.
/// Stale entries (a user restored, or already purged, while the entry stayed behind
/// after a crash) are dropped.
pub fn schedule_due_purges(app: &App) -> AppResult<Vec<Job>> {
    let now = app.clock.now();
    let mut jobs = Vec::new();
    for (org, user) in app.store.due_purges(now, SCHEDULE_BATCH)? {
        let deleted = app
            .store
            .deleted_users(org)?
            .into_iter()
            .find(|d| d.user.id == user);
        let Some(deleted) = deleted else {
            app.store.forget_purge(org, user, None)?;
            continue;
        };
        if deleted.purge_after > now || app.store.is_held(org, user)? {
            continue;
        }
        jobs.push(enqueue_purge(app, org, &deleted, SCHEDULER)?);
    }
    Ok(jobs)
}

/// The org's purge window (org admins).
pub fn purge_window(app: &App, caller: &Caller) -> AppResult<PurgeWindow> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    Ok(app.store.purge_window(org)?)
}

/// Sets how many days (1 to 30) deleted users stay restorable. Users deleted before
/// keep the purge date they were given.
pub fn set_purge_window(app: &App, caller: &Caller, days: i64) -> AppResult<PurgeWindow> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    let window = u32::try_from(days)
        .map_err(|_| format!("{days} is not a number of days"))
        .and_then(PurgeWindow::days)
        .map_err(|e| AppError::invalid("purge_window_days", e))?;
    app.store.set_purge_window(org, window)?;
    audit::record(
        app,
        caller.audit(),
        org,
        "lifecycle.purge_window",
        &format!("{} days", window.as_days()),
        "ok",
    )?;
    Ok(window)
}

/// The org's legal holds (org admins).
pub fn holds(app: &App, caller: &Caller) -> AppResult<Vec<LegalHold>> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    Ok(app.store.holds(org)?)
}

/// Places a legal hold on one user (by phone, active or deleted) or, without a phone,
/// on the whole org. The reason is required.
pub fn add_hold(
    app: &App,
    caller: &Caller,
    raw_phone: Option<&str>,
    reason: &str,
) -> AppResult<LegalHold> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    let reason = reason.trim();
    let mut errors = Vec::new();
    if reason.is_empty() {
        errors.push(FieldError::new("reason", "say why the data is held"));
    } else if reason.chars().count() > MAX_HOLD_REASON_CHARS {
        errors.push(FieldError::new(
            "reason",
            format!("at most {MAX_HOLD_REASON_CHARS} characters"),
        ));
    }
    let scope = match raw_phone {
        None => Some(HoldScope::Org),
        Some(raw) => {
            let region = app
                .store
                .get_org(org)?
                .ok_or(AppError::NotFound("org"))?
                .region;
            match PhoneNumber::parse(raw, region) {
                Ok(phone) => match app.store.get_user(org, &phone)? {
                    Some(user) => Some(HoldScope::User(user.id, user.phone)),
                    None => {
                        errors.push(FieldError::new(
                            "phone",
                            "no user of this org has this phone",
                        ));
                        None
                    }
                },
                Err(e) => {
                    errors.push(FieldError::new("phone", e));
                    None
                }
            }
        }
    };
    let (Some(scope), true) = (scope, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let hold = LegalHold {
        id: HoldId::new(),
        org_id: org,
        scope,
        reason: reason.to_owned(),
        created_by: caller.audit().actor.clone(),
        created_at: app.clock.now(),
    };
    app.store.add_hold(&hold)?;
    audit::record(
        app,
        caller.audit(),
        org,
        "hold.add",
        &hold_target(&hold),
        "ok",
    )?;
    Ok(hold)
}

/// Lifts a legal hold; purges that were due run at the scheduler's next pass.
pub fn remove_hold(app: &App, caller: &Caller, raw_id: &str) -> AppResult<LegalHold> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    let id: HoldId = raw_id.parse().map_err(|_| AppError::NotFound("hold"))?;
    let hold = app
        .store
        .remove_hold(org, id)?
        .ok_or(AppError::NotFound("hold"))?;
    audit::record(
        app,
        caller.audit(),
        org,
        "hold.remove",
        &hold_target(&hold),
        "ok",
    )?;
    Ok(hold)
}

fn hold_target(hold: &LegalHold) -> String {
    match &hold.scope {
        HoldScope::Org => format!("org (hold {})", hold.id),
        HoldScope::User(_, phone) => format!("{phone} (hold {})", hold.id),
    }
}

/// The org's deletion receipts, newest first (org admins).
pub fn receipts(app: &App, caller: &Caller) -> AppResult<Vec<DeletionReceipt>> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    Ok(app.store.receipts(org)?)
}

/// The receipt hash of a phone: SHA-256 of the org's salt followed by the E.164 phone,
/// lowercase hex. The org proves a phone was purged by hashing it again.
pub fn phone_hash(salt: &str, phone: &PhoneNumber) -> String {
    let digest = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update(phone.as_str().as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The receipts whose hash matches `raw_phone` (org admins): the proof that this
/// phone's user was purged.
pub fn receipts_for_phone(
    app: &App,
    caller: &Caller,
    raw_phone: &str,
) -> AppResult<Vec<DeletionReceipt>> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::DeleteUsers))?;
    let region = app
        .store
        .get_org(org)?
        .ok_or(AppError::NotFound("org"))?
        .region;
    let phone = PhoneNumber::parse(raw_phone, region).map_err(|e| AppError::invalid("phone", e))?;
    let hash = phone_hash(&app.store.receipt_salt(org)?, &phone);
    Ok(app
        .store
        .receipts(org)?
        .into_iter()
        .filter(|r| r.phone_hash == hash)
        .collect())
}
