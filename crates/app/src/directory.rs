//! The users directory and the org's attribute schema.

use std::collections::BTreeMap;

use steward_domain::access::{Action, AdminTask};
use steward_domain::{
    AttributeChanges, AttributeDef, AttributeKey, AttributeType, AttributeValue, GroupId, OrgId,
    PersonName, PhoneNumber, User, UserSource, UserStatus, UserUpsert,
};
use steward_store::{AttributeRewrite, Conflict, Page, StoreError, UserQuery, UserSort};

use crate::audit;
use crate::{App, AppError, AppResult, Caller, FieldError};

/// Finds a user of the org by phone, without a permission check (for other use cases).
pub(crate) fn find_user(app: &App, org: OrgId, raw_phone: &str) -> AppResult<User> {
    let phone = PhoneNumber::from_e164(raw_phone).map_err(|_| AppError::NotFound("user"))?;
    app.store
        .get_user(org, &phone)?
        .ok_or(AppError::NotFound("user"))
}

/// The groups a user belongs to (for the permission check).
pub(crate) fn groups_of(app: &App, org: OrgId, user: &User) -> AppResult<Vec<GroupId>> {
    Ok(app
        .store
        .group_roles(org, user.id)?
        .into_iter()
        .map(|(g, _)| g)
        .collect())
}

/// A user by the `{phone}` of a URL (E.164 with or without the leading `+`), with the
/// groups they belong to. A group admin sees only the users of the groups they
/// administer; to anyone else such a user is not found.
pub fn get_user(app: &App, caller: &Caller, raw_phone: &str) -> AppResult<(User, Vec<GroupId>)> {
    let org = caller.authorize(&Action::ViewUsers)?;
    let user = find_user(app, org, raw_phone)?;
    let groups = groups_of(app, org, &user)?;
    let admin_of = &caller.actor().admin_of;
    if !caller.is_org_admin() && !groups.iter().any(|g| admin_of.contains(g)) {
        return Err(AppError::NotFound("user"));
    }
    Ok((user, groups))
}

/// The default and largest page sizes, and how many attribute columns a list shows.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 1000;
pub const MAX_COLUMNS: usize = 4;

/// A page of the org's users, from the list's query parameters:
/// `limit`, `cursor`, `q`, `sort` (`phone`, `-phone`, `name`, `-name`), `columns=a,b`
/// (up to four attributes to keep) and `filter.<key>=<value>`. Every bad parameter is
/// a field error. Group admins see the users of the groups they administer.
pub fn list_users(
    app: &App,
    caller: &Caller,
    params: &[(String, String)],
) -> AppResult<Page<User>> {
    let org = caller.authorize(&Action::ViewUsers)?;
    let defs = app.store.attribute_defs(org)?;
    let (mut query, columns) = user_query(&defs, params)?;
    query.in_groups =
        (!caller.is_org_admin()).then(|| caller.actor().admin_of.iter().copied().collect());
    let mut page = app.store.list_users(org, &query)?;
    if let Some(columns) = columns {
        for user in &mut page.items {
            user.attributes
                .retain(|key, _| columns.iter().any(|c| c == key.as_str()));
        }
    }
    Ok(page)
}

/// Reads the list's query parameters (see [`list_users`]) against the org's schema
/// into a query of everyone and the attribute columns to keep; every bad parameter
/// is a field error. Exports read their filter with it too.
pub(crate) fn user_query(
    defs: &[AttributeDef],
    params: &[(String, String)],
) -> AppResult<(UserQuery, Option<Vec<String>>)> {
    let mut query = UserQuery {
        limit: DEFAULT_LIMIT,
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
            "cursor" => query.after = Some(raw.clone()),
            "q" => query.search = Some(raw.clone()),
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
                    Some(def) => match AttributeValue::parse(def.ty, raw) {
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
        return Err(AppError::Invalid(errors));
    }
    Ok((query, columns))
}

/// The org's attribute schema, in display order (everyone who may see users).
pub fn attribute_schema(app: &App, caller: &Caller) -> AppResult<Vec<AttributeDef>> {
    let org = caller.authorize(&Action::ViewUsers)?;
    Ok(app.store.attribute_defs(org)?)
}

/// The attributes the portal offers ready-made (for those who change the schema).
pub fn attribute_suggestions(caller: &Caller) -> AppResult<Vec<AttributeDef>> {
    caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageAttributes))?;
    Ok(suggested_attributes())
}

