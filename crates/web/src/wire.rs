//! The JSON the API answers with: one typed struct per body, each with its OpenAPI
//! schema, built from the domain's values by a `From` at the edge.
//!
//! Domain types stay free of HTTP concerns (and of `utoipa`); a wire type here decides
//! what a client sees, so nothing internal (blob keys, job payloads, checkpoints)
//! leaves by accident when a domain type grows a field. Request bodies live next to
//! their handlers, since each is read by one handler only.

use chrono::{DateTime, Utc};
use serde::Serialize;
use steward_app::import::ImportUsers;
use steward_domain::content::{
    Action, ActionKind, ActionResponse, Attachment, AuditEvent, Connector, Message, Question,
};
use steward_domain::group::Group;
use steward_domain::{
    AccountId, ActionId, ApiToken, AttachmentId, AttributeDef, AttributeType, AuditId, ConnectorId,
    Counts, Feature, GroupId, GroupRole, Job, JobId, JobKind, JobStatus, MessageId, OrgId, Plan,
    ResponseId, Role, TokenId, User, UserId,
};
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, Object, SchemaFormat, SchemaType, Type};
use utoipa::{IntoParams, ToSchema};

/// A string schema limited to `values`: how the domain's enums appear on the wire.
fn names(values: &[&str]) -> Object {
    Object::builder()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(values.iter().copied()))
        .build()
}

pub(crate) fn role_schema() -> Object {
    names(&["member", "group-admin", "org-admin"])
}
pub(crate) fn group_role_schema() -> Object {
    names(&["member", "admin"])
}
fn job_kind_schema() -> Object {
    names(&[
        "import_users",
        "export_users",
        "export_tenant",
        "delete_users",
        "purge_users",
        "delete_org",
    ])
}
fn job_status_schema() -> Object {
    names(&[
        "queued",
        "running",
        "completed",
        "completed_with_errors",
        "failed",
        "canceled",
    ])
}
pub(crate) fn action_kind_schema() -> Object {
    names(&["poll", "survey", "announcement", "job"])
}
fn attribute_type_schema() -> Object {
    names(&["string", "number", "yes_no", "datetime"])
}
pub(crate) fn user_status_schema() -> Object {
    names(&["active", "deleted"])
}
pub(crate) fn user_source_schema() -> Object {
    names(&["upload", "group", "api", "scim"])
}

/// One page of a list, with an opaque cursor for the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

impl<T, U: Into<T>> From<steward_store::Page<U>> for Page<T> {
    fn from(page: steward_store::Page<U>) -> Page<T> {
        Page {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
            total: page.total,
        }
    }
}

/// A whole list, small enough to answer at once.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Items<T> {
    pub fn of<U: Into<T>>(all: Vec<U>) -> Items<T> {
        let items: Vec<T> = all.into_iter().map(Into::into).collect();
        Items {
            total: items.len() as u64,
            items,
        }
    }
}

/// How far a job has come.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressJson {
    pub done: u64,
    pub total: u64,
}

/// What a person chose for an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobOptionsJson {
    /// Validate and count only; no user is written.
    pub dry_run: bool,
    /// The column mapping the file is read with, if not the default.
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<serde_json::Value>,
}

/// A background job as a client sees it: never its internal payload or checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: JobId,
    #[schema(schema_with = job_kind_schema)]
    pub kind: JobKind,
    #[schema(schema_with = job_status_schema)]
    pub status: JobStatus,
    pub file_name: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: ProgressJson,
    /// What the job counted, by name, in its order (an import: created, updated, unchanged, failed).
    #[schema(value_type = BTreeMap<String, u64>)]
    pub counts: Counts,
    /// How many times a worker has started the job (more than one after a crash).
    pub attempts: u32,
    /// Why the job failed, in one sentence.
    pub error: Option<String>,
    /// How long the job ran, from its first start to its end.
    pub duration_ms: Option<i64>,
    /// The options of an import or a bulk user deletion; absent for other kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<JobOptionsJson>,
}

