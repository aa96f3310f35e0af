//! The users directory.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use serde::Deserialize;
use steward_app::{App, directory};

use crate::ApiError;
use crate::auth::Caller;
use crate::auth::call;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::wire::{OrgPath, Page, PhonePath, UserJson};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/users", get(list).post(create))
        .route("/api/v1/orgs/{org}/users/{phone}", get(show).patch(update))
}

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, show, update))]
pub(crate) struct Api;

/// `GET .../users?limit=&cursor=&q=&sort=&columns=&filter.<key>=<value>`
#[utoipa::path(get, path = "/api/v1/orgs/{org}/users", tag = "users",
    summary = "List users",
    description = "Group admins see the users of the groups they administer. \
        `filter.<attribute key>=<value>` (repeatable) keeps users whose attribute has that value.",
    params(OrgPath,
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 50)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
        ("q" = Option<String>, Query, description = "Search by name or phone"),
        ("sort" = Option<String>, Query, description = "phone, -phone, name or -name"),
        ("columns" = Option<String>, Query, description = "Up to 4 attribute keys, comma-separated: the attributes shown"),
    ),
    responses((status = 200, description = "One page of users", body = Page<UserJson>)))]
async fn list(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<Vec<(String, String)>>,
) -> Result<Json<Page<UserJson>>, ApiError> {
    let page = call(app, &caller, move |app, c| {
        directory::list_users(app, c, &params)
    })
    .await?;
    Ok(Json(Page {
        items: page.items.into_iter().map(UserJson::from).collect(),
        next_cursor: page.next_cursor,
        total: page.total,
    }))
}

/// A user to create.
#[derive(Deserialize, utoipa::ToSchema)]
struct NewUser {
    /// In E.164, or national for the org's region.
    phone: String,
    name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: serde_json::Map<String, serde_json::Value>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/users", tag = "users", summary = "Create a user",
    params(OrgPath), request_body = NewUser,
    responses((status = 201, description = "The new user", body = UserJson)))]
async fn create(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<UserJson>), ApiError> {
    let user = call(app, &caller, move |app, c| {
        directory::create_user(app, c, &body.phone, &body.name, &body.attributes)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/users/{phone}", tag = "users", summary = "Show a user",
    params(OrgPath, PhonePath), responses((status = 200, description = "The user", body = UserJson)))]
async fn show(
    caller: Caller,
    State(app): State<App>,
    Path((_, phone)): Path<(String, String)>,
) -> Result<Json<UserJson>, ApiError> {
    let (user, _) = call(app, &caller, move |app, c| {
        directory::get_user(app, c, &phone)
    })
    .await?;
    Ok(Json(user.into()))
}

/// What to change; attributes not named are kept, and `null` removes one.
#[derive(Deserialize, utoipa::ToSchema)]
struct UserPatch {
    name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: serde_json::Map<String, serde_json::Value>,
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org}/users/{phone}", tag = "users", summary = "Change a user",
    params(OrgPath, PhonePath), request_body = UserPatch,
    responses((status = 200, description = "The user as changed", body = UserJson)))]
async fn update(
    caller: Caller,
    State(app): State<App>,
    Path((_, phone)): Path<(String, String)>,
    JsonBody(body): JsonBody<UserPatch>,
) -> Result<Json<UserJson>, ApiError> {
    let updated = call(app, &caller, move |app, c| {
        directory::update_user(app, c, &phone, body.name.as_deref(), &body.attributes)
    })
    .await?;
    Ok(Json(updated.into()))
}
