//! The permission matrix of the seed, as one pure function: [`authorize`].
//!
//! | action | org admin | group admin | member |
//! |---|---|---|---|
//! | add or remove users | all users of the org | users of groups they directly administer | no |
//! | list and view users | all users of the org | users of groups they directly administer | no |
//! | view groups (details, members) | all org groups | own org groups where admin | own org groups where member |
//! | view the group hierarchy | yes | yes | yes |
//! | add/remove users from groups | all org groups | own groups where admin | no |
//! | view connectors / actions | self-created or all in org | same | same |
//! | publish/unpublish connectors / actions | to all org groups | to own groups where admin | no |
//! | view reports | all org groups | groups where admin | no |
//! | manage group-to-org mapping | all org groups | groups where admin | no |
//! | import/export users, export tenant data, delete users, delete company data, ... | yes | no | no |
//!
//! Every endpoint asks this function; nothing else decides. Whether the target belongs
//! to the actor's org is checked before (another org's object is simply not found).

use std::collections::BTreeSet;

use crate::ids::{GroupId, UserId};
use crate::role::Role;

/// Who is acting, as far as permissions go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The most the actor can be in the org: org admin (an admin account or an
    /// org-admin token), group admin or member.
    pub role: Role,
    /// The org user the actor is, when it is a person of the org.
    pub user: Option<UserId>,
    /// Groups where the actor is a direct admin.
    pub admin_of: BTreeSet<GroupId>,
    /// Groups where the actor is a member (admins are members too).
    pub member_of: BTreeSet<GroupId>,
}

impl Actor {
    /// An org admin: an admin account or an org-admin API token.
    pub fn org_admin() -> Actor {
        Actor {
            role: Role::OrgAdmin,
            user: None,
            admin_of: BTreeSet::new(),
            member_of: BTreeSet::new(),
        }
    }

    /// A person of the org with their group roles; their role is group admin if they
    /// administer any group.
    pub fn person(
        user: UserId,
        admin_of: BTreeSet<GroupId>,
        member_of: BTreeSet<GroupId>,
    ) -> Actor {
        let role = if admin_of.is_empty() {
            Role::Member
        } else {
            Role::GroupAdmin
        };
        let member_of = member_of.union(&admin_of).copied().collect();
        Actor {
            role,
            user: Some(user),
            admin_of,
            member_of,
        }
    }

    fn is_org_admin(&self) -> bool {
        self.role == Role::OrgAdmin
    }

    fn administers(&self, group: &GroupId) -> bool {
        self.admin_of.contains(group)
    }
}

/// A group as the matrix needs to see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupRef {
    pub id: GroupId,
    pub org_mapped: bool,
}

/// Everything the matrix governs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Add or remove a user of the org. `groups` are the target's groups (empty for
    /// a user not yet in any, e.g. being created).
    ManageUser { groups: Vec<GroupId> },
    /// List and view users; group admins see the users of groups they administer.
    ViewUsers,
    /// See a group's details and members.
    ViewGroup(GroupRef),
    /// See the tree of org groups.
    ViewHierarchy,
    /// Add or remove members of a group.
    ManageGroupMembers(GroupRef),
    /// See connectors (self-created or all in the org).
    ViewConnectors,
    /// See actions (self-created or all in the org).
    ViewActions,
    /// Publish or unpublish a connector to a group.
    PublishConnector(GroupRef),
    /// Publish or unpublish an action to a group.
    PublishAction(GroupRef),
    /// See reports of one group.
    ViewGroupReport(GroupRef),
    /// See reports of the whole org.
    ViewOrgReport,
    /// Map or unmap a group to the org.
    ManageOrgMapping(GroupRef),
    /// Work reserved to org admins.
    OrgAdminOnly(AdminTask),
    /// Export one's own data (profile, memberships, messages, responses, telemetry):
    /// any person with a record in the org, for themselves only.
    ExportOwnData,
}

/// Tasks only org admins may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminTask {
    ImportUsers,
    ExportUsers,
    ExportTenantData,
    DeleteUsers,
    DeleteCompanyData,
    ManageAttributes,
    ManageTokens,
    /// Add or disable org admin accounts.
    ManageAdmins,
    ViewAudit,
    /// Create groups and move them in the hierarchy.
    ManageGroups,
}

