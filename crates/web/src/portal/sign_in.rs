//! Signing in and out of the portal: admins by email and password, members by phone
//! and a one-time code. Both end with the `steward_session` cookie.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
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

fn bare(title: &str) -> Frame {
    Frame {
        title: title.to_owned(),
        nav: None,
        csrf: String::new(),
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

async fn sign_in_page(session: Option<PortalSession>) -> Result<Response, PageError> {
    if session.is_some() {
        return Ok(see_other("/portal"));
    }
    render(&SignIn {
        frame: bare("Sign in"),
        email: String::new(),
        error: None,
    })
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
    form: Form,
) -> Result<Response, PageError> {
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
        Ok((_, session)) => {
            let cookie = session_cookie(&security, session.secret, security.policy.absolute);
            let mut response = see_other("/portal");
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(e) => {
            let Some((status, message)) = refused(&e) else {
                return Err(e);
            };
            let page = render(&SignIn {
                frame: bare("Sign in"),
                email,
                error: Some(message),
            })?;
            Ok((status, page).into_response())
        }
    }
}

async fn phone_page() -> Result<Response, PageError> {
    render(&SignInPhone {
        frame: bare("Sign in with your phone"),
        phone: String::new(),
        code_sent: false,
        error: None,
    })
}

/// Sends a code (the answer is the same whether or not the phone is a member's).
async fn send_code(
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    origin: Origin,
    form: Form,
) -> Result<Response, PageError> {
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
        frame: bare("Sign in with your phone"),
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
    form: Form,
) -> Result<Response, PageError> {
    let phone = form.text("phone");
    let code = form.text("code");
    let sec = security.clone();
    let raw = phone.clone();
    let result = blocking(move || {
        security::verify_otp(&app, &sec.throttles, sec.policy, &raw, &code, &origin.ip)
    })
    .await;
    match result {
        Ok(session) => {
            let cookie = session_cookie(&security, session.secret, security.policy.absolute);
            let mut response = see_other("/portal");
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(e) => {
            let Some((status, message)) = refused(&e) else {
                return Err(e);
            };
            let page = render(&SignInPhone {
                frame: bare("Sign in with your phone"),
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
