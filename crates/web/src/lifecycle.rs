//! Deleting, restoring and purging users; legal holds; deletion receipts; the purge
//! window.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use steward_app::{App, lifecycle};

use crate::ApiError;
use crate::auth::{Caller, call};
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::wire::{
    DeletedUserJson, HoldJson, HoldPath, JobJson, LifecycleSettingsJson, OrgPath, Page, PhonePath,
    ReceiptJson, UserJson,
};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/v1/orgs/{org}/users/{phone}", delete(delete_user))
        .route("/api/v1/orgs/{org}/users/{phone}/restore", post(restore))
        .route("/api/v1/orgs/{org}/users/{phone}/purge", post(purge))
        .route("/api/v1/orgs/{org}/deleted-users", get(deleted_users))
        .route("/api/v1/orgs/{org}/holds", get(holds).post(add_hold))
        .route("/api/v1/orgs/{org}/holds/{id}", delete(remove_hold))
        .route("/api/v1/orgs/{org}/deletion-receipts", get(receipts))
        .route(
            "/api/v1/orgs/{org}/settings/lifecycle",
            get(settings).put(put_settings),
        )
}

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    delete_user,
    restore,
    purge,
    deleted_users,
    holds,
    add_hold,
    remove_hold,
    receipts,
    settings,
    put_settings
))]
pub(crate) struct Api;

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/users/{phone}", tag = "lifecycle",
    summary = "Delete a user",
    description = "Org admins. The user turns `deleted`, leaves every org-mapped group, loses \
        access to the org at once, and their messages, attachments, actions, responses and \
        publications in org groups drop out of every read. Restorable until `purge_after`.",
    params(OrgPath, PhonePath),
    responses((status = 200, description = "The deleted user", body = DeletedUserJson)))]
async fn delete_user(
    caller: Caller,
    State(app): State<App>,
    Path((_, phone)): Path<(String, String)>,
) -> Result<Json<DeletedUserJson>, ApiError> {
    let deleted = call(app, &caller, move |app, c| {
        lifecycle::delete(app, c, &phone)
    })
    .await?;
    Ok(Json(deleted.into()))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/users/{phone}/restore", tag = "lifecycle",
    summary = "Restore a deleted user",
    description = "Brings back the user, their attributes, memberships with roles, and content \
        exactly as before. Refused (409) once a purge has begun.",
    params(OrgPath, PhonePath),
    responses((status = 200, description = "The restored user", body = UserJson)))]
async fn restore(
    caller: Caller,
    State(app): State<App>,
    Path((_, phone)): Path<(String, String)>,
) -> Result<Json<UserJson>, ApiError> {
    let user = call(app, &caller, move |app, c| {
        lifecycle::restore_user(app, c, &phone)
    })
    .await?;
    Ok(Json(user.into()))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/users/{phone}/purge", tag = "lifecycle",
    summary = "Delete a deleted user permanently now",
    description = "Queues the purge of one deleted user at once, inside the window. Refused \
        (409) while a legal hold covers them. Asking again gives back the same job.",
    params(OrgPath, PhonePath),
    responses((status = 202, description = "The purge job", body = JobJson)))]
