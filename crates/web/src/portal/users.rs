//! Users: the list (search, sort, attribute filters, cursor paging, up to four chosen
//! columns: "More > Select Columns"), a user's detail by phone, Add and Edit, and
//! "More > Change Attributes" (the org's attribute schema, with the impact warning
//! next to the field and "Save anyway").

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use steward_app::{FieldError, directory, groups};
use steward_domain::access::{Action, AdminTask};
use steward_domain::{AttributeDef, AttributeKey, AttributeType, AttributeValue, User};

use super::session::see_other;
use super::{Form, Frame, OrgPage, PageError, Section, render};
use crate::state::WebState;

pub(super) fn router() -> Router<WebState> {
    Router::new()
        .route("/orgs/{org}", get(org_home))
        .route("/orgs/{org}/users", get(list).post(add))
        .route("/orgs/{org}/users/new", get(new_form))
        .route(
            "/orgs/{org}/users/columns",
            get(columns_form).post(save_columns),
        )
        .route("/orgs/{org}/users/{phone}", get(detail))
        .route("/orgs/{org}/users/{phone}/edit", get(edit_form).post(edit))
        .route("/orgs/{org}/attributes", get(schema_form).post(save_schema))
}

/// `/portal/orgs/{org}`: the Users page for those who may see users, else their groups.
async fn org_home(page: OrgPage) -> Response {
    if page.caller.may(&Action::ViewUsers) {
        see_other(&page.path("/users"))
    } else {
        see_other(&page.path("/groups"))
    }
}

/// The cookie that remembers an admin's chosen columns (one per org, by its path).
const COLUMNS_COOKIE: &str = "steward_columns";

