//! What people produce in groups: messages, attachments, actions and their responses,
//! connectors; and the records kept about it: telemetry and audit events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{
    ActionId, AttachmentId, AuditId, ConnectorId, GroupId, MessageId, OrgId, ResponseId,
    TelemetryId, UserId,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub org_id: OrgId,
    pub group_id: GroupId,
    pub sender_id: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub org_id: OrgId,
    pub message_id: MessageId,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// Where the bytes live in the blob store.
    pub blob_key: String,
    pub created_at: DateTime<Utc>,
}

/// The kinds of Kaizala Actions Steward models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Poll,
    Survey,
    Announcement,
    Job,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Poll => "poll",
            ActionKind::Survey => "survey",
            ActionKind::Announcement => "announcement",
            ActionKind::Job => "job",
        }
    }

    pub fn parse(raw: &str) -> Option<ActionKind> {
        match raw {
            "poll" => Some(ActionKind::Poll),
            "survey" => Some(ActionKind::Survey),
            "announcement" => Some(ActionKind::Announcement),
            "job" => Some(ActionKind::Job),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub text: String,
    /// Empty for a free-text question.
    pub options: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: ActionId,
    pub org_id: OrgId,
    pub kind: ActionKind,
    pub title: String,
    pub questions: Vec<Question>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionResponse {
    pub id: ResponseId,
    pub org_id: OrgId,
    pub action_id: ActionId,
    pub group_id: GroupId,
    pub user_id: UserId,
    /// One answer per question, in order.
    pub answers: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Where an action or connector is published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Publication<T> {
    pub org_id: OrgId,
    pub item_id: T,
    pub group_id: GroupId,
    /// Who published, as the audit log names them (`user:<phone>`, `token:<id>`, ...).
    pub published_by: String,
    pub published_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Connector {
    pub id: ConnectorId,
    pub org_id: OrgId,
    pub name: String,
    /// Integration-specific settings, shown to admins; secrets never live here.
    pub config: serde_json::Value,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TelemetryEvent {
    pub id: TelemetryId,
    pub org_id: OrgId,
    pub user_id: Option<UserId>,
    /// `sign_in`, `message_sent`, `action_response`, `api_call`, ...
    pub kind: String,
    pub properties: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditId,
    pub org_id: OrgId,
    /// Who acted: `token:<id>`, `account:<id>`, `user:<phone>` or `cli`.
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub at: DateTime<Utc>,
}