impl AdminTask {
    fn describe(self) -> &'static str {
        match self {
            AdminTask::ImportUsers => "importing users",
            AdminTask::ExportUsers => "exporting users",
            AdminTask::ExportTenantData => "exporting tenant data",
            AdminTask::DeleteUsers => "deleting users",
            AdminTask::DeleteCompanyData => "deleting company data",
            AdminTask::ManageAttributes => "changing the attribute schema",
            AdminTask::ManageTokens => "managing API tokens",
            AdminTask::ManageAdmins => "managing admin accounts",
            AdminTask::ViewAudit => "reading the audit log",
            AdminTask::ManageGroups => "creating or moving groups",
        }
    }
}

/// Why an action is refused, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Decides whether `actor` may do `action`. Pure: the caller loads the actor's group
/// roles and the target beforehand.
pub fn authorize(actor: &Actor, action: &Action) -> Result<(), Denied> {
    let deny = |text: String| Err(Denied(text));
    match action {
        Action::ViewHierarchy | Action::ViewConnectors | Action::ViewActions => Ok(()),
        // A person's own data belongs to that person, whatever their role; a token or
        // an admin account is nobody's own data.
        Action::ExportOwnData if actor.user.is_none() => {
            deny("exporting your own data needs a member's own sign-in".into())
        }
        Action::ExportOwnData => Ok(()),
        _ if actor.is_org_admin() => match action {
            // Org admins govern org groups; consumer groups stay their members' own.
            Action::ViewGroup(g)
            | Action::ManageGroupMembers(g)
            | Action::PublishConnector(g)
            | Action::PublishAction(g)
            | Action::ViewGroupReport(g)
                if !g.org_mapped =>
            {
                deny("this group is not mapped to the org, so org admins do not manage it".into())
            }
            _ => Ok(()),
        },
        Action::OrgAdminOnly(task) => deny(format!("{} needs the org-admin role", task.describe())),
        Action::ViewOrgReport => deny("org reports need the org-admin role".into()),
        Action::ViewUsers => {
            if actor.admin_of.is_empty() {
                deny("viewing users needs the org-admin or group-admin role".into())
            } else {
                Ok(())
            }
        }
        Action::ManageUser { groups } => {
            if !groups.is_empty() && groups.iter().all(|g| actor.administers(g)) {
                Ok(())
            } else if actor.role == Role::Member {
                deny("adding or removing users needs the org-admin or group-admin role".into())
            } else {
                deny("group admins manage only users of groups they administer".into())
            }
        }
        Action::ViewGroup(g) => {
            if actor.member_of.contains(&g.id) {
                Ok(())
            } else {
                deny("you can see only the groups you belong to".into())
            }
        }
        Action::ManageGroupMembers(g)
        | Action::PublishConnector(g)
        | Action::PublishAction(g)
        | Action::ViewGroupReport(g)
        | Action::ManageOrgMapping(g) => {
            if actor.administers(&g.id) {
                Ok(())
            } else {
                deny(format!(
                    "{} needs the admin role in this group",
                    describe(action)
                ))
            }
        }
    }
}

