//! Connectors and Actions: view all in the org or (for a person) their own, and
//! publish or unpublish each to a group, as the caller's rights in that group allow.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use steward_app::{content, groups};
use steward_domain::access::Action as Do;
use steward_store::PublishableKind;

use super::session::see_other;
use super::{Form, Frame, OrgPage, PageError, Section, render};
use crate::state::WebState;

pub(super) fn router() -> Router<WebState> {
    Router::new()
        .route("/orgs/{org}/connectors", get(connectors))
        .route("/orgs/{org}/actions", get(actions))
        .route("/orgs/{org}/{kind}/{id}/publication", post(set_published))
}

struct Item {
    title: String,
    detail: String,
    created_at: String,
    action: String,
}

#[derive(Template)]
#[template(path = "publishables.html")]
struct ListPage {
    frame: Frame,
    heading: &'static str,
    /// The seed's words for one item, e.g. "connector".
    noun: &'static str,
    all_href: String,
    mine_href: Option<String>,
    mine: bool,
    items: Vec<Item>,
    /// Groups the caller may publish to: (id, name).
    targets: Vec<(String, String)>,
    notice: Option<&'static str>,
}

fn wants_mine(params: &[(String, String)]) -> bool {
    params.iter().any(|(k, v)| k == "mine" && v == "true")
}

fn notice(params: &[(String, String)]) -> Option<&'static str> {
    match params
        .iter()
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.as_str())?
    {
        "published" => Some("Published to the group."),
        "unpublished" => Some("Unpublished from the group."),
        "not-published" => Some("It was not published to that group, so nothing changed."),
        _ => None,
    }
}

/// The groups the caller may publish this kind of item to.
async fn targets(
    page: &OrgPage,
    kind: PublishableKind,
) -> Result<Vec<(String, String)>, PageError> {
    let all = page.run(groups::tree).await?;
    let mut out: Vec<(String, String)> = all
        .iter()
        .filter(|g| {
            let target = groups::group_ref(g);
            page.caller.may(&match kind {
                PublishableKind::Action => Do::PublishAction(target),
                PublishableKind::Connector => Do::PublishConnector(target),
            })
        })
        .map(|g| (g.id.to_string(), g.name.to_string()))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

async fn connectors(
    page: OrgPage,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mine = wants_mine(&params) && page.caller.actor().user.is_some();
    let mut list = page
        .run(move |app, c| content::list_connectors(app, c, mine))
        .await?;
    list.sort_by_key(|item| std::cmp::Reverse(item.created_at));
    let items = list
        .iter()
        .map(|c| Item {
            title: c.name.clone(),
            detail: String::new(),
            created_at: c.created_at.format("%Y-%m-%d").to_string(),
            action: page.path(&format!("/connectors/{}/publication", c.id)),
        })
        .collect();
    list_page(&page, PublishableKind::Connector, mine, items, &params).await
}

async fn actions(
    page: OrgPage,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mine = wants_mine(&params) && page.caller.actor().user.is_some();
    let mut list = page
        .run(move |app, c| content::list_actions(app, c, mine))
        .await?;
    // Newest first, as a person scans a list of what was made.
    list.sort_by_key(|item| std::cmp::Reverse(item.created_at));
    let items = list
        .iter()
        .map(|a| Item {
            title: a.title.clone(),
            detail: format!(
                "{}, {} question{}",
                a.kind.as_str(),
                a.questions.len(),
                if a.questions.len() == 1 { "" } else { "s" }
            ),
            created_at: a.created_at.format("%Y-%m-%d").to_string(),
            action: page.path(&format!("/actions/{}/publication", a.id)),
        })
        .collect();
    list_page(&page, PublishableKind::Action, mine, items, &params).await
}

async fn list_page(
    page: &OrgPage,
    kind: PublishableKind,
    mine: bool,
    items: Vec<Item>,
    params: &[(String, String)],
) -> Result<Response, PageError> {
    let (heading, noun, path, section) = match kind {
        PublishableKind::Connector => (
            "Connectors",
            "connector",
            "/connectors",
            Section::Connectors,
        ),
        PublishableKind::Action => ("Actions", "action", "/actions", Section::Actions),
    };
    let targets = targets(page, kind).await?;
    render(&ListPage {
        frame: page.frame(heading, section),
        heading,
        noun,
        all_href: page.path(path),
        // Only a person of the org has items of their own.
        mine_href: page
            .caller
            .actor()
            .user
            .map(|_| page.path(&format!("{path}?mine=true"))),
        mine,
        items,
        targets,
        notice: notice(params),
    })
}

async fn set_published(
    page: OrgPage,
    Path((_, kind, id)): Path<(String, String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let (kind, path) = match kind.as_str() {
        "actions" => (PublishableKind::Action, "/actions"),
        "connectors" => (PublishableKind::Connector, "/connectors"),
        _ => return Err(PageError::NotFound),
    };
    let publish = form.get("publish") == Some("true");
    let group = form.text("group");
    let result = page
        .run(move |app, c| content::set_published(app, c, kind, &id, &group, publish))
        .await;
    let done = match result {
        Ok(()) if publish => "published",
        Ok(()) => "unpublished",
        // Unpublishing what is not published there: say so on the list, not as a 404.
        Err(PageError::NotFound) if !publish => "not-published",
        Err(other) => return Err(other),
    };
    Ok(see_other(&page.path(&format!("{path}?done={done}"))))
}
