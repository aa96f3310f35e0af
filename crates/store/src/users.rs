//! The people of an org: the attribute schema and the users.

use chrono::{DateTime, Utc};
use steward_domain::{
    AttributeChanges, AttributeDef, AttributeKey, AttributeValue, GroupId, OrgId, PersonName,
    PhoneNumber, UpsertOutcome, User, UserUpsert,
};

use crate::{Page, StoreResult};

/// Which users to list. Pages are ordered by phone number; `after` is the cursor.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    pub limit: u32,
    pub after: Option<String>,
    /// Matches a name prefix (any case) or a phone prefix (digits, `+` optional).
    pub search: Option<String>,
    pub include_deleted: bool,
    /// Only members of these groups (a group admin's view); `None` for everyone.
    pub in_groups: Option<Vec<GroupId>>,
    /// Only users whose attribute equals the value (all must hold).
    pub attribute_filters: Vec<(AttributeKey, AttributeValue)>,
    pub sort: UserSort,
}

/// The order of a user list. Every order ends with the phone, so it is total and a
/// cursor can resume it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    Phone,
    PhoneDesc,
    Name,
    NameDesc,
}

/// New values for one attribute, by user phone (`None` clears the value).
pub type AttributeRewrite = (AttributeKey, Vec<(PhoneNumber, Option<AttributeValue>)>);

/// The attribute schema and the users of each org.
pub trait UserStore {
    /// The attribute schema, in display order.
    fn attribute_defs(&self, org: OrgId) -> StoreResult<Vec<AttributeDef>>;
    fn put_attribute_defs(&self, org: OrgId, defs: &[AttributeDef]) -> StoreResult<()>;
    /// Every stored value of one attribute, by user phone.
    fn attribute_values(
        &self,
        org: OrgId,
        key: &AttributeKey,
    ) -> StoreResult<Vec<(PhoneNumber, serde_json::Value)>>;
    /// How many active users have no value for `key`, and up to `examples` of them.
    fn users_missing_attribute(
        &self,
        org: OrgId,
        key: &AttributeKey,
        examples: u32,
    ) -> StoreResult<(u64, Vec<PhoneNumber>)>;
    /// Saves a new schema in one transaction: removes the values of `removed` keys and
    /// rewrites the listed values (a type change), then replaces the definitions.
    fn save_attribute_schema(
        &self,
        org: OrgId,
        defs: &[AttributeDef],
        removed: &[AttributeKey],
        rewrites: &[AttributeRewrite],
    ) -> StoreResult<()>;

    /// The users with this phone, in every org (a member's identity spans orgs).
    fn find_users_by_phone(&self, phone: &PhoneNumber) -> StoreResult<Vec<User>>;
    fn get_user(&self, org: OrgId, phone: &PhoneNumber) -> StoreResult<Option<User>>;
    fn list_users(&self, org: OrgId, query: &UserQuery) -> StoreResult<Page<User>>;
    fn count_users(&self, org: OrgId) -> StoreResult<u64>;
    /// Creates one user; a phone already in the org is a conflict.
    fn create_user(&self, org: OrgId, user: &UserUpsert, now: DateTime<Utc>) -> StoreResult<User>;
    /// Changes a user's name and attributes; `None` if there is no such user.
    fn update_user(
        &self,
        org: OrgId,
        phone: &PhoneNumber,
        name: Option<&PersonName>,
        changes: &AttributeChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;
    /// Creates or updates users by phone; rows equal to what is stored are left alone.
    fn upsert_users(
        &self,
        org: OrgId,
        rows: &[UserUpsert],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<UpsertOutcome>>;
}