/// Reads `{"key": json value}` against the schema: unknown keys, wrong types and
/// (when `complete`) missing mandatory values are field errors.
fn read_attributes(
    defs: &[AttributeDef],
    given: &serde_json::Map<String, serde_json::Value>,
    complete: bool,
    errors: &mut Vec<FieldError>,
) -> AttributeChanges {
    let mut changes = AttributeChanges::new();
    for (key, json) in given {
        let field = format!("attributes.{key}");
        let Some(def) = defs.iter().find(|d| d.key.as_str() == key) else {
            let known: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
            errors.push(FieldError::new(
                field,
                format!("unknown attribute; the org defines: {}", known.join(", ")),
            ));
            continue;
        };
        match AttributeValue::from_json(def.ty, json) {
            Ok(None) if def.mandatory => {
                errors.push(FieldError::new(field, format!("{} is mandatory", def.name)))
            }
            Ok(value) => {
                changes.insert(def.key.clone(), value);
            }
            Err(e) => errors.push(FieldError::new(field, e)),
        }
    }
    if complete {
        for def in defs
            .iter()
            .filter(|d| d.mandatory && !given.contains_key(d.key.as_str()))
        {
            errors.push(FieldError::new(
                format!("attributes.{}", def.key),
                format!("{} is mandatory", def.name),
            ));
        }
    }
    changes
}

/// The suggested attribute that names another user: the manager, by phone.
pub const MANAGER: &str = "manager";

/// Why a `manager` value was refused.
#[derive(Debug)]
pub enum ManagerProblem {
    /// The value is not a phone number.
    NotAPhone(steward_domain::PhoneError),
    /// The phone is nobody the user may name; the caller says where it looked.
    Unknown {
        key: steward_domain::AttributeKey,
        phone: PhoneNumber,
    },
}

impl std::fmt::Display for ManagerProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManagerProblem::NotAPhone(e) => write!(f, "the manager is given by phone number: {e}"),
            ManagerProblem::Unknown { phone, .. } => {
                write!(
                    f,
                    "{phone} is not a user of this org; add the manager first"
                )
            }
        }
    }
}

/// The manager rule, for every way a user is written (one user through the API, many
/// through an import): a `manager` value names another person by phone, and is stored
/// as their E.164 phone. `read` reads the value as a phone; `known` says whether that
/// phone is someone the user may name. Changes without a manager pass.
pub fn resolve_manager<E>(
    changes: &mut AttributeChanges,
    read: impl FnOnce(&str) -> Result<PhoneNumber, steward_domain::PhoneError>,
    known: impl FnOnce(&PhoneNumber) -> Result<bool, E>,
) -> Result<Result<(), ManagerProblem>, E> {
    let Some((key, Some(AttributeValue::String(raw)))) =
        changes.iter_mut().find(|(k, _)| k.as_str() == MANAGER)
    else {
        return Ok(Ok(()));
    };
    let phone = match read(raw) {
        Ok(phone) => phone,
        Err(e) => return Ok(Err(ManagerProblem::NotAPhone(e))),
    };
    if !known(&phone)? {
        return Ok(Err(ManagerProblem::Unknown {
            key: key.clone(),
            phone,
        }));
    }
    *raw = phone.as_str().to_owned();
    Ok(Ok(()))
}

/// A manager must be a user of the org (see [`resolve_manager`]).
fn check_manager(
    app: &App,
    org: OrgId,
    region: steward_domain::Region,
    changes: &mut AttributeChanges,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    let resolved = resolve_manager(
        changes,
        |raw| PhoneNumber::parse(raw, region),
        |phone| Ok::<_, AppError>(app.store.get_user(org, phone)?.is_some()),
    )?;
    if let Err(problem) = resolved {
        let key = match &problem {
            ManagerProblem::Unknown { key, .. } => key.as_str(),
            ManagerProblem::NotAPhone(_) => MANAGER,
        };
        errors.push(FieldError::new(
            format!("attributes.{key}"),
            problem.to_string(),
        ));
    }
    Ok(())
}

