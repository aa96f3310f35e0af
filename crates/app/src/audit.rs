//! The audit log: who changed what, when, from where, and how it ended. Append-only.

use chrono::{DateTime, Utc};
use steward_domain::access::{Action, AdminTask};
use steward_domain::content::AuditEvent;
use steward_domain::{AuditId, OrgId};
use steward_store::{AuditQuery, Page};

pub use crate::caller::AuditContext;
use crate::{App, AppError, AppResult, Caller, FieldError};

/// Appends one entry. `outcome` is `ok`, or a short reason when the action failed.
pub fn record(
    app: &App,
    ctx: &AuditContext,
    org: OrgId,
    action: &str,
    target: &str,
    outcome: &str,
) -> AppResult<()> {
    let event = AuditEvent {
        id: AuditId::new(),
        org_id: org,
        actor: ctx.actor.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        outcome: outcome.to_owned(),
        request_id: ctx.request_id.clone(),
        ip: ctx.ip.clone(),
        at: app.clock.now(),
    };
    Ok(app.store.append_audit(&event)?)
}

/// Filters of the audit log as a request gives them; times are RFC 3339.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The default and largest page of the audit log.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 1000;

/// The org's audit log, newest first (org admins).
pub fn list(app: &App, caller: &Caller, filter: AuditFilter) -> AppResult<Page<AuditEvent>> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::ViewAudit))?;
    let mut errors = Vec::new();
    let mut time = |field: &str, raw: Option<String>| {
        raw.and_then(|raw| match DateTime::parse_from_rfc3339(&raw) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                errors.push(FieldError::new(
                    field,
                    format!("{raw:?} is not an RFC 3339 time such as 2026-01-31T09:00:00Z"),
                ));
                None
            }
        })
    };
    let from = time("from", filter.from);
    let to = time("to", filter.to);
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            format!("a page holds 1 to {MAX_LIMIT} events"),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let query = AuditQuery {
        actor: filter.actor,
        action: filter.action,
        from,
        to,
        limit,
        after: filter.cursor,
    };
    Ok(app.store.list_audit(org, &query)?)
}
