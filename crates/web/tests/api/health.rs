//! Liveness, readiness, request ids and unknown paths.

use reqwest::StatusCode;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let t = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = t
            .client
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let t = spawn_app().await;
    let response = t
        .client
        .get(format!("{}/healthz", t.base))
        .send()
        .await
        .unwrap();
    assert!(!response.headers()["x-request-id"].is_empty());
    let response = t
        .client
        .get(format!("{}/healthz", t.base))
        .header("x-request-id", "trace-me")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me");
}

#[tokio::test]
async fn unknown_paths_are_404_problem_json() {
    let t = spawn_app().await;
    let response = t
        .client
        .get(format!("{}/nope", t.base))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::NOT_FOUND).await;
}
