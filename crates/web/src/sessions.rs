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
use steward_app::security::{self, Principal};
use steward_app::{App, orgs};

use crate::ApiError;
use crate::auth::{Credential, Origin, SESSION_COOKIE, Signed};
use crate::extract::JsonBody;
use crate::run::blocking;
use crate::state::{Security, WebState};
use crate::wire::{
    AccountJson, LoginJson, MeJson, MemberOrgJson, MemberSessionJson, OtpStartedJson,
};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(login, logout, otp_start, otp_verify, me))]
pub(crate) struct Api;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/otp/start", post(otp_start))
        .route("/api/v1/auth/otp/verify", post(otp_verify))
        .route("/api/v1/me", get(me))
}

#[derive(Deserialize, utoipa::ToSchema)]
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
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "sessions", summary = "Sign in as an org admin",
    request_body = LoginBody, security(()),
    responses((status = 200, description = "Signed in; the session is in the `steward_session` cookie", body = LoginJson)))]
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
    let body = LoginJson {
        account: AccountJson {
            id: account.id,
            email: account.email.to_string(),
            org_id: account.org_id,
        },
        csrf_token: session.session.csrf_token,
        expires_at: session.session.expires_at,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `POST /api/v1/auth/logout`: ends the session (cookie or member bearer).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "sessions", summary = "Sign out",
    responses((status = 204, description = "The session is over")))]
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

#[derive(Deserialize, utoipa::ToSchema)]
struct OtpStart {
    phone: String,
}

/// `POST /api/v1/auth/otp/start`: always the same answer, so it tells nothing about
/// who is a member.
#[utoipa::path(post, path = "/api/v1/auth/otp/start", tag = "sessions", summary = "Send a member a sign-in code",
    request_body = OtpStart, security(()),
    responses((status = 202, description = "The same answer for every number", body = OtpStartedJson)))]
async fn otp_start(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    JsonBody(body): JsonBody<OtpStart>,
) -> Result<(StatusCode, Json<OtpStartedJson>), ApiError> {
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
        Json(OtpStartedJson {
            status: "sent",
            detail: message,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct OtpVerify {
    phone: String,
    code: String,
}

/// `POST /api/v1/auth/otp/verify`: a member session as a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/otp/verify", tag = "sessions", summary = "Sign in as a member with a code",
    request_body = OtpVerify, security(()),
    responses((status = 200, description = "A member session", body = MemberSessionJson)))]
async fn otp_verify(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    JsonBody(body): JsonBody<OtpVerify>,
) -> Result<Json<MemberSessionJson>, ApiError> {
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
    Ok(Json(MemberSessionJson {
        token: session.secret,
        expires_at: session.session.expires_at,
    }))
}

/// `GET /api/v1/me`: who the caller is; for a member, the orgs they belong to; for a
/// token or an admin, their org's plan.
#[utoipa::path(get, path = "/api/v1/me", tag = "sessions", summary = "Who the caller is",
    responses((status = 200, description = "A token, an admin or a member", body = MeJson)))]
async fn me(State(app): State<App>, signed: Signed) -> Result<Json<MeJson>, ApiError> {
    let plan_of = |org| {
        let app = app.clone();
        blocking(move || Ok(orgs::get_org(&app, org)?.plan))
    };
    let body = match signed.principal {
        Principal::Token(t) => {
            let plan = plan_of(t.org_id).await?;
            MeJson::Token {
                token_id: t.id,
                org_id: t.org_id,
                role: t.role,
                label: t.label,
                plan,
                features: plan.features(),
            }
        }
        Principal::Admin(a) => {
            let plan = plan_of(a.org_id).await?;
            MeJson::Admin {
                account_id: a.id,
                email: a.email.to_string(),
                org_id: a.org_id,
                role: steward_domain::Role::OrgAdmin,
                plan,
                features: plan.features(),
            }
        }
        Principal::Member(phone) => {
            let lookup = phone.clone();
            let users = blocking(move || Ok(security::member_orgs(&app, &lookup)?)).await?;
            let orgs: Vec<_> = users
                .into_iter()
                .map(|u| MemberOrgJson {
                    org_id: u.org_id,
                    name: u.name.as_str().to_owned(),
                })
                .collect();
            MeJson::Member {
                phone: phone.as_str().to_owned(),
                orgs,
            }
        }
    };
    Ok(Json(body))
}
