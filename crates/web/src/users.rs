//! The users directory.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_app::{App, directory};
use steward_domain::User;
use steward_store::Page;

use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::{ApiError, call};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/users", get(list).post(create))
        .route("/api/v1/orgs/{org}/users/{phone}", get(show).patch(update))
}

/// A user as the API shows it.
#[derive(Serialize)]
pub struct UserJson {
    phone: String,
    name: String,
    status: &'static str,
    source: &'static str,
    attributes: serde_json::Map<String, serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// `GET .../users?limit=&cursor=&q=&sort=&columns=&filter.<key>=<value>`
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

#[derive(Deserialize)]
struct NewUser {
    phone: String,
    name: String,
    #[serde(default)]
    attributes: serde_json::Map<String, serde_json::Value>,
}

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

#[derive(Deserialize)]
struct UserPatch {
    name: Option<String>,
    #[serde(default)]
    attributes: serde_json::Map<String, serde_json::Value>,
}

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