fn chosen_columns(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COLUMNS_COOKIE)
        .map(|c| {
            c.value()
                .split('.')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A link's query string, encoded.
fn query(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

struct Row {
    href: String,
    phone: String,
    name: String,
    source: &'static str,
    values: Vec<String>,
}

struct Filter {
    name: String,
    value: String,
    remove_href: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    frame: Frame,
    base: String,
    org_base: String,
    q: String,
    sort: String,
    headers: Vec<String>,
    rows: Vec<Row>,
    total: u64,
    filters: Vec<Filter>,
    /// Hidden inputs that keep the active filters when searching again.
    kept: Vec<(String, String)>,
    schema: Vec<(String, String)>,
    next_href: Option<String>,
    first_href: Option<String>,
    errors: Vec<String>,
    may_add: bool,
    org_admin: bool,
    notice: Option<&'static str>,
}

fn notice(params: &[(String, String)]) -> Option<&'static str> {
    let code = params
        .iter()
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.as_str());
    match code? {
        "created" => Some("The user was added."),
        "updated" => Some("The user was saved."),
        "columns" => Some("The columns were saved."),
        "attributes" => Some("The attributes were saved."),
        _ => None,
    }
}

fn value_text(user: &User, key: &str) -> String {
    user.attributes
        .iter()
        .find(|(k, _)| k.as_str() == key)
        .map(|(_, v)| v.to_text())
        .unwrap_or_default()
}

async fn list(
    page: OrgPage,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let schema = page.run(directory::attribute_schema).await?;
    let columns: Vec<AttributeDef> = chosen_columns(&headers)
        .iter()
        .filter_map(|k| schema.iter().find(|d| d.key.as_str() == k))
        .take(directory::MAX_COLUMNS)
        .cloned()
        .collect();
    // The page's own parameters: q, sort, cursor and filter.<key>; the filter form
    // sends filter_key and filter_value, which become one more filter.<key>.
    let mut kept: Vec<(String, String)> = Vec::new();
    let (mut q, mut sort, mut cursor) = (String::new(), String::new(), None);
    let mut new_key = None;
    let mut new_value = String::new();
    for (name, value) in &params {
        match name.as_str() {
            "q" => q = value.trim().to_owned(),
            "sort" => sort = value.clone(),
            "cursor" => cursor = Some(value.clone()),
            "filter_key" => new_key = Some(value.clone()).filter(|k| !k.is_empty()),
            "filter_value" => new_value = value.trim().to_owned(),
            n if n.starts_with("filter.") && !value.trim().is_empty() => {
                kept.retain(|(k, _)| k != n);
                kept.push((n.to_owned(), value.trim().to_owned()));
            }
            _ => {}
        }
    }
    if let Some(key) = new_key.filter(|_| !new_value.is_empty()) {
        let name = format!("filter.{key}");
        kept.retain(|(k, _)| *k != name);
        kept.push((name, new_value));
    }
    let mut search: Vec<(String, String)> = Vec::new();
    if !q.is_empty() {
        search.push(("q".into(), q.clone()));
    }
    if !sort.is_empty() {
        search.push(("sort".into(), sort.clone()));
    }
    search.extend(kept.iter().cloned());
    let mut call = search.clone();
    call.push(("limit".into(), "25".into()));
    if let Some(cursor) = &cursor {
        call.push(("cursor".into(), cursor.clone()));
    }
    let base = page.path("/users");
    let (users, errors) = match page
        .run(move |app, c| directory::list_users(app, c, &call))
        .await
    {
        Ok(users) => (Some(users), Vec::new()),
        Err(PageError::Invalid(errors)) => (
            None,
            errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect(),
        ),
        Err(other) => return Err(other),
    };
    let (rows, total, next_href) = match users {
        Some(users) => {
            let rows = users
                .items
                .iter()
                .map(|u| Row {
                    href: format!("{base}/{}", u.phone.as_str().trim_start_matches('+')),
                    phone: u.phone.to_string(),
                    name: u.name.to_string(),
                    source: u.source.as_str(),
                    values: columns
                        .iter()
                        .map(|d| value_text(u, d.key.as_str()))
                        .collect(),
                })
                .collect();
            let next = users.next_cursor.map(|cursor| {
                let mut pairs = search.clone();
                pairs.push(("cursor".into(), cursor));
                format!("{base}?{}", query(&pairs))
            });
            (rows, users.total, next)
        }
        None => (Vec::new(), 0, None),
    };
    let filters = kept
        .iter()
        .map(|(k, v)| {
            let key = k.trim_start_matches("filter.");
            let name = schema
                .iter()
                .find(|d| d.key.as_str() == key)
                .map_or_else(|| key.to_owned(), |d| d.name.clone());
            let rest: Vec<_> = search.iter().filter(|(n, _)| n != k).cloned().collect();
            Filter {
                name,
                value: v.clone(),
                remove_href: format!("{base}?{}", query(&rest)),
            }
        })
        .collect();
    let first_href = cursor.map(|_| format!("{base}?{}", query(&search)));
    let page_view = UsersPage {
        frame: page.frame("Users", Section::Users),
        base,
        org_base: page.path(""),
        q,
        sort,
        headers: columns.iter().map(|d| d.name.clone()).collect(),
        rows,
        total,
        filters,
        kept,
        schema: schema
            .iter()
            .map(|d| (d.key.to_string(), d.name.clone()))
            .collect(),
        next_href,
        first_href,
        errors,
        may_add: page.caller.may(&Action::ManageUser { groups: Vec::new() }),
        org_admin: page.caller.is_org_admin(),
        notice: notice(&params),
    };
    render(&page_view)
}

struct Group {
    href: String,
    name: String,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    frame: Frame,
    phone: String,
    name: String,
    status: &'static str,
    source: &'static str,
    created_at: String,
    updated_at: String,
    attributes: Vec<(String, String)>,
    groups: Vec<Group>,
    edit_href: Option<String>,
    back_href: String,
    notice: Option<&'static str>,
}

async fn detail(
    page: OrgPage,
    Path((_, phone)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (user, group_ids, schema, tree) = page
        .run(move |app, c| {
            let (user, group_ids) = directory::get_user(app, c, &phone)?;
            let schema = directory::attribute_schema(app, c)?;
            let tree = groups::tree(app, c)?;
            Ok((user, group_ids, schema, tree))
        })
        .await?;
    let groups = tree
        .iter()
        .filter(|g| group_ids.contains(&g.id))
        .map(|g| Group {
            href: page.path(&format!("/groups/{}", g.id)),
            name: g.name.to_string(),
        })
        .collect();
    let may_edit = page.caller.may(&Action::ManageUser { groups: group_ids });
    let digits = user.phone.as_str().trim_start_matches('+').to_owned();
    let view = UserPage {
        frame: page.frame(user.name.to_string(), Section::Users),
        phone: user.phone.to_string(),
        name: user.name.to_string(),
        status: user.status.as_str(),
        source: user.source.as_str(),
        created_at: user.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        updated_at: user.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        attributes: schema
            .iter()
            .map(|d| (d.name.clone(), value_text(&user, d.key.as_str())))
            .collect(),
        groups,
        edit_href: may_edit.then(|| page.path(&format!("/users/{digits}/edit"))),
        back_href: page.path("/users"),
        notice: notice(&params),
    };
    render(&view)
}

/// One attribute's input on the add and edit forms.
struct AttrInput {
    key: String,
    name: String,
    kind: &'static str,
    value: String,
    mandatory: bool,
    error: Option<String>,
}

impl AttrInput {
    fn is_yes_no(&self) -> bool {
        self.kind == "yes_no"
    }
}

#[derive(Template)]
#[template(path = "user_form.html")]
struct UserForm {
    frame: Frame,
    action: String,
    cancel: String,
    is_new: bool,
    phone: String,
    name: String,
    phone_error: Option<String>,
    name_error: Option<String>,
    other_errors: Vec<String>,
    attributes: Vec<AttrInput>,
}

fn field_error(errors: &[FieldError], field: &str) -> Option<String> {
    let found: Vec<&str> = errors
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.reason.as_str())
        .collect();
    (!found.is_empty()).then(|| found.join("; "))
}

fn attr_inputs(
    schema: &[AttributeDef],
    value: impl Fn(&AttributeDef) -> String,
    errors: &[FieldError],
) -> Vec<AttrInput> {
    schema
        .iter()
        .map(|d| AttrInput {
            key: d.key.to_string(),
            name: d.name.clone(),
            kind: d.ty.as_str(),
            value: value(d),
            mandatory: d.mandatory,
            error: field_error(errors, &format!("attributes.{}", d.key)),
        })
        .collect()
}

/// Reads the form's attribute inputs as the use cases' JSON values. An empty input
/// is left out of a new user and clears the value of an existing one.
fn attribute_values(
    schema: &[AttributeDef],
    form: &Form,
    clear_empty: bool,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for def in schema {
        let raw = form.text(&format!("attr.{}", def.key));
        let value = if raw.is_empty() {
            if !clear_empty {
                continue;
            }
            serde_json::Value::Null
        } else {
            match def.ty {
                AttributeType::YesNo => match raw.as_str() {
                    "yes" => serde_json::Value::Bool(true),
                    "no" => serde_json::Value::Bool(false),
                    _ => serde_json::Value::String(raw),
                },
                AttributeType::Number => match AttributeValue::parse(def.ty, &raw) {
                    Ok(Some(v)) => v.to_json(),
                    _ => serde_json::Value::String(raw),
                },
                AttributeType::String | AttributeType::DateTime => serde_json::Value::String(raw),
            }
        };
        out.insert(def.key.to_string(), value);
    }
    out
}

fn input_text(user: &User, def: &AttributeDef) -> String {
    match user.attributes.get(&def.key) {
        Some(AttributeValue::YesNo(true)) => "yes".into(),
        Some(AttributeValue::YesNo(false)) => "no".into(),
        Some(other) => other.to_text(),
        None => String::new(),
    }
}

async fn new_form(page: OrgPage) -> Result<Response, PageError> {
    page.caller
        .authorize(&Action::ManageUser { groups: Vec::new() })?;
    let schema = page.run(directory::attribute_schema).await?;
    render(&UserForm {
        frame: page.frame("Add a user", Section::Users),
        action: page.path("/users"),
        cancel: page.path("/users"),
        is_new: true,
        phone: String::new(),
        name: String::new(),
        phone_error: None,
        name_error: None,
        other_errors: Vec::new(),
        attributes: attr_inputs(&schema, |_| String::new(), &[]),
    })
}

/// Errors for the form, and those it has no field for.
fn split_errors(errors: &[FieldError], known: &[&str]) -> Vec<String> {
    errors
        .iter()
        .filter(|e| !known.contains(&e.field.as_str()) && !e.field.starts_with("attributes."))
        .map(|e| e.reason.clone())
        .collect()
}

async fn add(page: OrgPage, form: Form) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let schema = page.run(directory::attribute_schema).await?;
    let phone = form.text("phone");
    let name = form.text("name");
    let values = attribute_values(&schema, &form, false);
    let (p, n) = (phone.clone(), name.clone());
    match page
        .run(move |app, c| directory::create_user(app, c, &p, &n, &values))
        .await
    {
        Ok(user) => {
            let digits = user.phone.as_str().trim_start_matches('+');
            Ok(see_other(
                &page.path(&format!("/users/{digits}?done=created")),
            ))
        }
        Err(PageError::Invalid(errors)) => render(&UserForm {
            frame: page.frame("Add a user", Section::Users),
            action: page.path("/users"),
            cancel: page.path("/users"),
            is_new: true,
            phone_error: field_error(&errors, "phone"),
            name_error: field_error(&errors, "name"),
            other_errors: split_errors(&errors, &["phone", "name"]),
            attributes: attr_inputs(&schema, |d| form.text(&format!("attr.{}", d.key)), &errors),
            phone,
            name,
        }),
        Err(PageError::Conflict(reason)) => render(&UserForm {
            frame: page.frame("Add a user", Section::Users),
            action: page.path("/users"),
            cancel: page.path("/users"),
            is_new: true,
            phone_error: Some(reason),
            name_error: None,
            other_errors: Vec::new(),
            attributes: attr_inputs(&schema, |d| form.text(&format!("attr.{}", d.key)), &[]),
            phone,
            name,
        }),
        Err(other) => Err(other),
    }
}

