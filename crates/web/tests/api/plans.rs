//! Plans: the org's plan as the API shows it, and the plan-required problem.

use reqwest::StatusCode;
use serde_json::Value;
use steward_app::audit::AuditContext;
use steward_app::plans;
use steward_domain::{Feature, Plan};

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn me_shows_the_org_plan_and_the_features_it_includes() {
    let t = spawn_app().await;
    let me: Value = t
        .get("/api/v1/me", &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["plan"], "standard", "the default plan: {me}");
    assert_eq!(me["features"], serde_json::json!(["tenant_export"]));

    plans::set_plan(&t.app, &AuditContext::cli(), t.org, Plan::Free).unwrap();
    let me: Value = t
        .get("/api/v1/me", &t.member)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["kind"].as_str(), me["plan"].as_str()),
        (Some("token"), Some("free"))
    );
    assert_eq!(me["features"], serde_json::json!([]));
    // The other org's plan did not move.
    let theirs: Value = t
        .get("/api/v1/me", &t.other_admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["plan"], "standard");
}

#[tokio::test]
async fn a_plan_change_is_in_the_org_audit_log() {
    let t = spawn_app().await;
    plans::set_plan(&t.app, &AuditContext::cli(), t.org, Plan::Enterprise).unwrap();
    let page: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=org.plan.set", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"][0]["target"], "standard -> enterprise",
        "{page}"
    );
    assert_eq!(page["items"][0]["actor"], "cli");
}

#[tokio::test]
async fn a_feature_outside_the_org_plan_is_refused_naming_the_plan_that_includes_it() {
    let t = spawn_app().await;
    // No route offers a gated feature yet (tenant exports will): the use-case check
    // and its problem are tested here, the problem's HTTP shape in `error.rs`.
    assert!(plans::require(&t.app, t.org, Feature::TenantExport).is_ok());
    plans::set_plan(&t.app, &AuditContext::cli(), t.org, Plan::Free).unwrap();
    let refused = plans::require(&t.app, t.org, Feature::TenantExport).unwrap_err();
    assert!(matches!(
        refused,
        steward_app::AppError::PlanRequired {
            feature: Feature::TenantExport,
            needed: Plan::Standard
        }
    ));
    assert_eq!(
        refused.to_string(),
        "exporting the tenant's data is not included in this org's plan: it needs the standard plan or enterprise"
    );
    // A missing role is still the role's plain 403, whatever the plan.
    let forbidden = t
        .client
        .post(format!("{}/api/v1/orgs/{}/imports", t.base, t.org))
        .bearer_auth(&t.member)
        .body("Phone Number,Name\n")
        .send()
        .await
        .unwrap();
    let body = problem(forbidden, StatusCode::FORBIDDEN).await;
    assert_eq!(body["type"], "about:blank");
}
