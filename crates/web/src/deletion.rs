//! "Delete company data": `POST /api/v1/orgs/{org}/deletion` deletes the org (org
//! admins, with the org's name and their password or a fresh code), and
//! `GET .../deletion` shows what would block a deletion, or, with the status key the
//! request answered, the deletion's progress and then its receipt.
//!
//! Every session and token of the org ends the moment the deletion begins, the
//! requester's too: the status key is how they follow it.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use steward_app::org_deletion::{self, DeletionRequest, STATUS_KEY_PREFIX};
use steward_app::security::{Proof, Reconfirm};
use steward_app::{App, AppError};
use steward_domain::OrgId;

use crate::ApiError;
use crate::auth::{Caller, call};
use crate::extract::JsonBody;
use crate::run::blocking;
use crate::state::{Security, WebState};
use crate::wire::{DeletionReadinessJson, DeletionStartedJson, OrgDeletionJson, OrgPath};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(request, status))]
pub(crate) struct Api;

pub fn router() -> Router<WebState> {
    Router::new().route("/api/v1/orgs/{org}/deletion", get(status).post(request))
}

/// A request to delete the org and everything it holds.
#[derive(Deserialize, utoipa::ToSchema)]
struct DeleteOrgBody {
    /// The org's name, typed again exactly as shown.
    confirm_name: String,
    /// Delete without a tenant export from the last 24 hours.
    #[serde(default)]
    #[schema(required = false)]
    skip_final_export: bool,
    /// An admin's password, to confirm who asks.
    #[schema(required = false)]
    password: Option<String>,
    /// A member's new one-time code (not needed within 5 minutes of signing in with one).
    #[schema(required = false)]
    code: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/deletion", tag = "deletion", summary = "Delete company data",
    description = "Org admins only. Checks the org's name, the caller's password (or a fresh one-time code), that no job is queued or running (409 listing them with how to cancel each) and that a tenant export finished in the last 24 hours (or `skip_final_export`). Then every session and token of the org ends, its connectors go, and a background job removes the rest. Irreversible.",
    params(OrgPath), request_body = DeleteOrgBody,
    responses((status = 202, description = "The deletion has begun; follow it with the status key", body = DeletionStartedJson)))]
async fn request(
    caller: Caller,
    State(app): State<App>,
    State(security): State<Arc<Security>>,
    JsonBody(body): JsonBody<DeleteOrgBody>,
) -> Result<(StatusCode, Json<DeletionStartedJson>), ApiError> {
    let signed = caller.signed.clone();
    let started = call(app, &caller, move |app, c| {
        let given = Reconfirm {
            password: body.password,
            code: body.code,
        };
        let proof = Proof::Signed {
            principal: &signed.principal,
            session: signed.session.as_ref(),
            given: &given,
            throttles: &security.throttles,
            ip: &signed.origin.ip,
        };
        let request = DeletionRequest {
            confirm_name: body.confirm_name,
            skip_final_export: body.skip_final_export,
        };
        org_deletion::request(app, c, proof, &request)
    })
    .await?;
    let org = started.status.receipt.org_id;
    Ok((
        StatusCode::ACCEPTED,
        Json(DeletionStartedJson {
            deletion: OrgDeletionJson::from(&started.status),
            status_key: started.status_key,
            status_url: format!("/api/v1/orgs/{org}/deletion"),
        }),
    ))
}

/// Either answer of `GET .../deletion`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum DeletionStatusJson {
    Deletion(OrgDeletionJson),
    NotRequested(DeletionReadinessJson),
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/deletion", tag = "deletion", summary = "The deletion's status or receipt",
    description = "With `Authorization: Bearer <status_key>` (answered by the deletion request): the deletion's progress, its log, and once done its receipt; this works after every credential of the org has ended. With an org admin's credential, before any deletion: what would block one now.",
    params(OrgPath),
    responses((status = 200, description = "The deletion, or what would block one", body = DeletionStatusJson)))]
async fn status(
    State(state): State<WebState>,
    Path(raw_org): Path<String>,
    request: Request,
) -> Result<Json<DeletionStatusJson>, ApiError> {
    let (mut parts, _) = request.into_parts();
    let key = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|key| key.starts_with(STATUS_KEY_PREFIX))
        .map(str::to_owned);
    if let Some(key) = key {
        let org: OrgId = raw_org
            .parse()
            .map_err(|_| AppError::NotFound("deletion"))?;
        let app = state.app.clone();
        let status = blocking(move || Ok(org_deletion::status_by_key(&app, org, &key)?)).await?;
        return Ok(Json(DeletionStatusJson::Deletion(OrgDeletionJson::from(
            &status,
        ))));
    }
    let caller = Caller::from_request_parts(&mut parts, &state).await?;
    let readiness = call(state.app.clone(), &caller, org_deletion::readiness).await?;
    Ok(Json(DeletionStatusJson::NotRequested(
        DeletionReadinessJson {
            status: "not_requested",
            pending_jobs: readiness.pending_jobs.iter().map(Into::into).collect(),
            final_export_at: readiness.final_export_at,
        },
    )))
}
