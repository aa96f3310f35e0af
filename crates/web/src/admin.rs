//! API tokens and the audit log of an org.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use steward_app::audit::{self, AuditFilter};
use steward_app::{App, tokens};

use crate::ApiError;
use crate::auth::Caller;
use crate::auth::call;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::wire::{ApiTokenJson, AuditEventJson, CreatedTokenJson, OrgPath, Page, TokenPath};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_tokens, create_token, revoke_token, list_audit))]
pub(crate) struct Api;

pub fn router() -> Router<WebState> {
    Router::new()
        .route(
            "/api/v1/orgs/{org}/tokens",
            get(list_tokens).post(create_token),
        )
        .route("/api/v1/orgs/{org}/tokens/{id}", delete(revoke_token))
        .route("/api/v1/orgs/{org}/audit", get(list_audit))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/tokens", tag = "tokens", summary = "List API tokens",
    params(OrgPath), responses((status = 200, description = "Every token of the org, secrets never shown", body = Vec<ApiTokenJson>)))]
async fn list_tokens(
    caller: Caller,
    State(app): State<App>,
) -> Result<Json<Vec<ApiTokenJson>>, ApiError> {
    let tokens = call(app, &caller, tokens::list_tokens).await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

/// A token to create.
#[derive(Deserialize, utoipa::ToSchema)]
struct NewToken {
    #[serde(default = "default_role")]
    #[schema(schema_with = crate::wire::role_schema, required = false)]
    role: String,
    #[serde(default)]
    label: String,
    expires_in_days: Option<u32>,
}

fn default_role() -> String {
    "org-admin".into()
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/tokens", tag = "tokens", summary = "Create an API token",
    params(OrgPath), request_body = NewToken,
    responses((status = 201, description = "The token, with its secret shown this once", body = CreatedTokenJson)))]
async fn create_token(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<CreatedTokenJson>), ApiError> {
    let (token, secret) = call(app, &caller, move |app, c| {
        tokens::issue_token(app, c, &body.role, &body.label, body.expires_in_days)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenJson {
            token: secret,
            id: token.id,
            role: token.role,
            expires_at: token.expires_at,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/tokens/{id}", tag = "tokens", summary = "Revoke an API token",
    params(OrgPath, TokenPath), responses((status = 204, description = "Revoked")))]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// Only this actor's events (`token:<id>`, `account:<id>`, `user:<phone>`, `cli`).
    actor: Option<String>,
    /// Only this action, e.g. `user.create`.
    action: Option<String>,
    /// From this RFC 3339 time on.
    from: Option<String>,
    /// Before this RFC 3339 time.
    to: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (default 50).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit", tag = "audit", summary = "The audit log",
    params(OrgPath, AuditParams),
    responses((status = 200, description = "One page of events, newest first", body = Page<AuditEventJson>)))]
async fn list_audit(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<AuditParams>,
) -> Result<Json<Page<AuditEventJson>>, ApiError> {
    let filter = AuditFilter {
        actor: params.actor,
        action: params.action,
        from: params.from,
        to: params.to,
        cursor: params.cursor,
        limit: params.limit,
    };
    let page = call(app, &caller, move |app, c| audit::list(app, c, filter)).await?;
    Ok(Json(page.into()))
}