async fn edit_form(
    page: OrgPage,
    Path((_, phone)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let lookup = phone.clone();
    let (user, schema) = page
        .run(move |app, c| {
            let (user, groups) = directory::get_user(app, c, &lookup)?;
            c.authorize(&Action::ManageUser { groups })?;
            Ok((user, directory::attribute_schema(app, c)?))
        })
        .await?;
    render(&UserForm {
        frame: page.frame(format!("Edit {}", user.name), Section::Users),
        action: page.path(&format!("/users/{phone}/edit")),
        cancel: page.path(&format!("/users/{phone}")),
        is_new: false,
        phone: user.phone.to_string(),
        name: user.name.to_string(),
        phone_error: None,
        name_error: None,
        other_errors: Vec::new(),
        attributes: attr_inputs(&schema, |d| input_text(&user, d), &[]),
    })
}

async fn edit(
    page: OrgPage,
    Path((_, phone)): Path<(String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let schema = page.run(directory::attribute_schema).await?;
    let name = form.text("name");
    let values = attribute_values(&schema, &form, true);
    let (p, n) = (phone.clone(), name.clone());
    match page
        .run(move |app, c| directory::update_user(app, c, &p, Some(&n), &values))
        .await
    {
        Ok(_) => Ok(see_other(
            &page.path(&format!("/users/{phone}?done=updated")),
        )),
        Err(PageError::Invalid(errors)) => render(&UserForm {
            frame: page.frame("Edit user", Section::Users),
            action: page.path(&format!("/users/{phone}/edit")),
            cancel: page.path(&format!("/users/{phone}")),
            is_new: false,
            phone: format!("+{}", phone.trim_start_matches('+')),
            name_error: field_error(&errors, "name"),
            phone_error: None,
            other_errors: split_errors(&errors, &["name"]),
            attributes: attr_inputs(&schema, |d| form.text(&format!("attr.{}", d.key)), &errors),
            name,
        }),
        Err(other) => Err(other),
    }
}

struct ColumnChoice {
    key: String,
    name: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "columns.html")]
struct ColumnsPage {
    frame: Frame,
    action: String,
    cancel: String,
    choices: Vec<ColumnChoice>,
    max: usize,
    error: Option<String>,
}

async fn columns_form(page: OrgPage, headers: HeaderMap) -> Result<Response, PageError> {
    let schema = page.run(directory::attribute_schema).await?;
    let chosen = chosen_columns(&headers);
    render(&ColumnsPage {
        frame: page.frame("Select Columns", Section::Users),
        action: page.path("/users/columns"),
        cancel: page.path("/users"),
        choices: schema
            .iter()
            .map(|d| ColumnChoice {
                key: d.key.to_string(),
                name: d.name.clone(),
                checked: chosen.iter().any(|c| c == d.key.as_str()),
            })
            .collect(),
        max: directory::MAX_COLUMNS,
        error: None,
    })
}

/// Saves the chosen columns in a cookie for this org's pages (up to four).
async fn save_columns(page: OrgPage, form: Form) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let schema = page.run(directory::attribute_schema).await?;
    let chosen: Vec<String> = form
        .all("column")
        .into_iter()
        .filter(|k| schema.iter().any(|d| d.key.as_str() == k))
        .collect();
    if chosen.len() > directory::MAX_COLUMNS {
        let page_view = ColumnsPage {
            frame: page.frame("Select Columns", Section::Users),
            action: page.path("/users/columns"),
            cancel: page.path("/users"),
            choices: schema
                .iter()
                .map(|d| ColumnChoice {
                    key: d.key.to_string(),
                    name: d.name.clone(),
                    checked: chosen.iter().any(|c| c == d.key.as_str()),
                })
                .collect(),
            max: directory::MAX_COLUMNS,
            error: Some(format!(
                "Choose at most {} columns; you chose {}.",
                directory::MAX_COLUMNS,
                chosen.len()
            )),
        };
        return render(&page_view);
    }
    // Keys are lowercase letters, digits and underscores, so '.' joins them safely.
    let cookie = cookie::Cookie::build((COLUMNS_COOKIE, chosen.join(".")))
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(page.secure_cookies)
        .path(page.path(""))
        .max_age(cookie::time::Duration::days(365))
        .build();
    let mut response = see_other(&page.path("/users?done=columns"));
    if let Ok(value) = header::HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// One row of Change Attributes, as shown or as submitted.
struct SchemaRow {
    key: String,
    name: String,
    kind: String,
    mandatory: bool,
    suggested: bool,
    error: Option<String>,
    /// The warning of a change that would break users: shown next to the field.
    impact: Option<String>,
}

impl SchemaRow {
    fn is(&self, kind: &&str) -> bool {
        self.kind == *kind
    }
}

#[derive(Template)]
#[template(path = "attributes.html")]
struct SchemaPage {
    frame: Frame,
    action: String,
    rows: Vec<SchemaRow>,
    suggestions: Vec<(String, String)>,
    types: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
    /// A change was refused for its impact: offer "Save anyway".
    offer_force: bool,
}

const TYPES: [(&str, &str); 4] = [
    ("string", "Text"),
    ("number", "Number"),
    ("yes_no", "Yes/No"),
    ("datetime", "Date/time"),
];

fn schema_page(
    page: &OrgPage,
    rows: Vec<SchemaRow>,
    suggestions: &[AttributeDef],
    errors: Vec<String>,
    offer_force: bool,
) -> Result<Response, PageError> {
    let taken: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    render(&SchemaPage {
        frame: page.frame("Change Attributes", Section::Users),
        action: page.path("/attributes"),
        suggestions: suggestions
            .iter()
            .filter(|s| !taken.contains(&s.key.as_str()))
            .map(|s| (s.key.to_string(), s.name.clone()))
            .collect(),
        rows,
        types: TYPES.to_vec(),
        errors,
        offer_force,
    })
}

async fn schema_form(page: OrgPage) -> Result<Response, PageError> {
    page.caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ManageAttributes))?;
    let (schema, suggestions) = page
        .run(|app, c| {
            Ok((
                directory::attribute_schema(app, c)?,
                directory::attribute_suggestions(c)?,
            ))
        })
        .await?;
    let rows = schema
        .into_iter()
        .map(|d| SchemaRow {
            key: d.key.to_string(),
            name: d.name,
            kind: d.ty.as_str().to_owned(),
            mandatory: d.mandatory,
            suggested: d.suggested,
            error: None,
            impact: None,
        })
        .collect();
    schema_page(&page, rows, &suggestions, Vec::new(), false)
}

