//! API tokens and the audit log of an org.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use steward_app::audit::{self, AuditContext};
use steward_app::{App, AppError, tokens};
use steward_domain::access::{Action, AdminTask};
use steward_domain::{Role, TokenId};
use steward_store::AuditQuery;

use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::wire::{ApiTokenJson, AuditEventJson, CreatedTokenJson, OrgPath, Page, TokenPath};
use crate::{ApiError, blocking};

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

pub fn audit_context(caller: &Caller) -> AuditContext {
    AuditContext {
        actor: caller.audit_name(),
        request_id: caller.signed.origin.request_id.clone(),
        ip: Some(caller.signed.origin.ip.clone()),
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/tokens", tag = "tokens", summary = "List API tokens",
    params(OrgPath), responses((status = 200, description = "Every token of the org, secrets never shown", body = Vec<ApiTokenJson>)))]
async fn list_tokens(
    caller: Caller,
    State(app): State<App>,
) -> Result<Json<Vec<ApiTokenJson>>, ApiError> {
    let org = caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ManageTokens))?
        .org;
    let tokens =
        blocking(move || Ok(app.store.list_api_tokens(org).map_err(AppError::from)?)).await?;
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
    let org = caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ManageTokens))?
        .org;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::invalid(
            "role",
            format!(
                "{:?} is not a role; use org-admin, group-admin or member",
                body.role
            ),
        )
    })?;
    let ctx = audit_context(&caller);
    let (token, secret) = blocking(move || {
        let expires = body
            .expires_in_days
            .map(|d| app.clock.now() + Duration::days(d.into()));
        let (token, secret) = tokens::create_token(&app, org, role, &body.label, expires)?;
        audit::record(&app, &ctx, org, "token.create", &token.id.to_string(), "ok")?;
        Ok((token, secret))
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
    let org = caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ManageTokens))?
        .org;
    let id: TokenId = id.parse().map_err(|_| AppError::NotFound("token"))?;
    let ctx = audit_context(&caller);
    blocking(move || {
        if !app
            .store
            .revoke_api_token(org, id, app.clock.now())
            .map_err(AppError::from)?
        {
            return Err(AppError::NotFound("token").into());
        }
        audit::record(&app, &ctx, org, "token.revoke", &id.to_string(), "ok")?;
        Ok(())
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

fn time_param(field: &str, raw: Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::invalid(
                    field,
                    format!("{raw:?} is not an RFC 3339 time such as 2026-01-31T09:00:00Z"),
                )
            })
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit", tag = "audit", summary = "The audit log",
    params(OrgPath, AuditParams),
    responses((status = 200, description = "One page of events, newest first", body = Page<AuditEventJson>)))]
async fn list_audit(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<AuditParams>,
) -> Result<Json<Page<AuditEventJson>>, ApiError> {
    let org = caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ViewAudit))?
        .org;
    let query = AuditQuery {
        actor: params.actor,
        action: params.action,
        from: time_param("from", params.from)?,
        to: time_param("to", params.to)?,
        limit: params.limit.unwrap_or(50),
        after: params.cursor,
    };
    let page =
        blocking(move || Ok(app.store.list_audit(org, &query).map_err(AppError::from)?)).await?;
    Ok(Json(page.into()))
}
