//! Groups: the hierarchy, details, mapping to the org, and members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_app::{App, AppError, directory, groups};
use steward_domain::access::{Action, AdminTask, GroupRef};
use steward_domain::group::Group;
use steward_domain::{GroupId, GroupRole, Role};

use crate::admin::audit_context;
use crate::auth::Caller;
use crate::extract::JsonBody;
use crate::state::WebState;
use crate::users::UserJson;
use crate::{ApiError, blocking};

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

fn group_ref(g: &Group) -> GroupRef {
    GroupRef {
        id: g.id,
        org_mapped: g.org_mapped,
    }
}

/// The group of the path, if the caller may see it; otherwise not found.
async fn visible_group(caller: &Caller, app: &App, raw: String) -> Result<Group, ApiError> {
    let org = caller.authorize(&Action::ViewHierarchy)?.org;
    let app = app.clone();
    let group = blocking(move || Ok(groups::get_group(&app, org, &raw)?)).await?;
    if caller
        .authorize(&Action::ViewGroup(group_ref(&group)))
        .is_err()
        && !group.org_mapped
    {
        // Someone else's consumer group does not exist for this caller.
        return Err(AppError::NotFound("group").into());
    }
    Ok(group)
}

/// `GET .../groups`: the hierarchy of org groups, open to everyone in the org; consumer
/// groups appear only to their members and org admins.
async fn tree(caller: Caller, State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let org = caller.authorize(&Action::ViewHierarchy)?.org;
    let all = blocking(move || Ok(app.store.list_groups(org).map_err(AppError::from)?)).await?;
    let org_admin = caller.actor.role == Role::OrgAdmin;
    let items: Vec<Group> = all
        .into_iter()
        .filter(|g| g.org_mapped || org_admin || caller.actor.member_of.contains(&g.id))
        .collect();
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
    let org = caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ManageGroups))?
        .org;
    let ctx = audit_context(&caller);
    let group = blocking(move || {
        Ok(groups::create_group(
            &app,
            &ctx,
            org,
            &body.name,
            body.parent_id,
            body.org_mapped,
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(group)))
}

async fn detail(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let group = visible_group(&caller, &app, id).await?;
    caller.authorize(&Action::ViewGroup(group_ref(&group)))?;
    let (org, gid) = (group.org_id, group.id);
    let members =
        blocking(move || Ok(app.store.group_members(org, gid).map_err(AppError::from)?)).await?;
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
    let group = visible_group(&caller, &app, id).await?;
    let target = group_ref(&group);
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
    let mapped = match body.get("org_mapped") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::invalid("org_mapped", "must be true or false")),
    };
    if name.is_some() {
        caller.authorize(&Action::ManageGroupMembers(target))?;
    }
    if parent.is_some() {
        caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageGroups))?;
    }
    if mapped.is_some() {
        caller.authorize(&Action::ManageOrgMapping(target))?;
    }
    let ctx = audit_context(&caller);
    let updated = blocking(move || {
        Ok(groups::update_group(
            &app,
            &ctx,
            &group,
            name.as_deref(),
            parent,
            mapped,
        )?)
    })
    .await?;
    Ok(Json(updated))
}

async fn members(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let group = visible_group(&caller, &app, id).await?;
    caller.authorize(&Action::ViewGroup(group_ref(&group)))?;
    let list = blocking(move || {
        Ok(app
            .store
            .group_members(group.org_id, group.id)
            .map_err(AppError::from)?)
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
    let group = visible_group(&caller, &app, id).await?;
    caller.authorize(&Action::ManageGroupMembers(group_ref(&group)))?;
    let role = GroupRole::parse(&body.role)
        .ok_or_else(|| ApiError::invalid("role", "use member or admin"))?;
    let ctx = audit_context(&caller);
    let user = blocking(move || {
        Ok(groups::add_member(
            &app,
            &ctx,
            &group,
            &body.phone,
            body.name.as_deref(),
            role,
        )?)
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
    let group = visible_group(&caller, &app, id).await?;
    caller.authorize(&Action::ManageGroupMembers(group_ref(&group)))?;
    let ctx = audit_context(&caller);
    blocking(move || {
        let user = directory::get_user(&app, group.org_id, &phone)?;
        Ok(groups::remove_member(&app, &ctx, &group, &user)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
