//! What members share in groups: messages and their attachments, actions and their
//! responses, connectors, publications to groups, telemetry, and the figures counted
//! from them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use steward_domain::content::{
    Action, ActionResponse, Attachment, Connector, Message, Publication, TelemetryEvent,
};
use steward_domain::{ActionId, AttachmentId, ConnectorId, GroupId, MessageId, OrgId, UserId};

use crate::StoreResult;

/// The kinds of item that are published to groups. Both are stored alike: an item of
/// the org, made by a member, published to groups by someone at some time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublishableKind {
    Action,
    Connector,
}

/// The id of an item that is published to groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublishableId {
    Action(ActionId),
    Connector(ConnectorId),
}

impl PublishableId {
    pub fn kind(self) -> PublishableKind {
        match self {
            PublishableId::Action(_) => PublishableKind::Action,
            PublishableId::Connector(_) => PublishableKind::Connector,
        }
    }
}

impl std::fmt::Display for PublishableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishableId::Action(id) => id.fmt(f),
            PublishableId::Connector(id) => id.fmt(f),
        }
    }
}

impl From<ActionId> for PublishableId {
    fn from(id: ActionId) -> Self {
        PublishableId::Action(id)
    }
}

impl From<ConnectorId> for PublishableId {
    fn from(id: ConnectorId) -> Self {
        PublishableId::Connector(id)
    }
}

/// An item that is published to groups.
#[derive(Clone, Debug, PartialEq)]
pub enum Publishable {
    Action(Action),
    Connector(Connector),
}

impl Publishable {
    pub fn id(&self) -> PublishableId {
        match self {
            Publishable::Action(a) => PublishableId::Action(a.id),
            Publishable::Connector(c) => PublishableId::Connector(c.id),
        }
    }

    pub fn org_id(&self) -> OrgId {
        match self {
            Publishable::Action(a) => a.org_id,
            Publishable::Connector(c) => c.org_id,
        }
    }

    /// The action, if this is one.
    pub fn into_action(self) -> Option<Action> {
        match self {
            Publishable::Action(a) => Some(a),
            Publishable::Connector(_) => None,
        }
    }

    /// The connector, if this is one.
    pub fn into_connector(self) -> Option<Connector> {
        match self {
            Publishable::Connector(c) => Some(c),
            Publishable::Action(_) => None,
        }
    }
}

impl From<Action> for Publishable {
    fn from(action: Action) -> Self {
        Publishable::Action(action)
    }
}

impl From<Connector> for Publishable {
    fn from(connector: Connector) -> Self {
        Publishable::Connector(connector)
    }
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

/// A kind of data an org holds, as [`ContentStore::data_counts`] counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKind {
    Users,
    AttributeDefs,
    Groups,
    Memberships,
    Messages,
    Attachments,
    Actions,
    ActionResponses,
    Connectors,
    /// Actions and connectors published to groups.
    Publications,
    Telemetry,
    Audit,
    Jobs,
    /// Errors and repairs recorded for a job's input rows.
    JobRowNotes,
    /// What became of each of a job's input rows.
    JobRowOutcomes,
    /// The files a job produced.
    JobOutputs,
    ApiTokens,
    Accounts,
}

impl DataKind {
    /// Every kind, in a stable order.
    pub const ALL: [DataKind; 18] = [
        DataKind::Users,
        DataKind::AttributeDefs,
        DataKind::Groups,
        DataKind::Memberships,
        DataKind::Messages,
        DataKind::Attachments,
        DataKind::Actions,
        DataKind::ActionResponses,
        DataKind::Connectors,
        DataKind::Publications,
        DataKind::Telemetry,
        DataKind::Audit,
        DataKind::Jobs,
        DataKind::JobRowNotes,
        DataKind::JobRowOutcomes,
        DataKind::JobOutputs,
        DataKind::ApiTokens,
        DataKind::Accounts,
    ];

    /// A stable name for reports and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::Users => "users",
            DataKind::AttributeDefs => "attribute_defs",
            DataKind::Groups => "groups",
            DataKind::Memberships => "memberships",
            DataKind::Messages => "messages",
            DataKind::Attachments => "attachments",
            DataKind::Actions => "actions",
            DataKind::ActionResponses => "action_responses",
            DataKind::Connectors => "connectors",
            DataKind::Publications => "publications",
            DataKind::Telemetry => "telemetry",
            DataKind::Audit => "audit",
            DataKind::Jobs => "jobs",
            DataKind::JobRowNotes => "job_row_notes",
            DataKind::JobRowOutcomes => "job_row_outcomes",
            DataKind::JobOutputs => "job_outputs",
            DataKind::ApiTokens => "api_tokens",
            DataKind::Accounts => "accounts",
        }
    }
}

/// How much of each kind of data an org holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataCounts(pub Vec<(DataKind, u64)>);

impl DataCounts {
    /// How many of `kind` there are (0 if not counted).
    pub fn get(&self, kind: DataKind) -> u64 {
        self.0
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

/// Messages, attachments, publishable items (actions and connectors), responses,
/// telemetry and the figures counted from them. Bulk inserts (used by the demo) skip
/// rows of another org than the one named, and rows pointing at another org's data.
pub trait ContentStore {
    fn insert_messages(&self, org: OrgId, messages: &[Message]) -> StoreResult<()>;
    fn get_message(&self, org: OrgId, id: MessageId) -> StoreResult<Option<Message>>;
    /// A group's messages, newest first; `before` is the cursor (a message id).
    fn list_messages(
        &self,
        org: OrgId,
        group: GroupId,
        before: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// Stores an attachment of a message of its org; skipped if there is no such message.
    fn insert_attachment(&self, attachment: &Attachment) -> StoreResult<()>;
    fn get_attachment(&self, org: OrgId, id: AttachmentId) -> StoreResult<Option<Attachment>>;

    fn insert_publishables(&self, org: OrgId, items: &[Publishable]) -> StoreResult<()>;
    /// Publishes items to groups; both must belong to `org`, others are skipped.
    fn publish(&self, org: OrgId, items: &[Publication<PublishableId>]) -> StoreResult<()>;
    /// Items of one kind in the org, newest first; only those created by `created_by`
    /// if given.
    fn list_publishables(
        &self,
        org: OrgId,
        kind: PublishableKind,
        created_by: Option<UserId>,
    ) -> StoreResult<Vec<Publishable>>;
    fn get_publishable(&self, org: OrgId, id: PublishableId) -> StoreResult<Option<Publishable>>;
    /// The groups an item is published to.
    fn published_groups(&self, org: OrgId, id: PublishableId) -> StoreResult<Vec<GroupId>>;
    /// Takes an item out of a group; false if it was not published there.
    fn unpublish(&self, org: OrgId, id: PublishableId, group: GroupId) -> StoreResult<bool>;

    fn insert_action_responses(&self, org: OrgId, rows: &[ActionResponse]) -> StoreResult<()>;
    fn insert_telemetry(&self, org: OrgId, events: &[TelemetryEvent]) -> StoreResult<()>;
    /// Activity figures of one group since the given times.
    fn group_report(
        &self,
        org: OrgId,
        group: GroupId,
        since_7d: DateTime<Utc>,
        since_30d: DateTime<Utc>,
    ) -> StoreResult<GroupReport>;
    /// How much of each kind of data the org holds.
    fn data_counts(&self, org: OrgId) -> StoreResult<DataCounts>;
}
