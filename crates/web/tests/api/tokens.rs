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