impl From<&Job> for JobJson {
    fn from(job: &Job) -> JobJson {
        let options = matches!(job.kind, JobKind::ImportUsers | JobKind::DeleteUsers)
            .then(|| ImportUsers::of(job).ok().map(|payload| payload.options))
            .flatten()
            .map(|o| JobOptionsJson {
                dry_run: o.dry_run,
                mapping: o.mapping.and_then(|m| serde_json::to_value(m).ok()),
            });
        JobJson {
            id: job.id,
            kind: job.kind,
            status: job.status,
            file_name: job.file_name.clone(),
            created_by: job.created_by.clone(),
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            progress: ProgressJson {
                done: job.progress.done,
                total: job.progress.total,
            },
            counts: job.counts.clone(),
            attempts: job.attempts,
            error: job.error.clone(),
            duration_ms: job.duration_ms(),
            options,
        }
    }
}

impl From<Job> for JobJson {
    fn from(job: Job) -> JobJson {
        JobJson::from(&job)
    }
}

/// One attribute of an org's schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeDefJson {
    pub key: String,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(schema_with = attribute_type_schema)]
    pub ty: AttributeType,
    pub mandatory: bool,
    pub suggested: bool,
}

impl From<AttributeDef> for AttributeDefJson {
    fn from(d: AttributeDef) -> AttributeDefJson {
        AttributeDefJson {
            key: d.key.as_str().to_owned(),
            name: d.name,
            ty: d.ty,
            mandatory: d.mandatory,
            suggested: d.suggested,
        }
    }
}

/// The org's attribute schema: the whole list.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributesJson {
    pub attributes: Vec<AttributeDefJson>,
}

impl AttributesJson {
    pub fn of(defs: Vec<AttributeDef>) -> AttributesJson {
        AttributesJson {
            attributes: defs.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: GroupId,
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub parent_id: Option<GroupId>,
    pub name: String,
    /// Mapped to the org: org data. Unmapped groups hold consumer data.
    pub org_mapped: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Group> for GroupJson {
    fn from(g: Group) -> GroupJson {
        GroupJson {
            id: g.id,
            org_id: g.org_id,
            parent_id: g.parent_id,
            name: g.name.as_str().to_owned(),
            org_mapped: g.org_mapped,
            created_at: g.created_at,
        }
    }
}

/// A group with how many members and admins it has.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDetailJson {
    pub group: GroupJson,
    pub members: u64,
    pub admins: u64,
}

/// A member of a group, with their role in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    pub user: UserJson,
    #[schema(schema_with = group_role_schema)]
    pub role: GroupRole,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: MessageId,
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    #[schema(value_type = uuid::Uuid)]
    pub group_id: GroupId,
    #[schema(value_type = uuid::Uuid)]
    pub sender_id: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<Message> for MessageJson {
    fn from(m: Message) -> MessageJson {
        MessageJson {
            id: m.id,
            org_id: m.org_id,
            group_id: m.group_id,
            sender_id: m.sender_id,
            body: m.body,
            created_at: m.created_at,
        }
    }
}

/// A page of a group's messages, newest first; `next_cursor` is the `before` of the
/// next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagesJson {
    pub items: Vec<MessageJson>,
    pub next_cursor: Option<String>,
}

/// A file attached to a message; where its bytes are stored stays inside.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: AttachmentId,
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    #[schema(value_type = uuid::Uuid)]
    pub message_id: MessageId,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    pub created_at: DateTime<Utc>,
}

impl From<Attachment> for AttachmentJson {
    fn from(a: Attachment) -> AttachmentJson {
        AttachmentJson {
            id: a.id,
            org_id: a.org_id,
            message_id: a.message_id,
            file_name: a.file_name,
            content_type: a.content_type,
            size: a.size,
            created_at: a.created_at,
        }
    }
}

/// A question of an action; `options` is empty for a free-text question.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionJson {
    pub text: String,
    pub options: Vec<String>,
}

