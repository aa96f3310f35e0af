//! The org's attribute schema.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use steward_app::{App, directory};
use steward_domain::AttributeDef;

use crate::ApiError;
use crate::auth::Caller;
use crate::auth::call;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::wire::{AttributeDefJson, AttributesJson, OrgPath};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(show, suggestions, replace))]
pub(crate) struct Api;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/attributes", get(show).put(replace))
        .route(
            "/api/v1/orgs/{org}/attributes/suggestions",
            get(suggestions),
        )
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/attributes", tag = "attributes",
    summary = "The org's attribute schema", params(OrgPath),
    responses((status = 200, description = "The whole list", body = AttributesJson)))]
async fn show(caller: Caller, State(app): State<App>) -> Result<Json<AttributesJson>, ApiError> {
    let defs = call(app, &caller, directory::attribute_schema).await?;
    Ok(Json(AttributesJson::of(defs)))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/attributes/suggestions", tag = "attributes",
    summary = "Suggested attributes to pick from", params(OrgPath),
    responses((status = 200, description = "The suggestions", body = AttributesJson)))]
async fn suggestions(caller: Caller) -> Result<Json<AttributesJson>, ApiError> {
    Ok(Json(AttributesJson::of(directory::attribute_suggestions(
        &caller,
    )?)))
}

/// The whole new schema; `force` applies a change that removes or retypes values.
#[derive(Deserialize, utoipa::ToSchema)]
struct Schema {
    #[schema(value_type = Vec<AttributeDefJson>)]
    attributes: Vec<AttributeDef>,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ForceParam {
    /// Apply a change that removes or retypes existing values.
    #[serde(default)]
    force: bool,
}

/// `PUT .../attributes {"attributes": [...], "force": false}`: the whole list.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/attributes", tag = "attributes",
    summary = "Replace the attribute schema", params(OrgPath, ForceParam), request_body = Schema,
    responses((status = 200, description = "The schema as saved", body = AttributesJson)))]
async fn replace(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<ForceParam>,
    JsonBody(body): JsonBody<Schema>,
) -> Result<Json<AttributesJson>, ApiError> {
    let force = body.force || params.force;
    let defs = call(app, &caller, move |app, c| {
        directory::save_schema(app, c, body.attributes, force)
    })
    .await?;
    Ok(Json(AttributesJson::of(defs)))
}
