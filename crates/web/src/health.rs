//! Liveness and readiness for load balancers and orchestrators.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use steward_app::App;

use crate::ApiError;

pub fn router() -> Router<crate::state::WebState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the store answers.
async fn readyz(State(app): State<App>) -> Result<&'static str, ApiError> {
    crate::blocking(move || {
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
