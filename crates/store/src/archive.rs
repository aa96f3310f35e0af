//! One consistent read of everything an org holds, for the tenant archive.
//!
//! [`ArchiveStore::open_snapshot`] pins the org's data at one moment: every read
//! through the returned [`OrgSnapshot`] sees the org as it was then, whatever is
//! written meanwhile, so an archive never mixes the state before and after a write.
//! Rows stream to a callback as borrowed [`Cell`]s in the columns
//! [`ArchiveKind::columns`] names, so reading a tenant of millions of rows costs no
//! memory in its size.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_domain::{AttributeDef, OrgId, PhoneNumber};

use crate::StoreResult;

/// A kind of data an archive holds, one file each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveKind {
    /// The people, with their attributes.
    Users,
    /// The attribute schema.
    Attributes,
    /// Groups, with their parent and whether they are mapped to the org.
    Groups,
    Memberships,
    Messages,
    /// Attachment metadata (the files themselves are the archive's business).
    Attachments,
    Actions,
    ActionPublications,
    ActionResponses,
    Connectors,
    ConnectorPublications,
    Telemetry,
    Audit,
    /// The org's import and export history (its jobs).
    Jobs,
}

impl ArchiveKind {
    /// Every kind, in the order an archive writes them.
    pub const ALL: [ArchiveKind; 14] = [
        ArchiveKind::Users,
        ArchiveKind::Attributes,
        ArchiveKind::Groups,
        ArchiveKind::Memberships,
        ArchiveKind::Messages,
        ArchiveKind::Attachments,
        ArchiveKind::Actions,
        ArchiveKind::ActionPublications,
        ArchiveKind::ActionResponses,
        ArchiveKind::Connectors,
        ArchiveKind::ConnectorPublications,
        ArchiveKind::Telemetry,
        ArchiveKind::Audit,
        ArchiveKind::Jobs,
    ];

    /// The stable name (as in JSON, and the file's name without `.csv`).
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveKind::Users => "users",
            ArchiveKind::Attributes => "attributes",
            ArchiveKind::Groups => "groups",
            ArchiveKind::Memberships => "memberships",
            ArchiveKind::Messages => "messages",
            ArchiveKind::Attachments => "attachments",
            ArchiveKind::Actions => "actions",
            ArchiveKind::ActionPublications => "action_publications",
            ArchiveKind::ActionResponses => "action_responses",
            ArchiveKind::Connectors => "connectors",
            ArchiveKind::ConnectorPublications => "connector_publications",
            ArchiveKind::Telemetry => "telemetry",
            ArchiveKind::Audit => "audit",
            ArchiveKind::Jobs => "jobs",
        }
    }

    pub fn parse(raw: &str) -> Option<ArchiveKind> {
        ArchiveKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The columns of the kind's rows, in order. A users row goes on with one column
    /// per attribute of [`OrgSnapshot::attribute_defs`], in the schema's order. Times
    /// are RFC 3339 text in UTC; ids are text; JSON documents (questions, answers,
    /// configs, properties, counts) are JSON text.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ArchiveKind::Users => &[
                "id",
                "phone",
                "name",
                "status",
                "source",
                "created_at",
                "updated_at",
                "deleted_at",
            ],
            ArchiveKind::Attributes => {
                &["key", "name", "type", "mandatory", "suggested", "position"]
            }
            ArchiveKind::Groups => &["id", "parent_id", "name", "org_mapped", "created_at"],
            ArchiveKind::Memberships => &["group_id", "user_id", "role", "joined_at"],
            ArchiveKind::Messages => &["id", "group_id", "sender_id", "body", "created_at"],
            ArchiveKind::Attachments => &[
                "id",
                "message_id",
                "file_name",
                "content_type",
                "size",
                "blob_key",
                "created_at",
            ],
            ArchiveKind::Actions => &[
                "id",
                "kind",
                "title",
                "questions",
                "created_by",
                "created_at",
            ],
            ArchiveKind::ActionPublications => {
                &["action_id", "group_id", "published_by", "published_at"]
            }
            ArchiveKind::ActionResponses => &[
                "id",
                "action_id",
                "group_id",
                "user_id",
                "answers",
                "created_at",
            ],
            ArchiveKind::Connectors => &["id", "name", "config", "created_by", "created_at"],
            ArchiveKind::ConnectorPublications => {
                &["connector_id", "group_id", "published_by", "published_at"]
            }
            ArchiveKind::Telemetry => &["id", "user_id", "kind", "properties", "at"],
            ArchiveKind::Audit => &[
                "id",
                "actor",
                "action",
                "target",
                "outcome",
                "request_id",
                "ip",
                "at",
            ],
            ArchiveKind::Jobs => &[
                "id",
                "kind",
                "status",
                "file_name",
                "created_by",
                "created_at",
                "started_at",
                "finished_at",
                "progress_done",
                "progress_total",
                "counts",
                "error",
            ],
        }
    }

    /// Whether a date range selects the kind's rows (content and records, dated by
    /// when they were made), rather than the kind being state that is read whole
    /// (people, schema, groups, memberships).
    pub fn dated(self) -> bool {
        !matches!(
            self,
            ArchiveKind::Users
                | ArchiveKind::Attributes
                | ArchiveKind::Groups
                | ArchiveKind::Memberships
        )
    }
}

