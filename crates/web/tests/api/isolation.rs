//! Orgs are sealed from each other: another org's objects answer 404 like missing ones,
//! and every org route needs a credential.

use reqwest::StatusCode;
use serde_json::Value;
use steward_app::tokens;
use steward_domain::{OrgId, Role};
use steward_store::prelude::*;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn listing_users_without_a_token_is_401_problem_json() {
    let t = spawn_app().await;
    let url = format!("{}/api/v1/orgs/{}/users", t.base, t.org);
    let response = t.client.get(url).send().await.unwrap();
    let body = problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(body["detail"].as_str().unwrap().contains("Bearer"));
    let response = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), "stw_bogus")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn another_orgs_users_answer_404_like_a_missing_org() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    let theirs = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &t.other_admin)
        .send()
        .await
        .unwrap();
    let missing = t
        .get(
            &format!("/api/v1/orgs/{}/users", OrgId::new()),
            &t.other_admin,
        )
        .send()
        .await
        .unwrap();
    let a = problem(theirs, StatusCode::NOT_FOUND).await;
    let b = problem(missing, StatusCode::NOT_FOUND).await;
    assert_eq!(a, b, "nothing tells another org's id from a missing one");
    let own = t
        .get(
            &format!("/api/v1/orgs/{}/users", t.other_org),
            &t.other_admin,
        )
        .send()
        .await
        .unwrap();
    let page: Value = own.json().await.unwrap();
    assert_eq!(page["total"], 0);
}

/// Every org route, with a harmless request: `{org}` and `{id}` are filled in.
const ORG_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/orgs/{org}/users"),
    ("GET", "/api/v1/orgs/{org}/imports"),
    ("POST", "/api/v1/orgs/{org}/imports"),
    ("GET", "/api/v1/orgs/{org}/imports/{id}"),
    ("GET", "/api/v1/orgs/{org}/imports/{id}/errors.csv"),
    ("GET", "/api/v1/orgs/{org}/imports/{id}/result.csv"),
    ("GET", "/api/v1/orgs/{org}/imports/{id}/original"),
    ("GET", "/api/v1/orgs/{org}/imports/template.csv"),
    ("GET", "/api/v1/orgs/{org}/tokens"),
    ("POST", "/api/v1/orgs/{org}/tokens"),
    ("DELETE", "/api/v1/orgs/{org}/tokens/{id}"),
    ("GET", "/api/v1/orgs/{org}/audit"),
    ("POST", "/api/v1/orgs/{org}/users"),
    ("GET", "/api/v1/orgs/{org}/users/{phone}"),
    ("PATCH", "/api/v1/orgs/{org}/users/{phone}"),
    ("GET", "/api/v1/orgs/{org}/attributes"),
    ("PUT", "/api/v1/orgs/{org}/attributes"),
    ("GET", "/api/v1/orgs/{org}/attributes/suggestions"),
    ("GET", "/api/v1/orgs/{org}/groups"),
    ("POST", "/api/v1/orgs/{org}/groups"),
    ("GET", "/api/v1/orgs/{org}/groups/{group}"),
    ("PATCH", "/api/v1/orgs/{org}/groups/{group}"),
    ("GET", "/api/v1/orgs/{org}/groups/{group}/members"),
    ("POST", "/api/v1/orgs/{org}/groups/{group}/members"),
    (
        "DELETE",
        "/api/v1/orgs/{org}/groups/{group}/members/{phone}",
    ),
    ("GET", "/api/v1/orgs/{org}/groups/{group}/messages"),
    ("POST", "/api/v1/orgs/{org}/groups/{group}/messages"),
    (
        "POST",
        "/api/v1/orgs/{org}/groups/{group}/messages/{id}/attachments",
    ),
    ("GET", "/api/v1/orgs/{org}/groups/{group}/attachments/{id}"),
    ("GET", "/api/v1/orgs/{org}/actions"),
    ("POST", "/api/v1/orgs/{org}/actions"),
    ("POST", "/api/v1/orgs/{org}/actions/{id}/publish"),
    ("POST", "/api/v1/orgs/{org}/actions/{id}/unpublish"),
    ("POST", "/api/v1/orgs/{org}/actions/{id}/responses"),
    ("GET", "/api/v1/orgs/{org}/connectors"),
    ("POST", "/api/v1/orgs/{org}/connectors"),
    ("POST", "/api/v1/orgs/{org}/connectors/{id}/publish"),
    ("POST", "/api/v1/orgs/{org}/connectors/{id}/unpublish"),
    ("GET", "/api/v1/orgs/{org}/reports"),
];

#[tokio::test]
async fn every_org_route_hides_other_orgs_and_needs_a_credential() {
    let t = spawn_app().await;
    // Ids that exist in org A: an import job and a token.
    let job = steward_app::import::enqueue(
        &t.app,
        t.org,
        steward_app::import::NewImport {
            file_name: "a.csv".into(),
            ..Default::default()
        },
        &mut &b"Phone,Name\n"[..],
    )
    .unwrap();
    let (token, _) = tokens::create_token(&t.app, t.org, Role::OrgAdmin, "a", None).unwrap();
    for (method, template) in ORG_ROUTES {
        let id = if template.contains("tokens") {
            token.id.to_string()
        } else {
            job.id.to_string()
        };
        let path = template
            .replace("{org}", &t.org.to_string())
            .replace("{id}", &id);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = |token: Option<&str>| {
            let mut r = t
                .client
                .request(method.clone(), t.url(&path))
                .header("content-type", "application/json")
                .body("{}");
            if let Some(token) = token {
                r = r.bearer_auth(token);
            }
            r
        };
        let anonymous = request(None).send().await.unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a credential"
        );
        let other = request(Some(&t.other_admin)).send().await.unwrap();
        assert_eq!(
            other.status(),
            StatusCode::NOT_FOUND,
            "{method} {path} from another org"
        );
    }
    // Nothing of org A changed.
    assert!(
        t.store
            .find_api_token(&tokens::hash_secret(&t.admin))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        t.store
            .list_api_tokens(t.org)
            .unwrap()
            .iter()
            .filter(|t| t.revoked_at.is_some())
            .count(),
        0
    );
}
