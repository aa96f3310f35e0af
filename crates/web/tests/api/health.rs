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

#[tokio::test]
async fn every_response_carries_security_headers_and_api_answers_are_not_cached() {
    let t = spawn_app().await;
    let org = t.org;
    let cases = [
        ("/healthz", None, StatusCode::OK, false),
        ("/no/such/path", None, StatusCode::NOT_FOUND, false),
        ("/api/v1/me", None, StatusCode::UNAUTHORIZED, true),
        (
            &*format!("/api/v1/orgs/{org}/users"),
            Some(&t.admin),
            StatusCode::OK,
            true,
        ),
        (
            &*format!("/api/v1/orgs/{org}/tokens"),
            Some(&t.admin),
            StatusCode::OK,
            true,
        ),
        (
            &*format!("/api/v1/orgs/{org}/imports/template.csv"),
            Some(&t.admin),
            StatusCode::OK,
            true,
        ),
    ];
    for (path, token, status, api) in cases {
        let mut request = t.client.get(t.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let h = response.headers();
        assert_eq!(
            h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(
            !h.contains_key("strict-transport-security"),
            "{path}: only over HTTPS"
        );
        if api {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
    // Sign-in answers carry secrets: not cached either.
    let response = t.login("nobody@example.com", "wrong password!").await;
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn hsts_is_sent_when_cookies_are_secure() {
    let t = crate::helpers::spawn_app_with(|config| config.security.secure_cookies = true).await;
    let response = t.client.get(t.url("/healthz")).send().await.unwrap();
    let hsts = response.headers()["strict-transport-security"]
        .to_str()
        .unwrap();
    assert!(hsts.starts_with("max-age="), "{hsts}");
}
