//! Creating orgs and looking them up.

use steward_domain::{Org, OrgId, OrgName, Plan, Region};

use crate::audit::{self, AuditContext};
use crate::{App, AppError, AppResult};

/// Creates an org (an operator's task) on [`Plan::DEFAULT`]. `region` is the default
/// for phone numbers written without a country code.
pub fn create_org(app: &App, ctx: &AuditContext, name: &str, region: &str) -> AppResult<Org> {
    let name = OrgName::parse(name).map_err(|e| AppError::invalid("name", e))?;
    let region = Region::parse(region).map_err(|e| AppError::invalid("region", e))?;
    let org = Org {
        id: OrgId::new(),
        name,
        region,
        plan: Plan::DEFAULT,
        created_at: app.clock.now(),
    };
    app.store.create_org(&org)?;
    audit::record(app, ctx, org.id, "org.create", &org.id.to_string(), "ok")?;
    Ok(org)
}

pub fn get_org(app: &App, id: OrgId) -> AppResult<Org> {
    app.store.get_org(id)?.ok_or(AppError::NotFound("org"))
}
