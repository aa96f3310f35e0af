//! Groups in a hierarchy, their mapping to the org, and their members.

use steward_domain::access::{Action, AdminTask, GroupRef};
use steward_domain::group::{Group, Membership};
use steward_domain::{
    AttributeChanges, GroupId, GroupName, GroupRole, OrgId, PersonName, PhoneNumber, User,
    UserSource, UserUpsert,
};

use crate::audit;
use crate::directory::find_user;
use crate::{App, AppError, AppResult, Caller, FieldError};

/// A group as the permission matrix sees it.
pub fn group_ref(group: &Group) -> GroupRef {
    GroupRef {
        id: group.id,
        org_mapped: group.org_mapped,
    }
}

/// The group with this id, if the caller may know it exists: org groups are part of
/// the hierarchy everyone in the org sees; someone else's consumer group is not found.
pub fn find_group(app: &App, caller: &Caller, raw_id: &str) -> AppResult<Group> {
    let org = caller.authorize(&Action::ViewHierarchy)?;
    let id: GroupId = raw_id.parse().map_err(|_| AppError::NotFound("group"))?;
    let group = app
        .store
        .get_group(org, id)?
        .ok_or(AppError::NotFound("group"))?;
    if !group.org_mapped && !caller.may(&Action::ViewGroup(group_ref(&group))) {
        return Err(AppError::NotFound("group"));
    }
    Ok(group)
}

/// The hierarchy: org groups for everyone in the org; consumer groups only for their
/// members and org admins.
pub fn tree(app: &App, caller: &Caller) -> AppResult<Vec<Group>> {
    let org = caller.authorize(&Action::ViewHierarchy)?;
    let member_of = &caller.actor().member_of;
    Ok(app
        .store
        .list_groups(org)?
        .into_iter()
        .filter(|g| g.org_mapped || caller.is_org_admin() || member_of.contains(&g.id))
        .collect())
}

/// A group the caller may see the details of, with its members and their roles
/// (ordered by phone).
pub fn group_with_members(
    app: &App,
    caller: &Caller,
    raw_id: &str,
) -> AppResult<(Group, Vec<(User, GroupRole)>)> {
    let group = find_group(app, caller, raw_id)?;
    caller.authorize(&Action::ViewGroup(group_ref(&group)))?;
    let members = app.store.group_members(group.org_id, group.id)?;
    Ok((group, members))
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
    caller: &Caller,
    name: &str,
    parent: Option<GroupId>,
    org_mapped: bool,
) -> AppResult<Group> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageGroups))?;
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
    let max = app.limits().groups_per_org;
    if app.store.list_groups(org)?.len() >= max {
        return Err(AppError::Conflict(format!(
            "the org already has {max} groups, the most an org may have"
        )));
    }
    app.store.insert_groups(org, std::slice::from_ref(&group))?;
    audit::record(
        app,
        caller.audit(),
        org,
        "group.create",
        &group.id.to_string(),
        "ok",
    )?;
    Ok(group)
}

/// What a change to a group sets; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct GroupChanges {
    pub name: Option<String>,
    /// `Some(None)` moves the group to the top of the hierarchy.
    pub parent: Option<Option<GroupId>>,
    pub org_mapped: Option<bool>,
}

/// Renames (admins of the group), moves (org admins), or maps/unmaps a group (per
/// the matrix).
pub fn update_group(
    app: &App,
    caller: &Caller,
    raw_id: &str,
    changes: GroupChanges,
) -> AppResult<Group> {
    let group = find_group(app, caller, raw_id)?;
    let target = group_ref(&group);
    if changes.name.is_some() {
        caller.authorize(&Action::ManageGroupMembers(target))?;
    }
    if changes.parent.is_some() {
        caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageGroups))?;
    }
    if changes.org_mapped.is_some() {
        caller.authorize(&Action::ManageOrgMapping(target))?;
    }
    let GroupChanges {
        name,
        parent,
        org_mapped,
    } = changes;
    let mut updated = group.clone();
    if let Some(name) = name {
        updated.name = GroupName::parse(&name).map_err(|e| AppError::invalid("name", e))?;
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
    let id = group.id.to_string();
    audit::record(app, caller.audit(), group.org_id, action, &id, "ok")?;
    Ok(updated)
}

/// Adds a person to a group by phone (read with the org's region), or changes their
/// role. Someone not yet in the org joins it with source `group`, as the seed's users
/// who came "by being a member of any organization group".
pub fn add_member(
    app: &App,
    caller: &Caller,
    raw_group: &str,
    raw_phone: &str,
    name: Option<&str>,
    role: GroupRole,
) -> AppResult<User> {
    let group = find_group(app, caller, raw_group)?;
    caller.authorize(&Action::ManageGroupMembers(group_ref(&group)))?;
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
    audit::record(
        app,
        caller.audit(),
        org.id,
        "group.member.put",
        &target,
        role.as_str(),
    )?;
    Ok(user)
}

pub fn remove_member(
    app: &App,
    caller: &Caller,
    raw_group: &str,
    raw_phone: &str,
) -> AppResult<()> {
    let group = find_group(app, caller, raw_group)?;
    caller.authorize(&Action::ManageGroupMembers(group_ref(&group)))?;
    let user = find_user(app, group.org_id, raw_phone)?;
    if !app
        .store
        .remove_membership(group.org_id, group.id, user.id)?
    {
        return Err(AppError::NotFound("member"));
    }
    let target = format!("{} in {}", user.phone, group.id);
    audit::record(
        app,
        caller.audit(),
        group.org_id,
        "group.member.remove",
        &target,
        "ok",
    )
}
