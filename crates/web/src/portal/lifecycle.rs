//! The "Deleted users" page: who was deleted, when, by whom, until when they can be
//! restored, what their purge will remove, and a Restore button (org admins).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use steward_app::lifecycle;

use super::session::see_other;
use super::{Form, Frame, OrgPage, PageError, Section, render};
use crate::state::WebState;

pub(super) fn router() -> Router<WebState> {
    Router::new()
        .route("/orgs/{org}/deleted-users", get(deleted_users))
        .route("/orgs/{org}/deleted-users/{phone}/restore", post(restore))
}

struct Row {
    phone: String,
    name: String,
    deleted_at: String,
    deleted_by: String,
    purge_after: String,
    held: bool,
    to_purge: String,
    restorable: bool,
    restore_action: String,
}

#[derive(Template)]
#[template(path = "deleted_users.html")]
struct DeletedUsersPage {
    frame: Frame,
    users: Vec<Row>,
    notice: Option<&'static str>,
}

async fn deleted_users(
    page: OrgPage,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let users = page.run(lifecycle::deleted_users).await?;
    let notice = params
        .iter()
        .any(|(k, v)| k == "done" && v == "restored")
        .then_some("The user was restored.");
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    render(&DeletedUsersPage {
        frame: page.frame("Deleted users", Section::Users),
        users: users
            .into_iter()
            .map(|v| {
                let d = v.deleted;
                Row {
                    phone: d.user.phone.as_str().to_owned(),
                    name: d.user.name.as_str().to_owned(),
                    deleted_at: when(d.deleted_at),
                    deleted_by: d.deleted_by,
                    purge_after: when(d.purge_after),
                    held: v.held,
                    to_purge: v
                        .to_purge
                        .iter()
                        .filter(|(_, n)| *n > 0)
                        .map(|(kind, n)| format!("{n} {}", kind.replace('_', " ")))
                        .collect::<Vec<_>>()
                        .join(", "),
                    restorable: !d.purging,
                    restore_action: page.path(&format!(
                        "/deleted-users/{}/restore",
                        d.user.phone.as_str().trim_start_matches('+')
                    )),
                }
            })
            .collect(),
        notice,
    })
}

async fn restore(
    page: OrgPage,
    Path((_, phone)): Path<(String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    page.run(move |app, c| lifecycle::restore_user(app, c, &phone))
        .await?;
    Ok(see_other(&page.path("/deleted-users?done=restored")))
}
