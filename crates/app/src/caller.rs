//! Who acts in an org, and the one gate every use case goes through.
//!
//! A [`Caller`] is built once per request (from a checked credential) or per CLI
//! command (the operator). Its org is private: a use case reaches the org only through
//! [`Caller::authorize`], which asks the permission matrix
//! (`steward_domain::access::authorize`), so no use case can skip the check.

use steward_domain::OrgId;
use steward_domain::Role;
use steward_domain::access::{Action, Actor, authorize};

use crate::audit::AuditContext;
use crate::security::Principal;
use crate::{App, AppError, AppResult};

/// Someone acting in one org: what they are there, and how the audit log names them.
#[derive(Clone, Debug)]
pub struct Caller {
    org: OrgId,
    actor: Actor,
    audit: AuditContext,
}

impl Caller {
    /// The principal acting in `org`. An org the principal has no place in is not
    /// found, exactly like one that does not exist.
    pub fn resolve(
        app: &App,
        principal: &Principal,
        org: OrgId,
        request_id: Option<String>,
        ip: Option<String>,
    ) -> AppResult<Caller> {
        let actor = principal.actor_in(app, org)?;
        let audit = AuditContext {
            actor: principal.audit_name(),
            request_id,
            ip,
        };
        Ok(Caller { org, actor, audit })
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
