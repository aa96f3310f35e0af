//! Roles: an ordered enum, so "at least group admin" is a comparison.

use serde::{Deserialize, Serialize};

/// What a principal is in an org. Ordered from least to most powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Member,
    GroupAdmin,
    OrgAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::GroupAdmin => "group-admin",
            Role::OrgAdmin => "org-admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "member" => Some(Role::Member),
            "group-admin" => Some(Role::GroupAdmin),
            "org-admin" => Some(Role::OrgAdmin),
            _ => None,
        }
    }
}

/// A person's role in one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRole {
    Member,
    Admin,
}

impl GroupRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Member => "member",
            GroupRole::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<GroupRole> {
        match raw {
            "member" => Some(GroupRole::Member),
            "admin" => Some(GroupRole::Admin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_from_member_to_org_admin() {
        assert!(Role::Member < Role::GroupAdmin && Role::GroupAdmin < Role::OrgAdmin);
    }

    #[test]
    fn roles_read_back_from_their_names() {
        for role in [Role::Member, Role::GroupAdmin, Role::OrgAdmin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("org_admin"), Some(Role::OrgAdmin));
        assert_eq!(Role::parse("root"), None);
    }
}
