//! The storage interface of Steward: one trait shaped like its use cases, and the blob
//! store for large files.
//!
//! The web and app layers only ever see [`Store`] and [`BlobStore`]; every backend
//! (SQLite embedded by default, PostgreSQL later) implements them and passes the same
//! conformance suite. Every method that touches tenant data takes the [`OrgId`] and the
//! backend filters by it, so one org can never read or change another's rows.

mod blob;
mod jobs;

use chrono::{DateTime, Utc};
use serde::Serialize;
use steward_domain::content::{
    Action, ActionResponse, Attachment, AuditEvent, Connector, Message, Publication, TelemetryEvent,
};
use steward_domain::group::{Group, Membership};
use steward_domain::{
    Account, AccountId, ActionId, ApiToken, AttachmentId, AttributeChanges, AttributeDef,
    AttributeKey, AttributeValue, ConnectorId, GroupId, GroupRole, MessageId, Org, OrgId, OtpCode,
    PersonName, PhoneNumber, Session, SmsMessage, TokenId, UpsertOutcome, User, UserId, UserUpsert,
};

pub use blob::{BlobError, BlobInfo, BlobKey, BlobReader, BlobStore, LocalBlobStore};
pub use jobs::{
    Heartbeat, JobCheckpoint, JobEnd, JobLease, JobOutput, JobQuery, JobStore, JobTx, NoteKind,
    OutcomeRun, RowError, RowOutcome, StepWork,
};

/// What can go wrong in a store. Backend details stay in `Backend` for logs; callers
/// decide what a person sees.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The worker no longer holds the job (its lease ran out and another worker took
    /// it, or the job was finished): its work must not be committed.
    #[error("the job's lease was lost")]
    LeaseLost,
    /// Data in the store could not be read back into domain values.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a list, with an opaque cursor for the next page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

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

/// Which audit events to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: u32,
    pub after: Option<String>,
}

/// What a group report counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupReport {
    pub members: u64,
    /// Members who sent a message or answered an action in the last 7 days.
    pub active_members_7d: u64,
    pub active_members_30d: u64,
    pub messages: u64,
    pub actions: u64,
    pub responses: u64,
}

/// A token as found by its secret's hash.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenHash(pub [u8; 32]);

