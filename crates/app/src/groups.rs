//! Groups in a hierarchy, their mapping to the org, and their members.

use steward_domain::group::{Group, Membership};
use steward_domain::{
    AttributeChanges, GroupId, GroupName, GroupRole, OrgId, PersonName, PhoneNumber, User,
    UserSource, UserUpsert,
};

use crate::audit::{self, AuditContext};
use crate::{App, AppError, AppResult, FieldError};

pub fn get_group(app: &App, org: OrgId, raw_id: &str) -> AppResult<Group> {
    let id: GroupId = raw_id.parse().map_err(|_| AppError::NotFound("group"))?;
    app.store
        .get_group(org, id)?
        .ok_or(AppError::NotFound("group"))
}

/// Refuses a parent that is the group itself or one of its descendants.
fn check_parent(app: &App, org: OrgId, group: GroupId, parent: Option<GroupId>) -> AppResult<()> {
    let mut next = parent;
    let mut steps = 0;
    while let Some(id) = next {
        if id == group {
            return Err(AppError::invalid(
                "parent_id",
                "a group cannot be placed under itself or one of its subgroups",
            ));
        }
        let Some(ancestor) = app.store.get_group(org, id)? else {
            return Err(AppError::invalid("parent_id", "no such group in this org"));
        };
        next = ancestor.parent_id;
        steps += 1;
        if steps > 10_000 {
            return Err(AppError::Conflict(
                "the group tree is corrupt: it has a cycle".into(),
            ));
        }
    }
    Ok(())
}

pub fn create_group(
    app: &App,
    ctx: &AuditContext,
    org: OrgId,
    name: &str,
    parent: Option<GroupId>,
    org_mapped: bool,
) -> AppResult<Group> {
    let name = GroupName::parse(name).map_err(|e| AppError::invalid("name", e))?;
    let group = Group {
        id: GroupId::new(),
        org_id: org,
        parent_id: parent,
        name,
        org_mapped,
        created_at: app.clock.now(),
    };
    check_parent(app, org, group.id, parent)?;
    app.store.insert_groups(org, std::slice::from_ref(&group))?;
    audit::record(app, ctx, org, "group.create", &group.id.to_string(), "ok")?;
    Ok(group)
}

/// Renames, moves, or maps/unmaps a group.
pub fn update_group(
    app: &App,
    ctx: &AuditContext,
    group: &Group,
    name: Option<&str>,
    parent: Option<Option<GroupId>>,
    org_mapped: Option<bool>,
) -> AppResult<Group> {
    let mut updated = group.clone();
    if let Some(name) = name {
        updated.name = GroupName::parse(name).map_err(|e| AppError::invalid("name", e))?;
    }
    if let Some(parent) = parent {
        check_parent(app, group.org_id, group.id, parent)?;
        updated.parent_id = parent;
    }
    if let Some(mapped) = org_mapped {
        updated.org_mapped = mapped;
    }
    app.store.update_group(&updated)?;
    let action = match org_mapped {
        Some(true) if !group.org_mapped => "group.map",
        Some(false) if group.org_mapped => "group.unmap",
        _ => "group.update",
    };
    audit::record(app, ctx, group.org_id, action, &group.id.to_string(), "ok")?;
    Ok(updated)
}

/// Adds a person to a group by phone (read with the org's region), or changes their
/// role. Someone not yet in the org joins it with source `group`, as the seed's users
/// who came "by being a member of any organization group".
pub fn add_member(
    app: &App,
    ctx: &AuditContext,
    group: &Group,
    raw_phone: &str,
    name: Option<&str>,
    role: GroupRole,
) -> AppResult<User> {
    let org = app
        .store
        .get_org(group.org_id)?
        .ok_or(AppError::NotFound("org"))?;
    let phone =
        PhoneNumber::parse(raw_phone, org.region).map_err(|e| AppError::invalid("phone", e))?;
    let user = match app.store.get_user(org.id, &phone)? {
        Some(user) => user,
        None => {
            let name = name.ok_or_else(|| {
                AppError::Invalid(vec![FieldError::new(
                    "name",
                    "the person is new to the org, so a name is needed",
                )])
            })?;
            let name = PersonName::parse(name).map_err(|e| AppError::invalid("name", e))?;
            let upsert = UserUpsert {
                phone,
                name,
                source: UserSource::Group,
                attributes: AttributeChanges::new(),
            };
            app.store.create_user(org.id, &upsert, app.clock.now())?
        }
    };
    let membership = Membership {
        org_id: org.id,
        group_id: group.id,
        user_id: user.id,
        role,
        joined_at: app.clock.now(),
    };
    app.store.put_membership(&membership)?;
    let target = format!("{} in {}", user.phone, group.id);
    audit::record(app, ctx, org.id, "group.member.put", &target, role.as_str())?;
    Ok(user)
}

pub fn remove_member(app: &App, ctx: &AuditContext, group: &Group, user: &User) -> AppResult<()> {
    if !app
        .store
        .remove_membership(group.org_id, group.id, user.id)?
    {
        return Err(AppError::NotFound("member"));
    }
    let target = format!("{} in {}", user.phone, group.id);
    audit::record(app, ctx, group.org_id, "group.member.remove", &target, "ok")
}
