//! Groups and their members.

use steward_domain::group::{Group, Membership};
use steward_domain::{GroupId, GroupRole, OrgId, User, UserId};

use crate::StoreResult;

/// Groups, memberships and the roles they give.
pub trait GroupStore {
    /// Inserts groups in bulk (the demo); groups of another org than `org` are skipped.
    fn insert_groups(&self, org: OrgId, groups: &[Group]) -> StoreResult<()>;
    fn list_groups(&self, org: OrgId) -> StoreResult<Vec<Group>>;
    fn get_group(&self, org: OrgId, id: GroupId) -> StoreResult<Option<Group>>;
    /// Saves a group's name, parent and mapping.
    fn update_group(&self, group: &Group) -> StoreResult<()>;
    /// Adds a member, or changes their role.
    fn put_membership(&self, membership: &Membership) -> StoreResult<()>;
    /// Removes a member; false if they were not one.
    fn remove_membership(&self, org: OrgId, group: GroupId, user: UserId) -> StoreResult<bool>;
    /// A group's members with their roles, ordered by phone.
    fn group_members(&self, org: OrgId, group: GroupId) -> StoreResult<Vec<(User, GroupRole)>>;
    fn insert_memberships(&self, org: OrgId, memberships: &[Membership]) -> StoreResult<()>;
    /// The groups a user belongs to, with their role in each.
    fn group_roles(&self, org: OrgId, user: UserId) -> StoreResult<Vec<(GroupId, GroupRole)>>;
}
