//! The users directory.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_app::App;
use steward_domain::User;
use steward_domain::access::Action;
use steward_store::{Page, UserQuery};

use crate::auth::Caller;
use crate::state::WebState;
use crate::{ApiError, blocking};

pub fn router() -> Router<WebState> {
    Router::new().route("/api/v1/orgs/{org}/users", get(list))
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

#[derive(Deserialize)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
    q: Option<String>,
}

/// The default and largest page sizes.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 1000;

async fn list(
    caller: Caller,
    State(app): State<App>,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<UserJson>>, ApiError> {
    let org = caller.authorize(&Action::ViewUsers)?.org;
    // Group admins see the users of the groups they administer.
    let in_groups = (caller.actor.role != steward_domain::Role::OrgAdmin)
        .then(|| caller.actor.admin_of.iter().copied().collect());
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!("{raw:?} is not a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let query = UserQuery {
        limit,
        after: params.cursor,
        search: params.q,
        include_deleted: false,
        in_groups,
    };
    let page = blocking(move || {
        Ok(app
            .store
            .list_users(org, &query)
            .map_err(steward_app::AppError::from)?)
    })
    .await?;
    Ok(Json(Page {
        items: page.items.into_iter().map(UserJson::from).collect(),
        next_cursor: page.next_cursor,
        total: page.total,
    }))
}