async fn purge(
    caller: Caller,
    State(app): State<App>,
    Path((_, phone)): Path<(String, String)>,
) -> Result<(StatusCode, Json<JobJson>), ApiError> {
    let job = call(app, &caller, move |app, c| {
        lifecycle::purge_now(app, c, &phone)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/deleted-users", tag = "lifecycle",
    summary = "List deleted users",
    description = "Who was deleted, when, by whom, when the purge is due, whether a hold \
        covers them, and what the purge will remove (rows per kind).",
    params(OrgPath),
    responses((status = 200, description = "The deleted users, oldest deletion first", body = Page<DeletedUserJson>)))]
async fn deleted_users(
    caller: Caller,
    State(app): State<App>,
) -> Result<Json<Page<DeletedUserJson>>, ApiError> {
    let users = call(app, &caller, lifecycle::deleted_users).await?;
    Ok(Json(whole(users)))
}

/// A whole list as one page.
fn whole<T, U: Into<T>>(items: Vec<U>) -> Page<T> {
    Page {
        total: items.len() as u64,
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/holds", tag = "lifecycle",
    summary = "List legal holds", params(OrgPath),
    responses((status = 200, description = "The org's legal holds", body = Page<HoldJson>)))]
async fn holds(caller: Caller, State(app): State<App>) -> Result<Json<Page<HoldJson>>, ApiError> {
    let holds = call(app, &caller, lifecycle::holds).await?;
    Ok(Json(whole(holds)))
}

/// A legal hold to place: on one user (by phone) or, without a phone, on the whole org.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewHold {
    /// The held user's phone; absent for a hold on the whole org.
    phone: Option<String>,
    /// Why the data is held (1 to 500 characters).
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/holds", tag = "lifecycle",
    summary = "Place a legal hold",
    description = "Held users can still be deleted from view but are never purged while held.",
    params(OrgPath), request_body = NewHold,
    responses((status = 201, description = "The hold", body = HoldJson)))]
async fn add_hold(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewHold>,
) -> Result<(StatusCode, Json<HoldJson>), ApiError> {
    let hold = call(app, &caller, move |app, c| {
        lifecycle::add_hold(app, c, body.phone.as_deref(), &body.reason)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(hold.into())))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/holds/{id}", tag = "lifecycle",
    summary = "Lift a legal hold", params(OrgPath, HoldPath),
    responses((status = 200, description = "The lifted hold", body = HoldJson)))]
async fn remove_hold(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<HoldJson>, ApiError> {
    let hold = call(app, &caller, move |app, c| {
        lifecycle::remove_hold(app, c, &id)
    })
    .await?;
    Ok(Json(hold.into()))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/deletion-receipts", tag = "lifecycle",
    summary = "List deletion receipts",
    description = "One receipt per purged user: who, when, rows per kind, and the phone only \
        as SHA-256 of the org's salt and the E.164 phone. `phone=` keeps the receipts of that \
        phone (the proof that it was purged).",
    params(OrgPath, ("phone" = Option<String>, Query, description = "Only this phone's receipts")),
    responses((status = 200, description = "Receipts, newest first", body = Page<ReceiptJson>)))]
async fn receipts(
    caller: Caller,
    State(app): State<App>,
    QueryParams(params): QueryParams<ReceiptQuery>,
) -> Result<Json<Page<ReceiptJson>>, ApiError> {
    let receipts = call(app, &caller, move |app, c| match &params.phone {
        Some(phone) => lifecycle::receipts_for_phone(app, c, phone),
        None => lifecycle::receipts(app, c),
    })
    .await?;
    Ok(Json(whole(receipts)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptQuery {
    phone: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/settings/lifecycle", tag = "lifecycle",
    summary = "Show the purge window", params(OrgPath),
    responses((status = 200, description = "The settings", body = LifecycleSettingsJson)))]
async fn settings(
    caller: Caller,
    State(app): State<App>,
) -> Result<Json<LifecycleSettingsJson>, ApiError> {
    let window = call(app, &caller, lifecycle::purge_window).await?;
    Ok(Json(LifecycleSettingsJson {
        purge_window_days: window.as_days(),
    }))
}

/// New settings.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    /// 1 to 30 days. Users deleted earlier keep their purge date.
    purge_window_days: i64,
}

#[utoipa::path(put, path = "/api/v1/orgs/{org}/settings/lifecycle", tag = "lifecycle",
    summary = "Set the purge window", params(OrgPath), request_body = SettingsBody,
    responses((status = 200, description = "The settings", body = LifecycleSettingsJson)))]
async fn put_settings(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<SettingsBody>,
) -> Result<Json<LifecycleSettingsJson>, ApiError> {
    let window = call(app, &caller, move |app, c| {
        lifecycle::set_purge_window(app, c, body.purge_window_days)
    })
    .await?;
    Ok(Json(LifecycleSettingsJson {
        purge_window_days: window.as_days(),
    }))
}