/// Reads the schema form: the kept rows (`key.N`, `name.N`, `type.N`, `mandatory.N`,
/// `remove.N`) and one new attribute, suggested or custom.
fn read_schema(
    form: &Form,
    suggestions: &[AttributeDef],
    errors: &mut Vec<String>,
) -> Vec<SchemaRow> {
    let mut rows = Vec::new();
    for i in 0.. {
        let Some(key) = form.get(&format!("key.{i}")) else {
            break;
        };
        if form.checked(&format!("remove.{i}")) {
            continue;
        }
        rows.push(SchemaRow {
            key: key.to_owned(),
            name: form.text(&format!("name.{i}")),
            kind: form.text(&format!("type.{i}")),
            mandatory: form.checked(&format!("mandatory.{i}")),
            suggested: form.checked(&format!("suggested.{i}")),
            error: None,
            impact: None,
        });
    }
    let suggested = form.text("new_suggested");
    let custom = form.text("new_name");
    let mandatory = form.checked("new_mandatory");
    if let Some(def) = suggestions.iter().find(|s| s.key.as_str() == suggested) {
        rows.push(SchemaRow {
            key: def.key.to_string(),
            name: def.name.clone(),
            kind: def.ty.as_str().to_owned(),
            mandatory,
            suggested: true,
            error: None,
            impact: None,
        });
    } else if !custom.is_empty() {
        match AttributeKey::from_display_name(&custom) {
            Ok(key) => rows.push(SchemaRow {
                key: key.to_string(),
                name: custom,
                kind: form.text("new_type"),
                mandatory,
                suggested: false,
                error: None,
                impact: None,
            }),
            Err(e) => errors.push(format!("New attribute: {e}")),
        }
    }
    rows
}

