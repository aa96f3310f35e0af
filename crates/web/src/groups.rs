//! Groups: the hierarchy, details, mapping to the org, and members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_app::App;
use steward_app::groups::{self, GroupChanges};
use steward_domain::group::Group;
use steward_domain::{GroupId, GroupRole};

use crate::auth::Caller;
use crate::extract::JsonBody;
use crate::state::WebState;
use crate::users::UserJson;
use crate::{ApiError, call};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/groups", get(tree).post(create))
        .route("/api/v1/orgs/{org}/groups/{id}", get(detail).patch(update))
        .route(
            "/api/v1/orgs/{org}/groups/{id}/members",
            get(members).post(add_member),
        )
        .route(
            "/api/v1/orgs/{org}/groups/{id}/members/{phone}",
            delete(remove_member),
        )
}

/// `GET .../groups`: the hierarchy of org groups, open to everyone in the org; consumer
/// groups appear only to their members and org admins.
async fn tree(caller: Caller, State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let items = call(app, &caller, groups::tree).await?;
    Ok(Json(json!({"items": items, "total": items.len()})))
}

#[derive(Deserialize)]
struct NewGroup {
    name: String,
    parent_id: Option<GroupId>,
    #[serde(default = "yes")]
    org_mapped: bool,
}

fn yes() -> bool {
    true
}

async fn create(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewGroup>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let group = call(app, &caller, move |app, c| {
        groups::create_group(app, c, &body.name, body.parent_id, body.org_mapped)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(group)))
}

async fn detail(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (group, members) = call(app, &caller, move |app, c| {
        groups::group_with_members(app, c, &id)
    })
    .await?;
    let admins = members
        .iter()
        .filter(|(_, r)| *r == GroupRole::Admin)
        .count();
    Ok(Json(
        json!({"group": group, "members": members.len(), "admins": admins}),
    ))
}

/// `PATCH .../groups/{id}`: `name` (group admins of it), `parent_id` (org admins),
/// `org_mapped` (mapping, per the matrix).
async fn update(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<serde_json::Map<String, Value>>,
) -> Result<Json<Group>, ApiError> {
    let name = match body.get("name") {
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(ApiError::invalid("name", "must be a string")),
        None => None,
    };
    let parent = match body.get("parent_id") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(raw)) => {
            Some(Some(raw.parse::<GroupId>().map_err(|_| {
                ApiError::invalid("parent_id", "not a group id")
            })?))
        }
        Some(_) => return Err(ApiError::invalid("parent_id", "must be a group id or null")),
    };
    let org_mapped = match body.get("org_mapped") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::invalid("org_mapped", "must be true or false")),
    };
    let changes = GroupChanges {
        name,
        parent,
        org_mapped,
    };
    let updated = call(app, &caller, move |app, c| {
        groups::update_group(app, c, &id, changes)
    })
    .await?;
    Ok(Json(updated))
}

async fn members(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, list) = call(app, &caller, move |app, c| {
        groups::group_with_members(app, c, &id)
    })
    .await?;
    let items: Vec<Value> = list
        .into_iter()
        .map(|(user, role)| json!({"user": UserJson::from(user), "role": role}))
        .collect();
    Ok(Json(
        json!({"items": items, "total": items.len(), "next_cursor": null}),
    ))
}

#[derive(Deserialize)]
struct NewMember {
    phone: String,
    name: Option<String>,
    #[serde(default = "member")]
    role: String,
}

fn member() -> String {
    "member".into()
}

async fn add_member(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<NewMember>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let role = GroupRole::parse(&body.role)
        .ok_or_else(|| ApiError::invalid("role", "use member or admin"))?;
    let user = call(app, &caller, move |app, c| {
        groups::add_member(app, c, &id, &body.phone, body.name.as_deref(), role)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": UserJson::from(user), "role": role})),
    ))
}

async fn remove_member(
    caller: Caller,
    State(app): State<App>,
    Path((_, id, phone)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    call(app, &caller, move |app, c| {
        groups::remove_member(app, c, &id, &phone)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
