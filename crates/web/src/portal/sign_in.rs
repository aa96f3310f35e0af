//! Signing in and out of the portal: admins by email and password, members by phone
//! and a one-time code. Both end with the `steward_session` cookie.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use steward_app::{App, security};

use super::session::{blocking, see_other, session_cookie};
use super::{Form, Frame, PageError, PortalSession, SIGN_IN, render};
use crate::auth::Origin;
use crate::state::{Security, WebState};

pub(super) fn router() -> Router<WebState> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-in/phone", get(phone_page).post(send_code))
        .route("/sign-in/code", post(verify_code))
        .route("/sign-out", post(sign_out))
}

/// The sign-in forms' own CSRF token, before there is a session: a random value in a
/// `SameSite=Strict` cookie, echoed in the form. A cross-site form post never carries
/// the cookie, so no other site can sign a visitor in to an account of its choosing.
const SIGN_IN_COOKIE: &str = "steward_signin";

fn sign_in_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SIGN_IN_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sign-in token of this browser, or a new one with the cookie that carries it.
fn token_for(headers: &HeaderMap, security: &Security) -> (String, Option<HeaderValue>) {
    if let Some(token) = sign_in_token(headers) {
        return (token, None);
    }
    let token = new_token();
    let cookie = cookie::Cookie::build((SIGN_IN_COOKIE, token.clone()))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(security.secure_cookies)
        .path("/portal/sign-in")
        .max_age(cookie::time::Duration::hours(12))
        .build();
    (token, HeaderValue::from_str(&cookie.to_string()).ok())
}

/// Refuses a sign-in form whose token does not match this browser's cookie.
fn check_sign_in(headers: &HeaderMap, form: &Form) -> Result<String, PageError> {
    let expected = sign_in_token(headers);
    match (expected, form.get("csrf")) {
        (Some(expected), Some(given)) if expected == given => Ok(expected),
        _ => Err(PageError::Csrf),
    }
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn bare(title: &str, token: &str) -> Frame {
    Frame {
        title: title.to_owned(),
        nav: None,
        csrf: token.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn {
    frame: Frame,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in_phone.html")]
struct SignInPhone {
    frame: Frame,
    phone: String,
    code_sent: bool,
    error: Option<String>,
}

async fn sign_in_page(
    State(security): State<Arc<Security>>,
    session: Option<PortalSession>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if session.is_some() {
        return Ok(see_other("/portal"));
    }
    let (token, cookie) = token_for(&headers, &security);
    let page = render(&SignIn {
        frame: bare("Sign in", &token),
        email: String::new(),
        error: None,
    })?;
    Ok(with_cookie(page, cookie))
}

/// A failed sign-in, shown on the form it came from (401 or 429).
fn refused(e: &PageError) -> Option<(StatusCode, String)> {
    match e {
        PageError::Invalid(errors) => Some((
            StatusCode::UNAUTHORIZED,
            errors
                .iter()
                .map(|e| e.reason.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )),
        PageError::TooManyAttempts(reason) => Some((StatusCode::TOO_MANY_REQUESTS, reason.clone())),
        _ => None,
    }
}

/// The form's answer: a fresh admin session, exactly as `POST /api/v1/auth/login`.
async fn sign_in(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, PageError> {
    let token = check_sign_in(&headers, &form)?;
    let email = form.text("email");
    let password = form.get("password").unwrap_or_default().to_owned();
    let sec = security.clone();
    let login_email = email.clone();
    let result = blocking(move || {
        security::login(
            &app,
            &sec.throttles,
            sec.policy,
            &login_email,
            &password,
            &origin.ip,
            origin.request_id,
        )
    })
    .await;
    match result {
        Ok((_, session)) => Ok(signed_in(&security, session.secret)),
        Err(e) => {
            let Some((status, message)) = refused(&e) else {
                return Err(e);
            };
            let page = render(&SignIn {
                frame: bare("Sign in", &token),
                email,
                error: Some(message),
            })?;
            Ok((status, page).into_response())
        }
    }
}

async fn phone_page(
    State(security): State<Arc<Security>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (token, cookie) = token_for(&headers, &security);
    let page = render(&SignInPhone {
        frame: bare("Sign in with your phone", &token),
        phone: String::new(),
        code_sent: false,
        error: None,
    })?;
    Ok(with_cookie(page, cookie))
}

/// Sends a code (the answer is the same whether or not the phone is a member's).
async fn send_code(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, PageError> {
    let token = check_sign_in(&headers, &form)?;
    let phone = form.text("phone");
    let raw = phone.clone();
    let result = blocking(move || {
        security::start_otp(
            &app,
            security.sms.as_ref(),
            &security.throttles,
            &raw,
            &origin.ip,
        )
    })
    .await;
    let (code_sent, error) = match result {
        Ok(()) => (true, None),
        Err(PageError::Invalid(errors)) => (
            false,
            Some(
                errors
                    .into_iter()
                    .map(|e| e.reason)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        Err(PageError::TooManyAttempts(reason)) => (false, Some(reason)),
        Err(other) => return Err(other),
    };
    render(&SignInPhone {
        frame: bare("Sign in with your phone", &token),
        phone,
        code_sent,
        error,
    })
}

/// Checks the code; the member's session goes into the same cookie as an admin's.
async fn verify_code(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, PageError> {
    let token = check_sign_in(&headers, &form)?;
    let phone = form.text("phone");
    let code = form.text("code");
    let sec = security.clone();
    let raw = phone.clone();
    let result = blocking(move || {
        security::verify_otp(&app, &sec.throttles, sec.policy, &raw, &code, &origin.ip)
    })
    .await;
    match result {
        Ok(session) => Ok(signed_in(&security, session.secret)),
        Err(e) => {
            let Some((status, message)) = refused(&e) else {
                return Err(e);
            };
            let page = render(&SignInPhone {
                frame: bare("Sign in with your phone", &token),
                phone,
                code_sent: true,
                error: Some(message),
            })?;
            Ok((status, page).into_response())
        }
    }
}

/// Ends the session and clears the cookie.
async fn sign_out(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    session: PortalSession,
    form: Form,
) -> Result<Response, PageError> {
    session.check_csrf(form.get("csrf"))?;
    let secret = session.secret.clone();
    blocking(move || security::logout(&app, &secret)).await?;
    let expired = session_cookie(&security, String::new(), chrono::Duration::zero());
    let mut response = see_other(SIGN_IN);
    response.headers_mut().insert(header::SET_COOKIE, expired);
    Ok(response)
}

/// Where a successful sign-in goes: home, with the new session in the cookie.
fn signed_in(security: &Security, secret: String) -> Response {
    let cookie = session_cookie(security, secret, security.policy.absolute);
    let mut response = see_other("/portal");
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}
