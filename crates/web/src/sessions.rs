//! Signing in and out: admins by email and password (a session cookie), members by a
//! one-time code sent to their phone (a bearer token); and `GET /api/v1/me`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde_json::json;
use steward_app::App;
use steward_app::security::{self, Principal};

use crate::auth::{Credential, Origin, SESSION_COOKIE, Signed};
use crate::extract::JsonBody;
use crate::state::{Security, WebState};
use crate::{ApiError, blocking};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/otp/start", post(otp_start))
        .route("/api/v1/auth/otp/verify", post(otp_verify))
        .route("/api/v1/me", get(me))
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

fn session_cookie(security: &Security, value: String, max_age: chrono::Duration) -> HeaderValue {
    let cookie = Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(security.secure_cookies)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// `POST /api/v1/auth/login`: a fresh session for an org admin, in a cookie.
async fn login(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let sec = security.clone();
    let ip = origin.ip.clone();
    let (account, session) = blocking(move || {
        Ok(security::login(
            &app,
            &sec.throttles,
            sec.policy,
            &body.email,
            &body.password,
            &ip,
            origin.request_id,
        )?)
    })
    .await?;
    let cookie = session_cookie(&security, session.secret, security.policy.absolute);
    let body = json!({
        "account": {"id": account.id, "email": account.email, "org_id": account.org_id},
        "csrf_token": session.session.csrf_token,
        "expires_at": session.session.expires_at,
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `POST /api/v1/auth/logout`: ends the session (cookie or member bearer).
async fn logout(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    signed: Signed,
) -> Result<Response, ApiError> {
    let secret = signed.credential.secret().to_owned();
    if matches!(signed.principal, Principal::Token(_)) {
        return Err(ApiError::invalid(
            "authorization",
            "API tokens are revoked, not logged out",
        ));
    }
    blocking(move || Ok(security::logout(&app, &secret)?)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if matches!(signed.credential, Credential::Cookie(_)) {
        let expired = session_cookie(&security, String::new(), chrono::Duration::zero());
        response.headers_mut().insert(header::SET_COOKIE, expired);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct OtpStart {
    phone: String,
}

/// `POST /api/v1/auth/otp/start`: always the same answer, so it tells nothing about
/// who is a member.
async fn otp_start(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    JsonBody(body): JsonBody<OtpStart>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    blocking(move || {
        Ok(security::start_otp(
            &app,
            security.sms.as_ref(),
            &security.throttles,
            &body.phone,
            &origin.ip,
        )?)
    })
    .await?;
    let message = "if this number belongs to a member, a sign-in code is on its way";
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "sent", "detail": message})),
    ))
}

#[derive(Deserialize)]
struct OtpVerify {
    phone: String,
    code: String,
}

/// `POST /api/v1/auth/otp/verify`: a member session as a bearer token.
async fn otp_verify(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    JsonBody(body): JsonBody<OtpVerify>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let session = blocking(move || {
        Ok(security::verify_otp(
            &app,
            &security.throttles,
            security.policy,
            &body.phone,
            &body.code,
            &origin.ip,
        )?)
    })
    .await?;
    Ok(Json(
        json!({"token": session.secret, "expires_at": session.session.expires_at}),
    ))
}

/// `GET /api/v1/me`: who the caller is, and for a member, the orgs they belong to.
async fn me(State(app): State<App>, signed: Signed) -> Result<Json<serde_json::Value>, ApiError> {
    let body = match signed.principal {
        Principal::Token(t) => json!({
            "kind": "token", "token_id": t.id, "org_id": t.org_id, "role": t.role, "label": t.label,
        }),
        Principal::Admin(a) => json!({
            "kind": "admin", "account_id": a.id, "email": a.email, "org_id": a.org_id, "role": "org-admin",
        }),
        Principal::Member(phone) => {
            let lookup = phone.clone();
            let users = blocking(move || Ok(security::member_orgs(&app, &lookup)?)).await?;
            let orgs: Vec<_> = users
                .into_iter()
                .map(|u| json!({"org_id": u.org_id, "name": u.name}))
                .collect();
            json!({"kind": "member", "phone": phone, "orgs": orgs})
        }
    };
    Ok(Json(body))
}