fn describe(action: &Action) -> &'static str {
    match action {
        Action::ManageGroupMembers(_) => "adding or removing group members",
        Action::PublishConnector(_) => "publishing connectors",
        Action::PublishAction(_) => "publishing actions",
        Action::ViewGroupReport(_) => "viewing group reports",
        Action::ManageOrgMapping(_) => "mapping groups to the org",
        _ => "this",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cast of every test: an org admin, the admin of group A (member of C), and a
    /// member of A; groups A and B are org-mapped, C is a consumer group.
    struct Cast {
        org_admin: Actor,
        admin_of_a: Actor,
        member_of_a: Actor,
        a: GroupRef,
        b: GroupRef,
        c: GroupRef,
    }

    fn cast() -> Cast {
        let a = GroupRef {
            id: GroupId::new(),
            org_mapped: true,
        };
        let b = GroupRef {
            id: GroupId::new(),
            org_mapped: true,
        };
        let c = GroupRef {
            id: GroupId::new(),
            org_mapped: false,
        };
        Cast {
            org_admin: Actor::org_admin(),
            admin_of_a: Actor::person(UserId::new(), [a.id].into(), [c.id].into()),
            member_of_a: Actor::person(UserId::new(), BTreeSet::new(), [a.id].into()),
            a,
            b,
            c,
        }
    }

    /// One row of the matrix: the action, and whether org admin, group admin of A
    /// and member of A may do it.
    fn rows(c: &Cast) -> Vec<(&'static str, Action, [bool; 3])> {
        use Action::*;
        let (a, b) = (c.a, c.b);
        let mut rows = vec![
            (
                "manage a user of group A",
                ManageUser { groups: vec![a.id] },
                [true, true, false],
            ),
            (
                "manage a user of group B",
                ManageUser { groups: vec![b.id] },
                [true, false, false],
            ),
            (
                "manage a user of A and B",
                ManageUser {
                    groups: vec![a.id, b.id],
                },
                [true, false, false],
            ),
            (
                "manage a user in no group",
                ManageUser { groups: vec![] },
                [true, false, false],
            ),
            ("list users", ViewUsers, [true, true, false]),
            ("export one's own data", ExportOwnData, [false, true, true]),
            ("view group A", ViewGroup(a), [true, true, true]),
            ("view group B", ViewGroup(b), [true, false, false]),
            ("view the hierarchy", ViewHierarchy, [true, true, true]),
            (
                "add members to A",
                ManageGroupMembers(a),
                [true, true, false],
            ),
            (
                "add members to B",
                ManageGroupMembers(b),
                [true, false, false],
            ),
            ("view connectors", ViewConnectors, [true, true, true]),
            (
                "publish a connector to A",
                PublishConnector(a),
                [true, true, false],
            ),
            (
                "publish a connector to B",
                PublishConnector(b),
                [true, false, false],
            ),
            ("view actions", ViewActions, [true, true, true]),
            (
                "publish an action to A",
                PublishAction(a),
                [true, true, false],
            ),
            (
                "publish an action to B",
                PublishAction(b),
                [true, false, false],
            ),
            ("view reports of A", ViewGroupReport(a), [true, true, false]),
            (
                "view reports of B",
                ViewGroupReport(b),
                [true, false, false],
            ),
            ("view org reports", ViewOrgReport, [true, false, false]),
            (
                "map group A to the org",
                ManageOrgMapping(a),
                [true, true, false],
            ),
            (
                "map group B to the org",
                ManageOrgMapping(b),
                [true, false, false],
            ),
            (
                "map consumer group C",
                ManageOrgMapping(c.c),
                [true, false, false],
            ),
            (
                "view consumer group C",
                ViewGroup(c.c),
                [false, true, false],
            ),
            (
                "publish to consumer group C",
                PublishAction(c.c),
                [false, false, false],
            ),
        ];
        for task in [
            AdminTask::ImportUsers,
            AdminTask::ExportUsers,
            AdminTask::ExportTenantData,
            AdminTask::DeleteUsers,
            AdminTask::DeleteCompanyData,
            AdminTask::ManageAttributes,
            AdminTask::ManageTokens,
            AdminTask::ManageAdmins,
            AdminTask::ViewAudit,
            AdminTask::ManageGroups,
        ] {
            rows.push((task.describe(), OrgAdminOnly(task), [true, false, false]));
        }
        rows
    }

    #[test]
    fn every_cell_of_the_matrix_decides_as_the_seed_says() {
        let c = cast();
        let actors = [
            ("org admin", &c.org_admin),
            ("group admin of A", &c.admin_of_a),
            ("member of A", &c.member_of_a),
        ];
        for (name, action, expected) in rows(&c) {
            for ((who, actor), allowed) in actors.iter().zip(expected) {
                assert_eq!(authorize(actor, &action).is_ok(), allowed, "{who}: {name}");
            }
        }
    }

    #[test]
    fn a_refusal_says_what_is_missing() {
        let c = cast();
        let denied = authorize(
            &c.member_of_a,
            &Action::OrgAdminOnly(AdminTask::ImportUsers),
        )
        .unwrap_err();
        assert_eq!(
            denied.to_string(),
            "importing users needs the org-admin role"
        );
        let denied = authorize(&c.admin_of_a, &Action::ManageGroupMembers(c.b)).unwrap_err();
        assert!(
            denied.to_string().contains("admin role in this group"),
            "{denied}"
        );
    }

    #[test]
    fn a_person_who_administers_a_group_is_a_group_admin_and_a_member_of_it() {
        let c = cast();
        assert_eq!(c.admin_of_a.role, Role::GroupAdmin);
        assert!(c.admin_of_a.member_of.contains(&c.a.id));
        assert_eq!(c.member_of_a.role, Role::Member);
    }
}
