//! The org's attribute schema.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_app::{App, AppError, directory};
use steward_domain::AttributeDef;
use steward_domain::access::{Action, AdminTask};

use crate::admin::audit_context;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::{ApiError, blocking};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/attributes", get(show).put(replace))
        .route(
            "/api/v1/orgs/{org}/attributes/suggestions",
            get(suggestions),
        )
}

async fn show(caller: Caller, State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let org = caller.authorize(&Action::ViewUsers)?.org;
    let defs = blocking(move || Ok(app.store.attribute_defs(org).map_err(AppError::from)?)).await?;
    Ok(Json(json!({"attributes": defs})))
}

async fn suggestions(caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageAttributes))?;
    Ok(Json(
        json!({"attributes": directory::suggested_attributes()}),
    ))
}

#[derive(Deserialize)]
struct Schema {
    attributes: Vec<AttributeDef>,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize)]
struct ForceParam {
    #[serde(default)]
    force: bool,
}

/// `PUT .../attributes {"attributes": [...], "force": false}`: the whole list.
async fn replace(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<ForceParam>,
    JsonBody(body): JsonBody<Schema>,
) -> Result<Json<Value>, ApiError> {
    let org = caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ManageAttributes))?
        .org;
    let ctx = audit_context(&caller);
    let force = body.force || params.force;
    let defs = blocking(move || {
        Ok(directory::save_schema(
            &app,
            &ctx,
            org,
            body.attributes,
            force,
        )?)
    })
    .await?;
    Ok(Json(json!({"attributes": defs})))
}