/// The storage interface. Methods are shaped like use cases; each is one transaction.
pub trait Store: JobStore + Send + Sync + 'static {
    /// Checks the store answers (for `/readyz`).
    fn ping(&self) -> StoreResult<()>;

    // Orgs and credentials.
    fn create_org(&self, org: &Org) -> StoreResult<()>;
    fn get_org(&self, id: OrgId) -> StoreResult<Option<Org>>;
    fn find_orgs_by_name(&self, name: &str) -> StoreResult<Vec<Org>>;
    fn create_api_token(&self, token: &ApiToken, hash: &TokenHash) -> StoreResult<()>;
    fn find_api_token(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>>;
    fn touch_api_token(&self, id: TokenId, at: DateTime<Utc>) -> StoreResult<()>;
    fn list_api_tokens(&self, org: OrgId) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token of the org; false if there is none.
    fn revoke_api_token(&self, org: OrgId, id: TokenId, at: DateTime<Utc>) -> StoreResult<bool>;

    // Admin accounts and sessions.
    fn create_account(&self, account: &Account, password_hash: &str) -> StoreResult<()>;
    /// The account with this email, and its password hash.
    fn find_account_by_email(&self, email: &str) -> StoreResult<Option<(Account, String)>>;
    fn get_account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    /// Disables an account of the org and ends its sessions; false if there is none.
    fn disable_account(&self, org: OrgId, id: AccountId, at: DateTime<Utc>) -> StoreResult<bool>;
    fn create_session(&self, session: &Session, hash: &TokenHash) -> StoreResult<()>;
    fn find_session(&self, hash: &TokenHash) -> StoreResult<Option<Session>>;
    fn touch_session(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()>;
    fn delete_session(&self, hash: &TokenHash) -> StoreResult<()>;

    // One-time codes for members, and the default SMS sender's outbox.
    fn create_otp(&self, otp: &OtpCode) -> StoreResult<()>;
    /// The newest code sent to a phone.
    fn latest_otp(&self, phone: &PhoneNumber) -> StoreResult<Option<OtpCode>>;
    /// Marks the code used, if it is unused and under `max_attempts`; true if this
    /// call used it (so two verifications of one code cannot both succeed).
    fn use_otp(&self, id: uuid::Uuid, max_attempts: u32, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Counts a wrong guess against the code.
    fn fail_otp(&self, id: uuid::Uuid) -> StoreResult<()>;
    fn push_sms(&self, message: &SmsMessage) -> StoreResult<()>;
    /// The newest messages first.
    fn sms_outbox(&self, limit: u32) -> StoreResult<Vec<SmsMessage>>;

    /// The users with this phone, in every org (a member's identity spans orgs).
    fn find_users_by_phone(&self, phone: &PhoneNumber) -> StoreResult<Vec<User>>;
    /// The groups a user belongs to, with their role in each.
    fn group_roles(&self, org: OrgId, user: UserId) -> StoreResult<Vec<(GroupId, GroupRole)>>;

    // Attribute schema, in display order.
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

    // Users.
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

    // Groups and content (bulk inserts used by the demo and, later, the API).
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
    fn insert_messages(&self, org: OrgId, messages: &[Message]) -> StoreResult<()>;
    fn get_message(&self, org: OrgId, id: MessageId) -> StoreResult<Option<Message>>;
    fn insert_attachment(&self, attachment: &Attachment) -> StoreResult<()>;
    fn get_attachment(&self, org: OrgId, id: AttachmentId) -> StoreResult<Option<Attachment>>;
    fn insert_actions(&self, org: OrgId, actions: &[Action]) -> StoreResult<()>;
    fn publish_actions(&self, org: OrgId, items: &[Publication<ActionId>]) -> StoreResult<()>;
    fn insert_action_responses(&self, org: OrgId, rows: &[ActionResponse]) -> StoreResult<()>;
    fn insert_connectors(&self, org: OrgId, connectors: &[Connector]) -> StoreResult<()>;
    fn publish_connectors(&self, org: OrgId, items: &[Publication<ConnectorId>])
    -> StoreResult<()>;
    fn insert_telemetry(&self, org: OrgId, events: &[TelemetryEvent]) -> StoreResult<()>;
    /// A group's messages, newest first; `before` is the cursor (a message id).
    fn list_messages(
        &self,
        org: OrgId,
        group: GroupId,
        before: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// Actions of the org, newest first; only those created by `created_by` if given.
    fn list_actions(&self, org: OrgId, created_by: Option<UserId>) -> StoreResult<Vec<Action>>;
    fn get_action(&self, org: OrgId, id: ActionId) -> StoreResult<Option<Action>>;
    /// The groups an action is published to.
    fn action_groups(&self, org: OrgId, id: ActionId) -> StoreResult<Vec<GroupId>>;
    fn unpublish_action(&self, org: OrgId, id: ActionId, group: GroupId) -> StoreResult<bool>;
    fn list_connectors(
        &self,
        org: OrgId,
        created_by: Option<UserId>,
    ) -> StoreResult<Vec<Connector>>;
    fn get_connector(&self, org: OrgId, id: ConnectorId) -> StoreResult<Option<Connector>>;
    fn connector_groups(&self, org: OrgId, id: ConnectorId) -> StoreResult<Vec<GroupId>>;
    fn unpublish_connector(&self, org: OrgId, id: ConnectorId, group: GroupId)
    -> StoreResult<bool>;
    /// Activity figures of one group since the given times.
    fn group_report(
        &self,
        org: OrgId,
        group: GroupId,
        since_7d: DateTime<Utc>,
        since_30d: DateTime<Utc>,
    ) -> StoreResult<GroupReport>;
    fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    fn list_audit(&self, org: OrgId, query: &AuditQuery) -> StoreResult<Page<AuditEvent>>;
    /// How many rows of each kind of data the org holds, by table name.
    fn data_counts(&self, org: OrgId) -> StoreResult<Vec<(String, u64)>>;
}
