//! The audit log: who changed what, when, from where, and how it ended. Append-only.

use steward_domain::content::AuditEvent;
use steward_domain::{AuditId, OrgId};

use crate::{App, AppResult};

/// Who acts and from where, as the audit log records it.
#[derive(Clone, Debug)]
pub struct AuditContext {
    /// `token:<id>`, `account:<email>`, `user:<phone>` or `cli`.
    pub actor: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl AuditContext {
    /// An operator at the command line.
    pub fn cli() -> AuditContext {
        AuditContext {
            actor: "cli".into(),
            request_id: None,
            ip: None,
        }
    }
}

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
