//! Who acts in an org, and the one gate every use case goes through.
//!
//! A [`Caller`] is built once per request (from a checked credential) or per CLI
//! command (the operator). Its org is private: a use case reaches the org only through
//! [`Caller::authorize`], which asks the permission matrix
//! (`steward_domain::access::authorize`), so no use case can skip the check.

use steward_domain::OrgId;
use steward_domain::Role;
use steward_domain::access::{Action, Actor, authorize};

use crate::{App, AppError, AppResult};

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

/// Someone acting in one org: what they are there, and how the audit log names them.
#[derive(Clone, Debug)]
pub struct Caller {
    org: OrgId,
    actor: Actor,
    audit: AuditContext,
}

impl Caller {
    /// Someone already known to be `actor` in `org` (see `security::caller_in`).
    pub(crate) fn new(org: OrgId, actor: Actor, audit: AuditContext) -> Caller {
        Caller { org, actor, audit }
    }

    /// An operator at the command line: an org admin of `org`, once the org exists.
    pub fn operator(app: &App, org: OrgId) -> AppResult<Caller> {
        app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
        Ok(Caller {
            org,
            actor: Actor::org_admin(),
            audit: AuditContext::cli(),
        })
    }

    /// Asks the permission matrix; a refusal says what is missing. Returns the org
    /// to act in.
    pub fn authorize(&self, action: &Action) -> AppResult<OrgId> {
        authorize(&self.actor, action).map_err(|denied| AppError::Forbidden(denied.0))?;
        Ok(self.org)
    }

    /// Whether the matrix allows `action`, for views that show more to some roles.
    pub fn may(&self, action: &Action) -> bool {
        authorize(&self.actor, action).is_ok()
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn is_org_admin(&self) -> bool {
        self.actor.role == Role::OrgAdmin
    }

    /// How the audit log names the caller and where the request came from.
    pub fn audit(&self) -> &AuditContext {
        &self.audit
    }
}
