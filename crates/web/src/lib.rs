//! Steward's HTTP API: axum routes over the use cases of `steward-app`.
//!
//! Every `/api/v1/orgs/{org}/...` route takes the [`auth::Caller`] extractor, which
//! authenticates the caller and finds what they are in that org; an org the caller has
//! no place in answers 404, exactly like one that does not exist. Handlers reach the
//! org only through `Caller::authorize`, the permission matrix. Errors leave as
//! `application/problem+json` (RFC 9457). Responses are the typed structs of [`wire`];
//! the OpenAPI document built from them and the handlers' annotations is served at
//! `GET /api/openapi.json`, and as a page at `GET /api/docs`.

mod admin;
mod application;
mod attributes;
mod auth;
mod content;
mod deletion;
mod error;
mod exports;
mod extract;
mod groups;
mod headers;
mod health;
mod imports;
mod jobs;
mod lifecycle;
mod openapi;
mod portal;
mod run;
mod sessions;
mod state;
mod upload;
mod user_deletions;
mod users;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use steward_app::App;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use application::{Application, ServerConfig, StorageConfig, open_backend};
pub use error::ApiError;
pub use openapi::document as openapi;
pub use state::{Security, WebState};

pub use auth::REQUEST_ID;

/// The whole HTTP surface.
pub fn router(app: App, security: Arc<Security>) -> Router {
    let hsts = security.secure_cookies;
    Router::new()
        .merge(health::router())
        .merge(sessions::router())
        .merge(users::router())
        .merge(lifecycle::router())
        .merge(attributes::router())
        .merge(groups::router())
        .merge(content::router())
        .merge(imports::router())
        .merge(exports::router())
        .merge(jobs::router())
        .merge(user_deletions::router())
        .merge(deletion::router())
        .merge(admin::router())
        .merge(openapi::router())
        .merge(portal::router())
        .fallback(error::not_found)
        .with_state(WebState { app, security })
        .layer(axum::middleware::from_fn_with_state(
            hsts,
            headers::security_headers,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        // Outermost: a caller's id that is not a short printable token is dropped
        // before the layer above keeps it, so a fresh one is made instead.
        .layer(axum::middleware::map_request(drop_unusable_request_id))
}

/// The longest request id accepted from a caller.
pub const MAX_REQUEST_ID: usize = 128;

/// Whether a caller's `x-request-id` may be echoed, logged and stored in the audit log:
/// 1 to [`MAX_REQUEST_ID`] visible ASCII characters (no spaces or control characters).
fn is_usable_request_id(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&value.len()) && value.iter().all(u8::is_ascii_graphic)
}

async fn drop_unusable_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let headers = request.headers_mut();
    let usable = {
        let mut values = headers.get_all(REQUEST_ID).iter();
        // Exactly one value: with several, which one the log shows would be a guess.
        match (values.next(), values.next()) {
            (Some(value), None) => is_usable_request_id(value.as_bytes()),
            (None, _) => true,
            _ => false,
        }
    };
    if !usable {
        headers.remove(REQUEST_ID);
    }
    request
}