/// One value of a row: borrowed from the backend for the time of one callback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
}

/// Which rows of a kind to read.
///
/// `since` (inclusive) and `until` (exclusive) select the rows of a
/// [dated](ArchiveKind::dated) kind by when they were made; other kinds ignore them.
///
/// `user` keeps the rows that person made or that are about them, and nothing about
/// anyone else but what one of their rows needs:
/// - users: their own row; attributes: the whole schema (it names no one);
/// - groups: those they belong to or sent messages or responses in;
/// - memberships, messages, responses, telemetry: their own; attachments: those of
///   their messages;
/// - actions: those they created or answered (`created_by` is empty when it is
///   someone else); connectors: those they created;
/// - publications: those they published (`published_by` is `user:<phone>`);
/// - audit: events they did (actor `user:<phone>`) or whose target is them
///   (`<phone>` or `user:<phone>`), with any other actor shown as `someone else`;
/// - jobs: none (the org's history names no one person).
///
/// A phone that is not a user of the org selects no rows of any person.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub user: Option<PhoneNumber>,
}

/// What an audit row of a per-user read shows for an actor that is not the person.
pub const OTHER_ACTOR: &str = "someone else";

/// The callback that receives each row, in [`ArchiveKind::columns`] order. An error it
/// returns stops the read and is returned.
pub type RowSink<'s> = dyn FnMut(&[Cell<'_>]) -> StoreResult<()> + 's;

/// A consistent, read-only view of one org's data (see the module doc). Dropping it
/// ends the read.
pub trait OrgSnapshot: Send {
    /// The attribute schema at the snapshot, in display order (the users rows' extra
    /// columns).
    fn attribute_defs(&mut self) -> StoreResult<Vec<AttributeDef>>;
    /// How many rows [`OrgSnapshot::rows`] would give.
    fn count(&mut self, kind: ArchiveKind, filter: &RowFilter) -> StoreResult<u64>;
    /// Streams the rows of one kind to `each`; returns how many there were.
    fn rows(
        &mut self,
        kind: ArchiveKind,
        filter: &RowFilter,
        each: &mut RowSink<'_>,
    ) -> StoreResult<u64>;
}

/// Opens consistent reads of an org's data.
pub trait ArchiveStore {
    /// Pins the org's data as it is now. The org's jobs (kept apart from its data) are
    /// read once, right after the data is pinned: the jobs rows show each job as it
    /// was at that moment, so a job that ran meanwhile shows its state then. An org
    /// that does not exist is `NotFound`.
    fn open_snapshot(&self, org: OrgId) -> StoreResult<Box<dyn OrgSnapshot>>;
}
