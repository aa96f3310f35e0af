//! API tokens and the audit log of an org.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use steward_app::audit::{self, AuditFilter};
use steward_app::{App, tokens};
use steward_domain::ApiToken;
use steward_domain::content::AuditEvent;
use steward_store::Page;

use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::{ApiError, call};

pub fn router() -> Router<WebState> {
    Router::new()
        .route(
            "/api/v1/orgs/{org}/tokens",
            get(list_tokens).post(create_token),
        )
        .route("/api/v1/orgs/{org}/tokens/{id}", delete(revoke_token))
        .route("/api/v1/orgs/{org}/audit", get(list_audit))
}

async fn list_tokens(
    caller: Caller,
    State(app): State<App>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(call(app, &caller, tokens::list_tokens).await?))
}

#[derive(Deserialize)]
struct NewToken {
    #[serde(default = "default_role")]
    role: String,
    #[serde(default)]
    label: String,
    expires_in_days: Option<u32>,
}

fn default_role() -> String {
    "org-admin".into()
}

async fn create_token(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let (token, secret) = call(app, &caller, move |app, c| {
        tokens::issue_token(app, c, &body.role, &body.label, body.expires_in_days)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"token": secret, "id": token.id, "role": token.role, "expires_at": token.expires_at}),
        ),
    ))
}

async fn revoke_token(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    call(app, &caller, move |app, c| {
        tokens::revoke_token(app, c, &id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn list_audit(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<AuditParams>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let filter = AuditFilter {
        actor: params.actor,
        action: params.action,
        from: params.from,
        to: params.to,
        cursor: params.cursor,
        limit: params.limit,
    };
    Ok(Json(
        call(app, &caller, move |app, c| audit::list(app, c, filter)).await?,
    ))
}
