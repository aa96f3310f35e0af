//! Who is calling, and may they do this: the one gate every API route goes through.
//!
//! Credentials, in order: `Authorization: Bearer` with an API token (`stw_...`) or a
//! member session (`sts_...`), else the admin session cookie. A cookie-authenticated
//! write must echo the session's CSRF token in `x-csrf-token`.
//!
//! Org routes take a [`Caller`] and hand it to the use cases of `steward-app`, which
//! reach the org only through `Caller::authorize` (the permission matrix), so no route
//! can skip the check.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Path};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, Method};
use steward_app::security::{self, Principal};
use steward_app::{self as app, App, AppError, tokens};
use steward_domain::{OrgId, Session};

use crate::ApiError;
use crate::run::blocking;
use crate::state::Security;

/// The header that carries a request's id, set by the server unless the caller sent a
/// usable one.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The admin session cookie.
pub const SESSION_COOKIE: &str = "steward_session";
/// The header that must carry the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Where a request came from, for the audit log and throttles.
#[derive(Clone, Debug)]
pub struct Origin {
    pub ip: String,
    pub request_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(
                || "unknown".to_owned(),
                |ConnectInfo(addr)| addr.ip().to_string(),
            );
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Origin { ip, request_id })
    }
}

/// How the caller proved who they are.
#[derive(Clone, Debug)]
pub enum Credential {
    Bearer(String),
    Cookie(String),
}

impl Credential {
    pub fn from_headers(headers: &HeaderMap) -> Option<Credential> {
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|s| s.trim().to_owned());
        bearer
            .map(Credential::Bearer)
            .or_else(|| session_cookie(headers).map(Credential::Cookie))
    }

    pub fn secret(&self) -> &str {
        match self {
            Credential::Bearer(s) | Credential::Cookie(s) => s,
        }
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// A caller whose credential checked out.
#[derive(Clone, Debug)]
pub struct Signed {
    pub principal: Principal,
    pub credential: Credential,
    pub origin: Origin,
    /// The session behind the credential (none for an API token).
    pub session: Option<Session>,
}

impl<S> FromRequestParts<S> for Signed
where
    App: FromRef<S>,
    std::sync::Arc<Security>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = App::from_ref(state);
        let security = std::sync::Arc::<Security>::from_ref(state);
        let origin = Origin::from_request_parts(parts, state).await?;
        let credential =
            Credential::from_headers(&parts.headers).ok_or(AppError::Unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let csrf = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let secret = credential.secret().to_owned();
        let cookie = matches!(credential, Credential::Cookie(_));
        let policy = security.policy;
        let (principal, session) = blocking(move || {
            if secret.starts_with(tokens::TOKEN_PREFIX) && !cookie {
                return Ok((Principal::Token(tokens::authenticate(&app, &secret)?), None));
            }
            let (principal, session) = security::resolve_session(&app, policy, &secret)?;
            if cookie && !safe && csrf.as_deref() != Some(session.csrf_token.as_str()) {
                return Err(AppError::Forbidden(format!(
                    "this change needs the session's CSRF token in the {CSRF_HEADER} header"
                ))
                .into());
            }
            Ok((principal, Some(session)))
        })
        .await?;
        Ok(Signed {
            principal,
            credential,
            origin,
            session,
        })
    }
}

/// A caller in the org named by the `{org}` path segment: the use cases' [`app::Caller`],
/// whose `authorize` is the permission matrix.
#[derive(Debug)]
pub struct Caller {
    pub caller: app::Caller,
    /// How the caller signed in (for use cases that ask them to confirm who they are).
    pub signed: Signed,
}

impl std::ops::Deref for Caller {
    type Target = app::Caller;

    fn deref(&self) -> &app::Caller {
        &self.caller
    }
}

impl<S> FromRequestParts<S> for Caller
where
    App: FromRef<S>,
    std::sync::Arc<Security>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let signed = Signed::from_request_parts(parts, state).await?;
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound("org"))?;
        // A malformed org id, another org's id and a missing org all look the same.
        let org: OrgId = params
            .get("org")
            .and_then(|raw| raw.parse().ok())
            .ok_or(AppError::NotFound("org"))?;
        let app = App::from_ref(state);
        let principal = signed.principal.clone();
        let origin = signed.origin.clone();
        let caller = blocking(move || {
            Ok(security::caller_in(
                &app,
                &principal,
                org,
                origin.request_id,
                Some(origin.ip),
            )?)
        })
        .await?;
        Ok(Caller { caller, signed })
    }
}

/// Runs a use case for the caller off the async executor.
pub async fn call<T: Send + 'static>(
    app: App,
    caller: &Caller,
    work: impl FnOnce(&App, &steward_app::Caller) -> steward_app::AppResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    let caller = caller.caller.clone();
    blocking(move || Ok(work(&app, &caller)?)).await
}
