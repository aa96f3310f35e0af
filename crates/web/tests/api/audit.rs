//! The audit log: who changed what, from where.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn state_changes_are_audited_with_actor_request_id_and_ip() {
    let t = spawn_app().await;
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    let created = t
        .client
        .post(&url)
        .bearer_auth(&t.admin)
        .header("x-request-id", "req-42")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let audit: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=token.create", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1, "{audit}");
    let entry = &audit["items"][0];
    assert!(entry["actor"].as_str().unwrap().starts_with("token:"));
    assert_eq!(
        (
            entry["request_id"].as_str(),
            entry["ip"].as_str(),
            entry["outcome"].as_str()
        ),
        (Some("req-42"), Some("127.0.0.1"), Some("ok"))
    );
    let bad = t
        .get(
            &format!("/api/v1/orgs/{}/audit?from=yesterday", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "from"
    );
    let by_member = t
        .get(&format!("/api/v1/orgs/{}/audit", t.org), &t.member)
        .send()
        .await
        .unwrap();
    problem(by_member, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn an_overlong_or_unprintable_request_id_is_replaced_before_it_is_echoed_or_audited() {
    let t = spawn_app().await;
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    let long = "x".repeat(20_000);
    for bad in [long.as_str(), "has space", "tab\there", "é"] {
        let Ok(value) = reqwest::header::HeaderValue::from_bytes(bad.as_bytes()) else {
            continue;
        };
        let created = t
            .client
            .post(&url)
            .bearer_auth(&t.admin)
            .header("x-request-id", value)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let echoed = created.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(echoed, bad);
        assert!((1..=128).contains(&echoed.len()), "{echoed}");
    }
    let audit: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=token.create", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for entry in audit["items"].as_array().unwrap() {
        let id = entry["request_id"].as_str().unwrap();
        assert!(
            id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()),
            "{id}"
        );
    }
    // A good id of the longest length is kept.
    let kept = "a".repeat(128);
    let response = t
        .client
        .get(t.url("/healthz"))
        .header("x-request-id", &kept)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], kept.as_str());
}
