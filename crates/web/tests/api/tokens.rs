//! API tokens: shown once, listed with their last use, revoked.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn tokens_are_shown_once_listed_with_last_use_and_revoked() {
    let t = spawn_app().await;
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    let created: Value = t
        .client
        .post(&url)
        .bearer_auth(&t.admin)
        .json(&serde_json::json!({"label": "sync"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("stw_") && secret.len() >= 4 + 32,
        "at least 128 random bits"
    );
    assert_eq!(
        t.get(&format!("/api/v1/orgs/{}/users", t.org), &secret)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let listed: Value = t
        .client
        .get(&url)
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == created["id"])
        .unwrap()
        .clone();
    assert!(entry["last_used_at"].is_string(), "{entry}");
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is never shown again"
    );
    let revoke = t
        .client
        .delete(format!("{url}/{}", created["id"].as_str().unwrap()))
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let after = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &secret)
        .send()
        .await
        .unwrap();
    problem(after, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_expiry_beyond_ten_years_is_refused_with_422_not_a_panic() {
    let t = spawn_app().await;
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    for days in [
        serde_json::json!(100_000_000),
        serde_json::json!(3651),
        serde_json::json!(0),
        serde_json::json!(1_000_000_000_000u64),
        serde_json::json!(-1),
    ] {
        let response = t
            .client
            .post(&url)
            .bearer_auth(&t.admin)
            .json(&serde_json::json!({"expires_in_days": days}))
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["field"], "expires_in_days", "{body}");
    }
}

#[tokio::test]
async fn a_token_stored_with_an_expiry_past_year_9999_still_lists_and_authenticates() {
    let t = spawn_app().await;
    // As a token issued before expiries were bounded was stored: year 10240.
    let far = chrono::Utc::now() + chrono::Duration::days(3_000_000);
    let (token, secret) = steward_app::tokens::create_token(
        &t.app,
        t.org,
        steward_domain::Role::OrgAdmin,
        "old",
        Some(far),
    )
    .unwrap();
    let users = format!("/api/v1/orgs/{}/users", t.org);
    assert_eq!(
        t.get(&users, &secret).send().await.unwrap().status(),
        StatusCode::OK
    );
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    let listed = t
        .client
        .get(&url)
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let revoke = t
        .client
        .delete(format!("{url}/{}", token.id))
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let listed = t
        .client
        .get(&url)
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
}
