//! Groups: the hierarchy, details, mapping to the org, and members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use steward_app::App;
use steward_app::groups::{self, GroupChanges};
use steward_domain::{GroupId, GroupRole};

use crate::ApiError;
use crate::auth::Caller;
use crate::auth::call;
use crate::extract::JsonBody;
use crate::state::WebState;
use crate::wire::UserJson;
use crate::wire::{
    GroupDetailJson, GroupJson, GroupPath, Items, MemberJson, OrgPath, Page, PhonePath,
};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(tree, create, detail, update, members, add_member, remove_member))]
pub(crate) struct Api;

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
#[utoipa::path(get, path = "/api/v1/orgs/{org}/groups", tag = "groups", summary = "The group hierarchy",
    params(OrgPath), responses((status = 200, description = "Every group the caller may see", body = Items<GroupJson>)))]
async fn tree(caller: Caller, State(app): State<App>) -> Result<Json<Items<GroupJson>>, ApiError> {
    let items = call(app, &caller, groups::tree).await?;
    Ok(Json(Items::of(items)))
}

/// A group to create; `org_mapped` defaults to true.
#[derive(Deserialize, utoipa::ToSchema)]
struct NewGroup {
    name: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    parent_id: Option<GroupId>,
    #[serde(default = "yes")]
    #[schema(required = false)]
    org_mapped: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/groups", tag = "groups", summary = "Create a group",
    params(OrgPath), request_body = NewGroup,
    responses((status = 201, description = "The new group", body = GroupJson)))]
async fn create(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewGroup>,
) -> Result<(StatusCode, Json<GroupJson>), ApiError> {
    let group = call(app, &caller, move |app, c| {
        groups::create_group(app, c, &body.name, body.parent_id, body.org_mapped)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/groups/{id}", tag = "groups", summary = "Show a group",
    params(OrgPath, GroupPath),
    responses((status = 200, description = "The group and how many members and admins it has", body = GroupDetailJson)))]
async fn detail(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<GroupDetailJson>, ApiError> {
    let (group, members) = call(app, &caller, move |app, c| {
        groups::group_with_members(app, c, &id)
    })
    .await?;
    let admins = members
        .iter()
        .filter(|(_, r)| *r == GroupRole::Admin)
        .count();
    Ok(Json(GroupDetailJson {
        group: group.into(),
        members: members.len() as u64,
        admins: admins as u64,
    }))
}

/// What a `PATCH .../groups/{id}` may change; the handler reads the body as a map so
/// that `"parent_id": null` (move to the top) differs from leaving it out.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the body in the OpenAPI document only.
struct GroupPatch {
    name: Option<String>,
    /// The new parent, or null for the top of the hierarchy.
    #[schema(value_type = Option<uuid::Uuid>)]
    parent_id: Option<GroupId>,
    org_mapped: Option<bool>,
}

/// `PATCH .../groups/{id}`: `name` (group admins of it), `parent_id` (org admins),
/// `org_mapped` (mapping, per the matrix).
#[utoipa::path(patch, path = "/api/v1/orgs/{org}/groups/{id}", tag = "groups", summary = "Change a group",
    params(OrgPath, GroupPath), request_body = GroupPatch,
    responses((status = 200, description = "The group as changed", body = GroupJson)))]
async fn update(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<serde_json::Map<String, Value>>,
) -> Result<Json<GroupJson>, ApiError> {
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
    Ok(Json(updated.into()))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/groups/{id}/members", tag = "groups", summary = "A group's members",
    params(OrgPath, GroupPath),
    responses((status = 200, description = "Every member, in one page", body = Page<MemberJson>)))]
async fn members(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Page<MemberJson>>, ApiError> {
    let (_, list) = call(app, &caller, move |app, c| {
        groups::group_with_members(app, c, &id)
    })
    .await?;
    let items: Vec<MemberJson> = list
        .into_iter()
        .map(|(user, role)| MemberJson {
            user: UserJson::from(user),
            role,
        })
        .collect();
    Ok(Json(Page {
        total: items.len() as u64,
        items,
        next_cursor: None,
    }))
}

/// A member to add; a phone not yet in the org creates the user (then `name` is needed).
#[derive(Deserialize, utoipa::ToSchema)]
struct NewMember {
    phone: String,
    name: Option<String>,
    #[serde(default = "member")]
    #[schema(schema_with = crate::wire::group_role_schema, required = false)]
    role: String,
}

fn member() -> String {
    "member".into()
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/groups/{id}/members", tag = "groups", summary = "Add a member",
    params(OrgPath, GroupPath), request_body = NewMember,
    responses((status = 201, description = "The member", body = MemberJson)))]
async fn add_member(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<NewMember>,
) -> Result<(StatusCode, Json<MemberJson>), ApiError> {
    let role = GroupRole::parse(&body.role)
        .ok_or_else(|| ApiError::invalid("role", "use member or admin"))?;
    let user = call(app, &caller, move |app, c| {
        groups::add_member(app, c, &id, &body.phone, body.name.as_deref(), role)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberJson {
            user: UserJson::from(user),
            role,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/groups/{id}/members/{phone}", tag = "groups",
    summary = "Remove a member", params(OrgPath, GroupPath, PhonePath),
    responses((status = 204, description = "Removed")))]
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
