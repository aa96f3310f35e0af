//! Groups (the hierarchy; "My groups" for group admins and members), a group's
//! members with their roles (add and remove), Reports per group, and Settings (the
//! group-to-org mapping, and for org admins the links to attributes, tokens and audit).

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use steward_app::{content, groups};
use steward_domain::access::Action;
use steward_domain::group::Group;
use steward_domain::{GroupId, GroupRole};

use super::session::see_other;
use super::{Form, Frame, OrgPage, PageError, Section, render};
use crate::state::WebState;

pub(super) fn router() -> Router<WebState> {
    Router::new()
        .route("/orgs/{org}/groups", get(tree).post(create))
        .route("/orgs/{org}/groups/{id}", get(group))
        .route("/orgs/{org}/groups/{id}/members", post(add_member))
        .route(
            "/orgs/{org}/groups/{id}/members/{phone}/remove",
            post(remove_member),
        )
        .route("/orgs/{org}/reports", get(reports))
        .route("/orgs/{org}/settings", get(settings))
        .route("/orgs/{org}/settings/groups/{id}", post(set_mapping))
}

fn notice(params: &[(String, String)]) -> Option<&'static str> {
    match params
        .iter()
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.as_str())?
    {
        "created" => Some("The group was created."),
        "added" => Some("The member was added."),
        "removed" => Some("The member was removed from the group."),
        "mapped" => Some("The group is now mapped to the organization."),
        "unmapped" => Some("The group is no longer mapped to the organization."),
        _ => None,
    }
}

/// One line of the tree: a group, how deep it sits among the groups shown.
struct Line {
    depth: usize,
    name: String,
    href: String,
    org_mapped: bool,
    role: &'static str,
}

/// Orders groups as a tree (parents before children, siblings by name) with depths
/// counted among the groups shown.
fn lines(page: &OrgPage, shown: &[Group]) -> Vec<Line> {
    let ids: BTreeSet<GroupId> = shown.iter().map(|g| g.id).collect();
    let mut children: HashMap<Option<GroupId>, Vec<&Group>> = HashMap::new();
    for g in shown {
        let parent = g.parent_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(g);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    }
    let actor = page.caller.actor();
    let mut out = Vec::new();
    let mut stack: Vec<(&Group, usize)> = children
        .get(&None)
        .map(|l| l.iter().rev().map(|g| (*g, 0)).collect())
        .unwrap_or_default();
    while let Some((g, depth)) = stack.pop() {
        out.push(Line {
            depth: depth.min(8),
            name: g.name.to_string(),
            href: page.path(&format!("/groups/{}", g.id)),
            org_mapped: g.org_mapped,
            role: if actor.admin_of.contains(&g.id) {
                "admin"
            } else if actor.member_of.contains(&g.id) {
                "member"
            } else {
                ""
            },
        });
        if let Some(kids) = children.get(&Some(g.id)) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "groups.html")]
struct TreePage {
    frame: Frame,
    heading: &'static str,
    lines: Vec<Line>,
    org_admin: bool,
    /// Groups a new group may be placed under: (id, name).
    parents: Vec<(String, String)>,
    action: String,
    errors: Vec<String>,
    name: String,
}

async fn tree(page: OrgPage) -> Result<Response, PageError> {
    tree_page(&page, Vec::new(), String::new()).await
}

async fn tree_page(
    page: &OrgPage,
    errors: Vec<String>,
    name: String,
) -> Result<Response, PageError> {
    let all = page.run(groups::tree).await?;
    let org_admin = page.caller.is_org_admin();
    // Org admins see the whole hierarchy; everyone else sees the groups they belong
    // to (administer or are a member of).
    let member_of = page.caller.actor().member_of.clone();
    let shown: Vec<Group> = all
        .into_iter()
        .filter(|g| org_admin || member_of.contains(&g.id))
        .collect();
    let heading = if org_admin { "Groups" } else { "My groups" };
    let lines = lines(page, &shown);
    let mut parents: Vec<(String, String)> = shown
        .iter()
        .map(|g| (g.id.to_string(), g.name.to_string()))
        .collect();
    parents.sort_by(|a, b| a.1.cmp(&b.1));
    render(&TreePage {
        frame: page.frame(heading, Section::Groups),
        heading,
        lines,
        org_admin,
        parents,
        action: page.path("/groups"),
        errors,
        name,
    })
}

/// Creates a group (org admins), under a parent or at the top.
async fn create(page: OrgPage, form: Form) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let name = form.text("name");
    let parent = match form.text("parent") {
        raw if raw.is_empty() => None,
        raw => Some(raw.parse::<GroupId>().map_err(|_| PageError::NotFound)?),
    };
    let org_mapped = form.checked("org_mapped");
    let n = name.clone();
    match page
        .run(move |app, c| groups::create_group(app, c, &n, parent, org_mapped))
        .await
    {
        Ok(group) => Ok(see_other(
            &page.path(&format!("/groups/{}?done=created", group.id)),
        )),
        Err(PageError::Invalid(errors)) => {
            let errors = errors
                .into_iter()
                .map(|e| format!("{}: {}", label(&e.field), e.reason))
                .collect();
            tree_page(&page, errors, name).await
        }
        Err(other) => Err(other),
    }
}

struct Member {
    phone: String,
    name: String,
    role: &'static str,
    href: Option<String>,
    remove_action: String,
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    frame: Frame,
    name: String,
    org_mapped: bool,
    parent: Option<(String, String)>,
    members: Vec<Member>,
    may_manage: bool,
    add_action: String,
    back_href: String,
    errors: Vec<String>,
    phone: String,
    new_name: String,
    notice: Option<&'static str>,
}

