//! Liveness and readiness for load balancers and orchestrators.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use steward_app::App;

use crate::ApiError;

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz))]
pub(crate) struct Api;

pub fn router() -> Router<crate::state::WebState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", summary = "Liveness", security(()),
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "health", summary = "Readiness", security(()),
    responses((status = 200, description = "`ready`", content_type = "text/plain", body = String),
        (status = 503, description = "The store does not answer", content_type = "application/problem+json", body = crate::error::Problem)))]
async fn readyz(State(app): State<App>) -> Result<&'static str, ApiError> {
    crate::run::blocking(move || {
        app.ping().map_err(|e| {
            tracing::warn!(error = %e, "store not ready");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready",
                "the store does not answer",
            )
        })
    })
    .await?;
    Ok("ready")
}