async fn save_schema(page: OrgPage, form: Form) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let suggestions = page.run(|_, c| directory::attribute_suggestions(c)).await?;
    let mut errors = Vec::new();
    let mut rows = read_schema(&form, &suggestions, &mut errors);
    let defs: Vec<AttributeDef> = rows
        .iter()
        .filter_map(|r| {
            let key = AttributeKey::parse(&r.key).ok()?;
            let ty = AttributeType::parse(&r.kind).unwrap_or(AttributeType::String);
            Some(AttributeDef {
                key,
                name: r.name.clone(),
                ty,
                mandatory: r.mandatory,
                suggested: r.suggested,
            })
        })
        .collect();
    if !errors.is_empty() {
        return schema_page(&page, rows, &suggestions, errors, false);
    }
    let force = form.get("force") == Some("true");
    match page
        .run(move |app, c| directory::save_schema(app, c, defs, force))
        .await
    {
        Ok(_) => Ok(see_other(&page.path("/users?done=attributes"))),
        Err(PageError::Invalid(found)) => {
            let mut offer_force = false;
            for e in found {
                let row = e
                    .field
                    .strip_prefix("attributes[")
                    .and_then(|rest| rest.split_once(']'))
                    .and_then(|(i, field)| Some((i.parse::<usize>().ok()?, field)));
                match row.and_then(|(i, field)| Some((rows.get_mut(i)?, field))) {
                    Some((row, ".mandatory" | ".type")) => {
                        offer_force = true;
                        row.impact = Some(e.reason);
                    }
                    Some((row, _)) => row.error = Some(e.reason),
                    None => errors.push(e.reason),
                }
            }
            schema_page(&page, rows, &suggestions, errors, offer_force)
        }
        Err(other) => Err(other),
    }
}