impl From<Question> for QuestionJson {
    fn from(q: Question) -> QuestionJson {
        QuestionJson {
            text: q.text,
            options: q.options,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: ActionId,
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    #[schema(schema_with = action_kind_schema)]
    pub kind: ActionKind,
    pub title: String,
    pub questions: Vec<QuestionJson>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

impl From<Action> for ActionJson {
    fn from(a: Action) -> ActionJson {
        ActionJson {
            id: a.id,
            org_id: a.org_id,
            kind: a.kind,
            title: a.title,
            questions: a.questions.into_iter().map(Into::into).collect(),
            created_by: a.created_by,
            created_at: a.created_at,
        }
    }
}

/// A member's answers to an action, one per question.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionResponseJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: ResponseId,
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    #[schema(value_type = uuid::Uuid)]
    pub action_id: ActionId,
    #[schema(value_type = uuid::Uuid)]
    pub group_id: GroupId,
    #[schema(value_type = uuid::Uuid)]
    pub user_id: UserId,
    pub answers: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<ActionResponse> for ActionResponseJson {
    fn from(r: ActionResponse) -> ActionResponseJson {
        ActionResponseJson {
            id: r.id,
            org_id: r.org_id,
            action_id: r.action_id,
            group_id: r.group_id,
            user_id: r.user_id,
            answers: r.answers,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: ConnectorId,
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    pub name: String,
    /// Integration-specific settings; secrets never live here.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

impl From<Connector> for ConnectorJson {
    fn from(c: Connector) -> ConnectorJson {
        ConnectorJson {
            id: c.id,
            org_id: c.org_id,
            name: c.name,
            config: c.config,
            created_by: c.created_by,
            created_at: c.created_at,
        }
    }
}

/// What a group report counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupReportJson {
    pub members: u64,
    /// Members who sent a message or answered an action in the last 7 days.
    pub active_members_7d: u64,
    pub active_members_30d: u64,
    pub messages: u64,
    pub actions: u64,
    pub responses: u64,
}

impl From<steward_store::GroupReport> for GroupReportJson {
    fn from(r: steward_store::GroupReport) -> GroupReportJson {
        GroupReportJson {
            members: r.members,
            active_members_7d: r.active_members_7d,
            active_members_30d: r.active_members_30d,
            messages: r.messages,
            actions: r.actions,
            responses: r.responses,
        }
    }
}

/// One group's report.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupReportItem {
    pub group: GroupJson,
    pub report: GroupReportJson,
}

/// The org's totals over the groups reported.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct OrgTotalsJson {
    pub messages: u64,
    pub actions: u64,
    pub responses: u64,
}

/// The reports the caller may see; `org` only for org admins.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportsJson {
    pub items: Vec<GroupReportItem>,
    pub org: Option<OrgTotalsJson>,
}

/// An API token as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: TokenId,
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    #[schema(schema_with = role_schema)]
    pub role: Role,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for ApiTokenJson {
    fn from(t: ApiToken) -> ApiTokenJson {
        ApiTokenJson {
            id: t.id,
            org_id: t.org_id,
            role: t.role,
            label: t.label,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new API token: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenJson {
    /// The secret, `stw_...`; send it as `Authorization: Bearer <token>`.
    pub token: String,
    #[schema(value_type = uuid::Uuid)]
    pub id: TokenId,
    #[schema(schema_with = role_schema)]
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: AuditId,
    #[schema(value_type = uuid::Uuid)]
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

impl From<AuditEvent> for AuditEventJson {
    fn from(e: AuditEvent) -> AuditEventJson {
        AuditEventJson {
            id: e.id,
            org_id: e.org_id,
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            request_id: e.request_id,
            ip: e.ip,
            at: e.at,
        }
    }
}

/// The account a session belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: AccountId,
    pub email: String,
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
}

/// A fresh admin session; the session itself travels in the cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginJson {
    pub account: AccountJson,
    /// Echo it in `x-csrf-token` on every cookie-authenticated write.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The same answer whoever asks, so it tells nothing about who is a member.
#[derive(Debug, Serialize, ToSchema)]
pub struct OtpStartedJson {
    #[schema(example = "sent")]
    pub status: &'static str,
    pub detail: &'static str,
}

/// A member session: send `token` as `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberSessionJson {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// An org a member belongs to, with their name there.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOrgJson {
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    pub name: String,
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MeJson {
    Token {
        #[schema(value_type = uuid::Uuid)]
        token_id: TokenId,
        #[schema(value_type = uuid::Uuid)]
        org_id: OrgId,
        #[schema(schema_with = role_schema)]
        role: Role,
        label: String,
        /// The org's plan.
        #[schema(schema_with = plan_schema)]
        plan: Plan,
        /// The features of the plan beyond those of every plan.
        #[schema(schema_with = features_schema)]
        features: Vec<Feature>,
    },
    Admin {
        #[schema(value_type = uuid::Uuid)]
        account_id: AccountId,
        email: String,
        #[schema(value_type = uuid::Uuid)]
        org_id: OrgId,
        #[schema(schema_with = role_schema)]
        role: Role,
        /// The org's plan.
        #[schema(schema_with = plan_schema)]
        plan: Plan,
        /// The features of the plan beyond those of every plan.
        #[schema(schema_with = features_schema)]
        features: Vec<Feature>,
    },
    Member {
        phone: String,
        orgs: Vec<MemberOrgJson>,
    },
}

/// A path parameter of the OpenAPI document. The handlers read their path as strings
/// (a malformed id is a 404 like a missing one), so these types only describe it.
fn path_param(name: &str, description: &str, uuid: bool) -> Parameter {
    let schema = Object::builder().schema_type(SchemaType::Type(Type::String));
    let schema = if uuid {
        schema.format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
    } else {
        schema
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema.build()))
        .build()
}

macro_rules! path_params {
    ($($ty:ident = $name:literal, $uuid:literal, $description:literal;)*) => {$(
        #[doc = $description]
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl IntoParams for $ty {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                vec![path_param($name, $description, $uuid)]
            }
        }
    )*};
}

path_params! {
    OrgPath = "org", true, "The org's id.";
    PhonePath = "phone", false, "The user's phone number in E.164, `+` URL-encoded as `%2B`.";
    GroupPath = "id", true, "The group's id.";
    ImportPath = "id", true, "The import job's id.";
    TokenPath = "id", true, "The API token's id.";
    ActionPath = "id", true, "The action's id.";
    ConnectorPath = "id", true, "The connector's id.";
    MessagePath = "message", true, "The message's id.";
    AttachmentPath = "attachment", true, "The attachment's id.";
    ExportPath = "id", true, "The export job's id.";
    JobPath = "id", true, "The job's id.";
}

/// A user as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserJson {
    #[schema(example = "+14155550123")]
    phone: String,
    name: String,
    #[schema(schema_with = user_status_schema)]
    status: &'static str,
    #[schema(schema_with = user_source_schema)]
    source: &'static str,
    /// By attribute key: string, number, yes/no as a boolean, or an RFC 3339 time.
    #[schema(value_type = Object)]
    attributes: serde_json::Map<String, serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    deleted_at: Option<DateTime<Utc>>,
}

impl From<User> for UserJson {
    fn from(u: User) -> UserJson {
        UserJson {
            phone: u.phone.as_str().to_owned(),
            name: u.name.as_str().to_owned(),
            status: u.status.as_str(),
            source: u.source.as_str(),
            attributes: u
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_json()))
                .collect(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            deleted_at: u.deleted_at,
        }
    }
}

fn plan_schema() -> Object {
    names(&Plan::ALL.map(Plan::as_str))
}

fn features_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::Array::new(names(&Feature::ALL.map(Feature::as_str)))
}

