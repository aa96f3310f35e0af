//! The org's attribute schema.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_app::{App, directory};
use steward_domain::AttributeDef;

use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::{ApiError, call};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/attributes", get(show).put(replace))
        .route(
            "/api/v1/orgs/{org}/attributes/suggestions",
            get(suggestions),
        )
}

async fn show(caller: Caller, State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let defs = call(app, &caller, directory::attribute_schema).await?;
    Ok(Json(json!({"attributes": defs})))
}

async fn suggestions(caller: Caller) -> Result<Json<Value>, ApiError> {
    let defs = directory::attribute_suggestions(&caller)?;
    Ok(Json(json!({"attributes": defs})))
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
    let force = body.force || params.force;
    let defs = call(app, &caller, move |app, c| {
        directory::save_schema(app, c, body.attributes, force)
    })
    .await?;
    Ok(Json(json!({"attributes": defs})))
}
