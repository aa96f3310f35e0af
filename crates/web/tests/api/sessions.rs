//! Sign-in: admin sessions with cookies and CSRF, member codes, expiry and throttles.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::Value;
use steward_app::security;
use steward_store::prelude::*;

use crate::helpers::{PASSWORD, problem, spawn_app};

#[tokio::test]
async fn an_admin_login_sets_a_locked_down_session_cookie_and_a_fresh_one_each_time() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let response = t.login("ADA@contoso.example", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("steward_session=sts_"), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "Secure only when configured for TLS"
    );
    let (first, _) = t.admin_session("ada@contoso.example").await;
    let (second, _) = t.admin_session("ada@contoso.example").await;
    assert_ne!(first, second, "every login gets a new session id");

    let me: Value = t
        .client
        .get(t.url("/api/v1/me"))
        .header("cookie", &first)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["kind"].as_str(), me["email"].as_str()),
        (Some("admin"), Some("ada@contoso.example"))
    );
    let users = t
        .client
        .get(t.url(&format!("/api/v1/orgs/{}/users", t.org)))
        .header("cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let unknown = problem(
        t.login("bob@contoso.example", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let wrong = problem(
        t.login("ada@contoso.example", "wrong password!!").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(unknown, wrong);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_even_for_the_right_password() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    for _ in 0..5 {
        assert_eq!(
            t.login("ada@contoso.example", "wrong password!!")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    problem(
        t.login("ada@contoso.example", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    t.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        t.login("ada@contoso.example", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn cookie_authenticated_writes_need_the_csrf_token() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let (cookie, csrf) = t.admin_session("ada@contoso.example").await;
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    let body = serde_json::json!({"label": "ci"});
    let without = t
        .client
        .post(&url)
        .header("cookie", &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem_body = problem(without, StatusCode::FORBIDDEN).await;
    assert!(
        problem_body["detail"]
            .as_str()
            .unwrap()
            .contains("x-csrf-token")
    );
    let wrong = t
        .client
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", "nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let with = t
        .client
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn sessions_end_at_logout_after_30_idle_minutes_and_after_12_hours() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let me = |cookie: String| {
        let request = t.client.get(t.url("/api/v1/me")).header("cookie", cookie);
        async move { request.send().await.unwrap().status() }
    };
    let (cookie, csrf) = t.admin_session("ada@contoso.example").await;
    let out = t
        .client
        .post(t.url("/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(cookie).await, StatusCode::UNAUTHORIZED);

    let (idle, _) = t.admin_session("ada@contoso.example").await;
    t.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(me(idle.clone()).await, StatusCode::OK);
    t.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(
        me(idle).await,
        StatusCode::UNAUTHORIZED,
        "idle for 31 minutes"
    );

    let (busy, _) = t.admin_session("ada@contoso.example").await;
    for _ in 0..(12 * 3 - 1) {
        t.clock.advance(chrono::Duration::minutes(20));
        assert_eq!(me(busy.clone()).await, StatusCode::OK);
    }
    t.clock.advance(chrono::Duration::minutes(20));
    assert_eq!(
        me(busy).await,
        StatusCode::UNAUTHORIZED,
        "12 hours after sign-in"
    );
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_at_once() {
    let t = spawn_app().await;
    let (account, _) = security::add_admin(
        &t.app,
        &steward_app::Caller::operator(&t.app, t.org).unwrap(),
        "ada@contoso.example",
        Some(PASSWORD),
    )
    .unwrap();
    let (cookie, _) = t.admin_session("ada@contoso.example").await;
    t.store
        .disable_account(t.org, account.id, Utc::now())
        .unwrap();
    let me = t
        .client
        .get(t.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.login("ada@contoso.example", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_member_signs_in_with_a_code_and_sees_their_orgs_but_no_admin_work() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    let start = t.otp_start("+91 98765 43210").await;
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let start_body: Value = start.json().await.unwrap();
    let code = t.last_code().unwrap();
    assert_eq!(code.len(), 6);

    // A stranger's number gets the same answer, and no message.
    let stranger: Value = t.otp_start("+14155550123").await.json().await.unwrap();
    assert_eq!(stranger, start_body);
    assert_eq!(t.store.sms_outbox(10).unwrap().len(), 1);

    let verified = t.otp_verify("919876543210", &code).await;
    assert_eq!(verified.status(), StatusCode::OK);
    let token = verified.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me: Value = t
        .client
        .get(t.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["kind"], "member");
    assert_eq!(me["orgs"][0]["org_id"], t.org.to_string());
    let users = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &token)
        .send()
        .await
        .unwrap();
    problem(users, StatusCode::FORBIDDEN).await;
    let other = t
        .get(&format!("/api/v1/orgs/{}/users", t.other_org), &token)
        .send()
        .await
        .unwrap();
    problem(other, StatusCode::NOT_FOUND).await;
    let reused = t.otp_verify("+919876543210", &code).await;
    problem(reused, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_code_expires_after_10_minutes() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    t.otp_start("+919876543210").await;
    let code = t.last_code().unwrap();
    t.clock.advance(chrono::Duration::minutes(10));
    problem(
        t.otp_verify("+919876543210", &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn five_wrong_codes_burn_the_code() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    t.otp_start("+919876543210").await;
    let code = t.last_code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        problem(
            t.otp_verify("+919876543210", wrong).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    problem(
        t.otp_verify("+919876543210", &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn code_requests_are_throttled_per_phone() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    for _ in 0..5 {
        assert_eq!(
            t.otp_start("+919876543210").await.status(),
            StatusCode::ACCEPTED
        );
    }
    problem(
        t.otp_start("+919876543210").await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
}

#[tokio::test]
async fn an_account_lockout_survives_a_server_restart() {
    let mut t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    for _ in 0..5 {
        let response = t.login("ada@contoso.example", "wrong password!!").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    t.restart().await;
    problem(
        t.login("ada@contoso.example", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    t.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        t.login("ada@contoso.example", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn two_hundred_concurrent_code_verifications_from_one_ip_let_at_most_50_through() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    assert_eq!(
        t.otp_start("+919876543210").await.status(),
        StatusCode::ACCEPTED
    );
    let attempts = (0..200).map(|i| {
        let client = t.client.clone();
        let url = t.url("/api/v1/auth/otp/verify");
        tokio::spawn(async move {
            client
                .post(url)
                .json(&serde_json::json!({"phone": "+919876543210", "code": format!("{i:06}x")}))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut checked = 0;
    let mut refused = 0;
    for attempt in futures_util::future::join_all(attempts).await {
        match attempt.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    // The code request counted against the same budget of 50 an hour.
    assert_eq!((checked, refused), (49, 151));
}