path_params! {
    HoldPath = "id", true, "The legal hold's id.";
}

/// A deleted user, until the purge: who deleted them, when, and when the purge is due.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedUserJson {
    #[schema(example = "+14155550123")]
    pub phone: String,
    pub name: String,
    /// Always `deleted`.
    pub status: &'static str,
    pub deleted_at: DateTime<Utc>,
    /// Who deleted them, as the audit log names them.
    pub deleted_by: String,
    /// From when the purge removes them for good (unless a legal hold covers them).
    pub purge_after: DateTime<Utc>,
    /// A purge has begun: they can no longer be restored.
    pub purging: bool,
    /// How many org-group memberships a restore gives back.
    pub memberships: usize,
    /// Whether a legal hold keeps them from being purged (lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub held: Option<bool>,
    /// What the purge will remove, rows per kind (lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, u64>>, required = false)]
    pub to_purge: Option<Counts>,
}

impl From<steward_domain::lifecycle::DeletedUser> for DeletedUserJson {
    fn from(d: steward_domain::lifecycle::DeletedUser) -> DeletedUserJson {
        DeletedUserJson {
            phone: d.user.phone.as_str().to_owned(),
            name: d.user.name.as_str().to_owned(),
            status: d.user.status.as_str(),
            deleted_at: d.deleted_at,
            deleted_by: d.deleted_by,
            purge_after: d.purge_after,
            purging: d.purging,
            memberships: d.memberships.len(),
            held: None,
            to_purge: None,
        }
    }
}

