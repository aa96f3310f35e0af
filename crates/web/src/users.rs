//! The users directory.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_app::{App, AppError, FieldError, directory};
use steward_domain::access::Action;
use steward_domain::{AttributeValue, GroupId, OrgId, User};
use steward_store::{UserQuery, UserSort};

use crate::admin::audit_context;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::wire::{OrgPath, Page, PhonePath};
use crate::{ApiError, blocking};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/users", get(list).post(create))
        .route("/api/v1/orgs/{org}/users/{phone}", get(show).patch(update))
}

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, show, update))]
pub(crate) struct Api;

/// A user as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserJson {
    #[schema(example = "+14155550123")]
    phone: String,
    name: String,
    #[schema(schema_with = crate::wire::user_status_schema)]
    status: &'static str,
    #[schema(schema_with = crate::wire::user_source_schema)]
    source: &'static str,
    /// By attribute key: string, number, yes/no as a boolean, or an RFC 3339 time.
    #[schema(value_type = Object)]
    attributes: serde_json::Map<String, serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    deleted_at: Option<DateTime<Utc>>,
}

impl From<User> for UserJson {
    fn from(u: User) -> UserJson {
        UserJson {
            phone: u.phone.as_str().to_owned(),
            name: u.name.as_str().to_owned(),
            status: u.status.as_str(),
            source: u.source.as_str(),
            attributes: u
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_json()))
                .collect(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            deleted_at: u.deleted_at,
        }
    }
}

/// The default and largest page sizes, and how many attribute columns a list shows.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 1000;
const MAX_COLUMNS: usize = 4;

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
    let org = caller.authorize(&Action::ViewUsers)?.org;
    // Group admins see the users of the groups they administer.
    let in_groups = (caller.actor.role != steward_domain::Role::OrgAdmin)
        .then(|| caller.actor.admin_of.iter().copied().collect());
    let defs = {
        let app = app.clone();
        blocking(move || Ok(app.store.attribute_defs(org).map_err(AppError::from)?)).await?
    };
    let mut query = UserQuery {
        limit: DEFAULT_LIMIT,
        in_groups,
        ..UserQuery::default()
    };
    let mut columns: Option<Vec<String>> = None;
    let mut errors = Vec::new();
    for (name, raw) in params {
        match name.as_str() {
            "limit" => match raw.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)) {
                Some(n) => query.limit = n,
                None => errors.push(FieldError::new(
                    "limit",
                    format!("{raw:?} is not a whole number from 1 to {MAX_LIMIT}"),
                )),
            },
            "cursor" => query.after = Some(raw),
            "q" => query.search = Some(raw),
            "sort" => match raw.as_str() {
                "phone" => query.sort = UserSort::Phone,
                "-phone" => query.sort = UserSort::PhoneDesc,
                "name" => query.sort = UserSort::Name,
                "-name" => query.sort = UserSort::NameDesc,
                _ => errors.push(FieldError::new("sort", "use phone, -phone, name or -name")),
            },
            "columns" => {
                let keys: Vec<String> = raw
                    .split(',')
                    .map(|k| k.trim().to_owned())
                    .filter(|k| !k.is_empty())
                    .collect();
                if keys.len() > MAX_COLUMNS {
                    errors.push(FieldError::new(
                        "columns",
                        format!("choose at most {MAX_COLUMNS} attribute columns"),
                    ));
                }
                for key in keys
                    .iter()
                    .filter(|k| !defs.iter().any(|d| d.key.as_str() == k.as_str()))
                {
                    errors.push(FieldError::new(
                        "columns",
                        format!("{key:?} is not an attribute of this org"),
                    ));
                }
                columns = Some(keys);
            }
            other => match other.strip_prefix("filter.") {
                Some(key) => match defs.iter().find(|d| d.key.as_str() == key) {
                    Some(def) => match AttributeValue::parse(def.ty, &raw) {
                        Ok(Some(value)) => query.attribute_filters.push((def.key.clone(), value)),
                        Ok(None) => {
                            errors.push(FieldError::new(other, "give a value to filter by"))
                        }
                        Err(e) => errors.push(FieldError::new(other, e)),
                    },
                    None => errors.push(FieldError::new(
                        other,
                        format!("{key:?} is not an attribute of this org"),
                    )),
                },
                None => errors.push(FieldError::new(
                    other,
                    "unknown parameter; use limit, cursor, q, sort, columns or filter.<attribute>",
                )),
            },
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors).into());
    }
    let page =
        blocking(move || Ok(app.store.list_users(org, &query).map_err(AppError::from)?)).await?;
    let items = page
        .items
        .into_iter()
        .map(|user| {
            let mut json = UserJson::from(user);
            if let Some(columns) = &columns {
                json.attributes.retain(|k, _| columns.contains(k));
            }
            json
        })
        .collect();
    Ok(Json(Page {
        items,
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
    let org = caller
        .authorize(&Action::ManageUser { groups: Vec::new() })?
        .org;
    let ctx = audit_context(&caller);
    let user = blocking(move || {
        Ok(directory::create_user(
            &app,
            &ctx,
            org,
            &body.phone,
            &body.name,
            &body.attributes,
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Finds the user of the path for this caller: a group admin sees only the users of
/// the groups they administer; anyone else is not found.
async fn visible_user(
    caller: &Caller,
    app: &App,
    raw: String,
) -> Result<(OrgId, User, Vec<GroupId>), ApiError> {
    let org = caller.authorize(&Action::ViewUsers)?.org;
    let app = app.clone();
    let (user, groups) = blocking(move || {
        let user = directory::get_user(&app, org, &raw)?;
        let groups = directory::groups_of(&app, org, &user)?;
        Ok((user, groups))
    })
    .await?;
    let sees_all = caller.actor.role == steward_domain::Role::OrgAdmin;
    if !sees_all && !groups.iter().any(|g| caller.actor.admin_of.contains(g)) {
        return Err(AppError::NotFound("user").into());
    }
    Ok((org, user, groups))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/users/{phone}", tag = "users", summary = "Show a user",
    params(OrgPath, PhonePath), responses((status = 200, description = "The user", body = UserJson)))]
async fn show(
    caller: Caller,
    State(app): State<App>,
    Path((_, phone)): Path<(String, String)>,
) -> Result<Json<UserJson>, ApiError> {
    let (_, user, _) = visible_user(&caller, &app, phone).await?;
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
    let (org, user, groups) = visible_user(&caller, &app, phone).await?;
    caller.authorize(&Action::ManageUser { groups })?;
    let ctx = audit_context(&caller);
    let updated = blocking(move || {
        Ok(directory::update_user(
            &app,
            &ctx,
            org,
            &user,
            body.name.as_deref(),
            &body.attributes,
        )?)
    })
    .await?;
    Ok(Json(updated.into()))
}
