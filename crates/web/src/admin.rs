//! API tokens and the audit log of an org.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use steward_app::audit::{self, AuditContext};
use steward_app::{App, AppError, tokens};
use steward_domain::access::{Action, AdminTask};
use steward_domain::content::AuditEvent;
use steward_domain::{ApiToken, Role, TokenId};
use steward_store::{AuditQuery, Page};

use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::{ApiError, blocking};

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

async fn list_tokens(
    caller: Caller,
    State(app): State<App>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    let org = caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ManageTokens))?
        .org;
    Ok(Json(
        blocking(move || Ok(app.store.list_api_tokens(org).map_err(AppError::from)?)).await?,
    ))
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

#[derive(Deserialize)]
struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
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

async fn list_audit(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<AuditParams>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
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
    Ok(Json(
        blocking(move || Ok(app.store.list_audit(org, &query).map_err(AppError::from)?)).await?,
    ))
}