impl From<steward_app::lifecycle::DeletedUserView> for DeletedUserJson {
    fn from(v: steward_app::lifecycle::DeletedUserView) -> DeletedUserJson {
        DeletedUserJson {
            held: Some(v.held),
            to_purge: Some(v.to_purge),
            ..DeletedUserJson::from(v.deleted)
        }
    }
}

/// A legal hold: while it stands, nothing it covers is purged.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: steward_domain::HoldId,
    /// `org` (every user of the org) or `user`.
    #[schema(example = "user")]
    pub scope: &'static str,
    /// The held user's phone (for a hold on one user).
    pub phone: Option<String>,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<steward_domain::lifecycle::LegalHold> for HoldJson {
    fn from(h: steward_domain::lifecycle::LegalHold) -> HoldJson {
        use steward_domain::lifecycle::HoldScope;
        let (scope, phone) = match h.scope {
            HoldScope::Org => ("org", None),
            HoldScope::User(_, phone) => ("user", Some(phone.as_str().to_owned())),
        };
        HoldJson {
            id: h.id,
            scope,
            phone,
            reason: h.reason,
            created_by: h.created_by,
            created_at: h.created_at,
        }
    }
}

/// What a purge leaves: no phone, only SHA-256 of the org's salt and the E.164 phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptJson {
    #[schema(value_type = uuid::Uuid)]
    pub id: steward_domain::ReceiptId,
    pub phone_hash: String,
    pub deleted_by: String,
    pub deleted_at: DateTime<Utc>,
    pub purged_by: String,
    pub purged_at: DateTime<Utc>,
    /// Rows removed per kind, and `blobs` (attachment files).
    #[schema(value_type = BTreeMap<String, u64>)]
    pub counts: Counts,
}

impl From<steward_domain::lifecycle::DeletionReceipt> for ReceiptJson {
    fn from(r: steward_domain::lifecycle::DeletionReceipt) -> ReceiptJson {
        ReceiptJson {
            id: r.id,
            phone_hash: r.phone_hash,
            deleted_by: r.deleted_by,
            deleted_at: r.deleted_at,
            purged_by: r.purged_by,
            purged_at: r.purged_at,
            counts: r.counts,
        }
    }
}

/// The org's user-lifecycle settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleSettingsJson {
    /// How many days (1 to 30) a deleted user stays restorable before the purge.
    pub purge_window_days: u32,
}

/// One step of an org's deletion, as its log (which outlives the org) records it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionEventJson {
    pub at: DateTime<Utc>,
    /// The requester (`account:<email>`, `cli`), or `job:<id>` for the background job.
    pub actor: String,
    #[schema(example = "org_database_removed")]
    pub step: String,
    pub detail: String,
}

/// Where the deletion of an org stands, and then its receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgDeletionJson {
    #[schema(value_type = uuid::Uuid)]
    pub org_id: OrgId,
    /// `running` until the org is gone, then `completed` (or the job's status if it
    /// failed; a failed deletion resumes when a worker runs it again).
    #[schema(schema_with = job_status_schema)]
    pub status: JobStatus,
    #[schema(value_type = uuid::Uuid)]
    pub job_id: JobId,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Phases done of four: the org's database, its files, its phones, the rest.
    pub progress: ProgressJson,
    /// What the org held when the deletion began (by kind), and, once it ends, what
    /// each phase removed (`removed_...`).
    #[schema(value_type = BTreeMap<String, u64>)]
    pub counts: Counts,
    /// What the job has removed so far.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub removed_so_far: Counts,
    /// Every step, oldest first.
    pub events: Vec<DeletionEventJson>,
}

