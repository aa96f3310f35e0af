//! The admin portal: the seed's management portal as server-rendered pages.
//!
//! Pages are typed askama templates (`crates/web/templates/`), escaped by default, and
//! every page calls the same use cases as the JSON API through an [`app::Caller`], so
//! the permission matrix decides here exactly as it does there. Every flow works
//! without JavaScript; one small script (`static/portal.js`) only reloads the import
//! history while a job runs.
//!
//! Sessions: the portal uses the API's `steward_session` cookie (HttpOnly,
//! SameSite=Lax, Secure with `--secure-cookies`). An admin's cookie comes from the
//! same `security::login` as `POST /api/v1/auth/login`; a member's one-time-code
//! session (a bearer secret in the API) is kept in the same cookie, so a member's
//! portal session is also a valid cookie session for the API's GET routes (downloads).
//! Plain HTML forms cannot send the API's `x-csrf-token` header, so every portal POST
//! carries the session's CSRF token in a hidden `csrf` field instead, checked before
//! anything else happens; the sign-in forms check a token from a `SameSite=Strict`
//! cookie the same way. Pages leave with a strict Content-Security-Policy (no inline
//! scripts or styles), `X-Frame-Options: DENY` and `nosniff`.
//!
//! [`app::Caller`]: steward_app::Caller

mod admin;
mod content;
mod exports;
mod frame;
mod groups;
mod imports;
mod lifecycle;
mod session;
mod sign_in;
mod users;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::state::WebState;

pub(crate) use frame::{Frame, Section};
pub(crate) use session::{Form, OrgPage, PageError, PortalSession, render};

/// Where a signed-out visitor lands.
pub(crate) const SIGN_IN: &str = "/portal/sign-in";

/// The portal's routes: `/`, `/portal/...` and its static assets.
pub fn router() -> Router<WebState> {
    let pages = Router::new()
        .merge(sign_in::router())
        .merge(users::router())
        .merge(imports::router())
        .merge(exports::router())
        .merge(groups::router())
        .merge(content::router())
        .merge(admin::router())
        .merge(lifecycle::router())
        .route("/", get(home))
        .fallback(not_found_page)
        .layer(axum::middleware::from_fn(session::error_frame));
    Router::new()
        .route("/", get(root))
        .route("/static/portal.css", get(css))
        .route("/static/portal.js", get(js))
        .nest("/portal", pages)
        .layer(axum::middleware::map_response(page_headers))
}

/// `GET /`: the portal's home when signed in, else its sign-in page.
async fn root(session: Option<PortalSession>) -> Redirect {
    match session {
        Some(_) => Redirect::to("/portal"),
        None => Redirect::to(SIGN_IN),
    }
}

/// `GET /portal`: where a signed-in person starts: an admin's Users page, a member's
/// groups in their org (or the list of their orgs when they belong to several).
async fn home(
    session: PortalSession,
    axum::extract::State(app): axum::extract::State<steward_app::App>,
) -> Result<Response, PageError> {
    session::home(app, session).await
}

/// Any other path under `/portal` is the 404 page, not the API's JSON answer.
async fn not_found_page() -> PageError {
    PageError::NotFound
}

/// The stylesheet and script, compiled in so the binary serves the portal alone.
const CSS: &str = include_str!("../../static/portal.css");
const JS: &str = include_str!("../../static/portal.js");

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// The portal's security headers: no inline scripts or styles, no framing, no MIME
/// sniffing, and pages (which show people's data) never cached.
async fn page_headers(
    request_path: axum::extract::OriginalUri,
    mut response: Response,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !request_path.path().starts_with("/static/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