/// Creates a user from API input; the phone is read with the org's default region.
pub fn create_user(
    app: &App,
    caller: &Caller,
    phone: &str,
    name: &str,
    attributes: &serde_json::Map<String, serde_json::Value>,
) -> AppResult<User> {
    let org = caller.authorize(&Action::ManageUser { groups: Vec::new() })?;
    let org_record = app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
    let defs = app.store.attribute_defs(org)?;
    let mut errors = Vec::new();
    let phone = PhoneNumber::parse(phone, org_record.region)
        .map_err(|e| errors.push(FieldError::new("phone", e)))
        .ok();
    let name = PersonName::parse(name)
        .map_err(|e| errors.push(FieldError::new("name", e)))
        .ok();
    let mut changes = read_attributes(&defs, attributes, true, &mut errors);
    check_manager(app, org, org_record.region, &mut changes, &mut errors)?;
    let (Some(phone), Some(name), true) = (phone, name, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let upsert = UserUpsert {
        phone,
        name,
        source: UserSource::Api,
        attributes: changes,
    };
    crate::lifecycle::refuse_deleted(app, org, &upsert.phone)?;
    let user = create_or_revive(app, org, &upsert).map_err(|e| match e {
        StoreError::Conflict(Conflict::Duplicate) => AppError::Conflict(format!(
            "a user with the phone {} already exists",
            upsert.phone
        )),
        other => other.into(),
    })?;
    audit::record(
        app,
        caller.audit(),
        org,
        "user.create",
        user.phone.as_str(),
        "ok",
    )?;
    Ok(user)
}

/// Creates a user, or gives a purged user's stub (a row kept only because data of
/// non-org groups names them) a new life with the new record.
fn create_or_revive(app: &App, org: OrgId, upsert: &UserUpsert) -> Result<User, StoreError> {
    let now = app.clock.now();
    match app.store.get_user(org, &upsert.phone)? {
        Some(stub) if stub.status == UserStatus::Deleted => {
            app.store
                .upsert_users(org, std::slice::from_ref(upsert), now)?;
            app.store
                .get_user(org, &upsert.phone)?
                .ok_or(StoreError::NotFound)
        }
        _ => app.store.create_user(org, upsert, now),
    }
}

/// Changes a user's name and attributes; `null` clears an attribute.
pub fn update_user(
    app: &App,
    caller: &Caller,
    raw_phone: &str,
    name: Option<&str>,
    attributes: &serde_json::Map<String, serde_json::Value>,
) -> AppResult<User> {
    let (user, groups) = get_user(app, caller, raw_phone)?;
    let org = caller.authorize(&Action::ManageUser { groups })?;
    if user.status == UserStatus::Deleted {
        return Err(AppError::Conflict(format!(
            "{} is deleted; restore the user before changing them",
            user.phone
        )));
    }
    let defs = app.store.attribute_defs(org)?;
    let mut errors = Vec::new();
    let name = name.and_then(|n| {
        PersonName::parse(n)
            .map_err(|e| errors.push(FieldError::new("name", e)))
            .ok()
    });
    let mut changes = read_attributes(&defs, attributes, false, &mut errors);
    let region = app
        .store
        .get_org(org)?
        .ok_or(AppError::NotFound("org"))?
        .region;
    check_manager(app, org, region, &mut changes, &mut errors)?;
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let updated = app
        .store
        .update_user(org, &user.phone, name.as_ref(), &changes, app.clock.now())?
        .ok_or(AppError::NotFound("user"))?;
    audit::record(
        app,
        caller.audit(),
        org,
        "user.update",
        user.phone.as_str(),
        "ok",
    )?;
    Ok(updated)
}

/// The attributes the portal offers ready-made, as the seed describes.
fn suggested_attributes() -> Vec<AttributeDef> {
    let def = |key: &str, name: &str, ty| AttributeDef {
        key: AttributeKey::parse(key).expect("built-in keys are valid"),
        name: name.to_owned(),
        ty,
        mandatory: false,
        suggested: true,
    };
    vec![
        def("employee_id", "Employee ID", AttributeType::String),
        def("job_title", "Job Title", AttributeType::String),
        def("department", "Department", AttributeType::String),
        // A reference to another user of the org, by phone (see `check_manager`).
        def(MANAGER, "Manager", AttributeType::String),
        def("location", "Location", AttributeType::String),
        def("email", "Email", AttributeType::String),
        def("hire_date", "Hire Date", AttributeType::DateTime),
        def("cost_center", "Cost Center", AttributeType::String),
        def("employment_type", "Employment Type", AttributeType::String),
        def("is_contractor", "Contractor", AttributeType::YesNo),
    ]
}

/// How many users a schema change would leave invalid, per attribute.
const EXAMPLES: u32 = 5;

/// Replaces the org's attribute schema. A change that makes an attribute mandatory or
/// changes its type is refused, with the count of users it would break and examples,
/// unless `force`; then values that cannot convert are cleared. Removing an attribute
/// removes its values. Each effect is audited.
pub fn save_schema(
    app: &App,
    caller: &Caller,
    defs: Vec<AttributeDef>,
    force: bool,
) -> AppResult<Vec<AttributeDef>> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageAttributes))?;
    let ctx = caller.audit();
    let mut errors = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, def) in defs.iter().enumerate() {
        if def.name.trim().is_empty() {
            errors.push(FieldError::new(
                format!("attributes[{i}].name"),
                "the name is empty",
            ));
        }
        if let Some(first) = seen.insert(def.key.clone(), i) {
            errors.push(FieldError::new(
                format!("attributes[{i}].key"),
                format!("{} is also attributes[{first}]", def.key),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let old = app.store.attribute_defs(org)?;
    // Each attribute is an index on the users table all orgs share. A schema already
    // over the limit (from before it existed) may still shrink or change.
    let max = app.limits().attributes_per_org;
    if defs.len() > max && defs.len() > old.len() {
        return Err(AppError::invalid(
            "attributes",
            format!(
                "an org may define at most {max} attributes; this schema has {}",
                defs.len()
            ),
        ));
    }
    let removed: Vec<AttributeKey> = old
        .iter()
        .filter(|o| !defs.iter().any(|d| d.key == o.key))
        .map(|o| o.key.clone())
        .collect();
    let mut rewrites: Vec<AttributeRewrite> = Vec::new();
    let mut effects = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        let before = old.iter().find(|o| o.key == def.key);
        if def.mandatory && before.is_none_or(|b| !b.mandatory) {
            let (missing, examples) = app.store.users_missing_attribute(org, &def.key, EXAMPLES)?;
            if missing > 0 {
                errors.push(FieldError::new(
                    format!("attributes[{i}].mandatory"),
                    format!("{missing} users have no {} (e.g. {}); fill it in first, or save with force", def.name, list(&examples)),
                ));
                effects.push(format!(
                    "{} made mandatory with {missing} users missing it",
                    def.key
                ));
            }
        }
        if let Some(before) = before.filter(|b| b.ty != def.ty) {
            let mut converted = Vec::new();
            let mut failed = Vec::new();
            for (phone, json) in app.store.attribute_values(org, &def.key)? {
                let text = AttributeValue::from_json(before.ty, &json)
                    .ok()
                    .flatten()
                    .map(|v| v.to_text())
                    .unwrap_or_else(|| {
                        json.as_str()
                            .map_or_else(|| json.to_string(), str::to_owned)
                    });
                match AttributeValue::parse(def.ty, &text) {
                    Ok(value) => converted.push((phone, value)),
                    Err(_) => {
                        failed.push(phone.clone());
                        converted.push((phone, None));
                    }
                }
            }
            if !failed.is_empty() {
                let examples: Vec<_> = failed.iter().take(EXAMPLES as usize).cloned().collect();
                errors.push(FieldError::new(
                    format!("attributes[{i}].type"),
                    format!(
                        "{} users have a {} that is not a {} (e.g. {}); their values would be cleared; save with force to do so",
                        failed.len(), def.name, def.ty.as_str(), list(&examples)
                    ),
                ));
            }
            effects.push(format!(
                "{} changed from {} to {} ({} values cleared)",
                def.key,
                before.ty.as_str(),
                def.ty.as_str(),
                failed.len()
            ));
            rewrites.push((def.key.clone(), converted));
        }
    }
    if !errors.is_empty() && !force {
        return Err(AppError::Invalid(errors));
    }
    app.store
        .save_attribute_schema(org, &defs, &removed, &rewrites)?;
    let outcome = if errors.is_empty() { "ok" } else { "forced" };
    audit::record(
        app,
        ctx,
        org,
        "attributes.put",
        &format!("{} attributes", defs.len()),
        outcome,
    )?;
    for key in &removed {
        audit::record(
            app,
            ctx,
            org,
            "attributes.remove",
            key.as_str(),
            "values removed",
        )?;
    }
    for effect in effects {
        audit::record(app, ctx, org, "attributes.change", &effect, outcome)?;
    }
    Ok(defs)
}

fn list(phones: &[PhoneNumber]) -> String {
    phones
        .iter()
        .map(PhoneNumber::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