impl From<&steward_app::org_deletion::DeletionStatus> for OrgDeletionJson {
    fn from(s: &steward_app::org_deletion::DeletionStatus) -> OrgDeletionJson {
        let r = &s.receipt;
        let (status, progress, removed) = match &s.job {
            _ if r.finished_at.is_some() => (
                JobStatus::Completed,
                ProgressJson { done: 4, total: 4 },
                s.job.as_ref().map(|j| j.counts.clone()).unwrap_or_default(),
            ),
            Some(job) => (
                job.status,
                ProgressJson {
                    done: job.progress.done,
                    total: job.progress.total,
                },
                job.counts.clone(),
            ),
            None => (
                JobStatus::Running,
                ProgressJson { done: 0, total: 4 },
                Counts::default(),
            ),
        };
        OrgDeletionJson {
            org_id: r.org_id,
            status,
            job_id: r.job_id,
            requested_by: r.requested_by.clone(),
            requested_at: r.requested_at,
            finished_at: r.finished_at,
            progress,
            counts: r.counts.clone(),
            removed_so_far: removed,
            events: s
                .events
                .iter()
                .map(|e| DeletionEventJson {
                    at: e.at,
                    actor: e.actor.clone(),
                    step: e.step.clone(),
                    detail: e.detail.clone(),
                })
                .collect(),
        }
    }
}

/// A deletion just begun.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionStartedJson {
    pub deletion: OrgDeletionJson,
    /// Shown once. Every session and token of the org has ended: follow the deletion
    /// with `GET {status_url}` and `Authorization: Bearer <status_key>`.
    #[schema(example = "sdk_0123...")]
    pub status_key: String,
    #[schema(example = "/api/v1/orgs/{org}/deletion")]
    pub status_url: String,
}

/// Before a deletion is asked for: what would block it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionReadinessJson {
    /// Always `not_requested`.
    #[schema(example = "not_requested")]
    pub status: &'static str,
    /// Jobs queued or running: a deletion is refused until they end or are canceled.
    pub pending_jobs: Vec<JobJson>,
    /// When the newest tenant export finished, if one did in the last 24 hours;
    /// without one, a deletion needs `"skip_final_export": true`.
    pub final_export_at: Option<DateTime<Utc>>,
}

/// What a member's self-delete removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SelfDeletionJson {
    /// Consumer content (`messages`, `attachments`, `responses`, `memberships`) and
    /// sign-in data (`sessions`, `sign_in_codes`, `text_messages`, `throttles`).
    #[schema(value_type = BTreeMap<String, u64>)]
    pub removed: Counts,
    /// Orgs that keep a record of the member, under their own control.
    pub orgs_keeping_records: u64,
}

/// The file an export published.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportFileJson {
    /// The name the download is offered under.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex (the download also sends it in `Repr-Digest`).
    pub sha256: String,
    /// When the file stops being offered (the retention ends).
    pub expires_at: Option<DateTime<Utc>>,
    /// When the file was deleted, after it expired.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Past its expiry: the download answers 410 Gone.
    pub expired: bool,
}

/// An export: its job (every field of a Job) and, once published, its file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportJson {
    #[serde(flatten)]
    pub job: JobJson,
    /// The status as the portal shows it: Queued, Processing, Completed, Failed,
    /// Canceled, or Expired once the file is gone.
    pub label: &'static str,
    pub file: Option<ExportFileJson>,
}

impl From<steward_app::exports::Export> for ExportJson {
    fn from(export: steward_app::exports::Export) -> ExportJson {
        let file = export.file.map(|f| ExportFileJson {
            name: f.name,
            size: f.size,
            sha256: f.sha256,
            expires_at: f.expires_at,
            deleted_at: f.deleted_at,
            expired: f.expired,
        });
        let label = match &file {
            Some(f) if f.expired => "Expired",
            _ => export.job.status.portal_label(),
        };
        ExportJson {
            job: JobJson::from(&export.job),
            label,
            file,
        }
    }
}
