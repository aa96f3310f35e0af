//! Plans: which features an org's plan includes, and putting an org on a plan.
//!
//! A use case that offers a feature not every plan includes calls [`require`] after
//! authorizing the caller: a caller without the role gets the role's 403, a caller
//! with the role on a smaller plan gets [`AppError::PlanRequired`], which names the
//! plan that includes the feature. The table of plans and features is in
//! [`steward_domain::plan`].

use steward_domain::{Feature, Org, OrgId, Plan};

use crate::audit::{self, AuditContext};
use crate::{App, AppError, AppResult};

/// Ok if the org's plan includes `feature`; else [`AppError::PlanRequired`].
pub fn require(app: &App, org: OrgId, feature: Feature) -> AppResult<()> {
    let org = app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
    if org.plan.includes(feature) {
        Ok(())
    } else {
        Err(AppError::PlanRequired {
            feature,
            needed: feature.needed(),
        })
    }
}

/// Puts an org on a plan (an operator's task, like creating the org: an org admin
/// cannot change their own plan). Audited in the org's log as `org.plan.set` with the
/// old and the new plan.
pub fn set_plan(app: &App, ctx: &AuditContext, org: OrgId, plan: Plan) -> AppResult<Org> {
    let before = app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
    if !app.store.set_org_plan(org, plan)? {
        return Err(AppError::NotFound("org"));
    }
    audit::record(
        app,
        ctx,
        org,
        "org.plan.set",
        &format!("{} -> {}", before.plan, plan),
        "ok",
    )?;
    Ok(Org { plan, ..before })
}