async fn group_page(
    page: &OrgPage,
    id: String,
    errors: Vec<String>,
    phone: String,
    new_name: String,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let (group, members, parent) = page
        .run(move |app, c| {
            let (group, members) = groups::group_with_members(app, c, &id)?;
            let parent = match group.parent_id {
                Some(p) => groups::find_group(app, c, &p.to_string()).ok(),
                None => None,
            };
            Ok((group, members, parent))
        })
        .await?;
    let may_manage = page
        .caller
        .may(&Action::ManageGroupMembers(groups::group_ref(&group)));
    let may_view_users = page.caller.may(&Action::ViewUsers);
    let base = page.path(&format!("/groups/{}", group.id));
    render(&GroupPage {
        frame: page.frame(group.name.to_string(), Section::Groups),
        name: group.name.to_string(),
        org_mapped: group.org_mapped,
        parent: parent.map(|p| (page.path(&format!("/groups/{}", p.id)), p.name.to_string())),
        members: members
            .iter()
            .map(|(u, role)| {
                let digits = u.phone.as_str().trim_start_matches('+');
                Member {
                    phone: u.phone.to_string(),
                    name: u.name.to_string(),
                    role: role.as_str(),
                    href: may_view_users.then(|| page.path(&format!("/users/{digits}"))),
                    remove_action: format!("{base}/members/{digits}/remove"),
                }
            })
            .collect(),
        may_manage,
        add_action: format!("{base}/members"),
        back_href: page.path("/groups"),
        errors,
        phone,
        new_name,
        notice,
    })
}

async fn group(
    page: OrgPage,
    Path((_, id)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    group_page(
        &page,
        id,
        Vec::new(),
        String::new(),
        String::new(),
        notice(&params),
    )
    .await
}

async fn add_member(
    page: OrgPage,
    Path((_, id)): Path<(String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let phone = form.text("phone");
    let name = form.text("name");
    let role = GroupRole::parse(&form.text("role")).unwrap_or(GroupRole::Member);
    let (g, p, n) = (id.clone(), phone.clone(), name.clone());
    let added = page
        .run(move |app, c| {
            let name = Some(n.as_str()).filter(|n| !n.is_empty());
            groups::add_member(app, c, &g, &p, name, role)
        })
        .await;
    match added {
        Ok(_) => Ok(see_other(&page.path(&format!("/groups/{id}?done=added")))),
        Err(PageError::Invalid(errors)) => {
            let errors = errors
                .into_iter()
                .map(|e| format!("{}: {}", label(&e.field), e.reason))
                .collect();
            group_page(&page, id, errors, phone, name, None).await
        }
        Err(other) => Err(other),
    }
}

fn label(field: &str) -> &str {
    match field {
        "phone" => "Phone number",
        "name" => "Name",
        "parent_id" => "Part of",
        other => other,
    }
}

async fn remove_member(
    page: OrgPage,
    Path((_, id, phone)): Path<(String, String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let g = id.clone();
    page.run(move |app, c| groups::remove_member(app, c, &g, &phone))
        .await?;
    Ok(see_other(&page.path(&format!("/groups/{id}?done=removed"))))
}

struct ReportRow {
    name: String,
    members: u64,
    active_7d: u64,
    active_30d: u64,
    messages: u64,
    actions: u64,
    responses: u64,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    frame: Frame,
    rows: Vec<ReportRow>,
    totals: Option<content::OrgTotals>,
}

async fn reports(page: OrgPage) -> Result<Response, PageError> {
    let reports = page.run(content::reports).await?;
    let mut rows: Vec<ReportRow> = reports
        .groups
        .iter()
        .map(|(g, r)| ReportRow {
            name: g.name.to_string(),
            members: r.members,
            active_7d: r.active_members_7d,
            active_30d: r.active_members_30d,
            messages: r.messages,
            actions: r.actions,
            responses: r.responses,
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    render(&ReportsPage {
        frame: page.frame("Reports", Section::Reports),
        rows,
        totals: reports.org,
    })
}

struct MappingRow {
    name: String,
    org_mapped: bool,
    action: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    frame: Frame,
    org_admin: bool,
    base: String,
    rows: Vec<MappingRow>,
    notice: Option<&'static str>,
}

async fn settings(
    page: OrgPage,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let all = page.run(groups::tree).await?;
    let mut rows: Vec<MappingRow> = all
        .iter()
        .filter(|g| {
            page.caller
                .may(&Action::ManageOrgMapping(groups::group_ref(g)))
        })
        .map(|g| MappingRow {
            name: g.name.to_string(),
            org_mapped: g.org_mapped,
            action: page.path(&format!("/settings/groups/{}", g.id)),
        })
        .collect();
    if rows.is_empty() && !page.caller.is_org_admin() && page.caller.actor().admin_of.is_empty() {
        return Err(PageError::Forbidden(
            "settings are for organization and group admins".into(),
        ));
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    render(&SettingsPage {
        frame: page.frame("Settings", Section::Settings),
        org_admin: page.caller.is_org_admin(),
        base: page.path(""),
        rows,
        notice: notice(&params),
    })
}

async fn set_mapping(
    page: OrgPage,
    Path((_, id)): Path<(String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let mapped = form.get("mapped") == Some("true");
    let changes = groups::GroupChanges {
        org_mapped: Some(mapped),
        ..groups::GroupChanges::default()
    };
    page.run(move |app, c| groups::update_group(app, c, &id, changes))
        .await?;
    let done = if mapped { "mapped" } else { "unmapped" };
    Ok(see_other(&page.path(&format!("/settings?done={done}"))))
}
