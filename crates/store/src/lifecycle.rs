//! Deleted users, their restore and purge, legal holds and deletion receipts.
//!
//! Deleting a user hides what they made in the org's groups at once (every read of
//! messages, attachments, actions, responses, publications and reports leaves it out)
//! without touching the rows, so a restore brings back exactly what was there. The
//! purge job removes those rows for good later, in small steps through [`crate::JobTx`].

use chrono::{DateTime, Utc};
use steward_domain::lifecycle::{DeletedUser, DeletionReceipt, LegalHold, PurgeWindow};
use steward_domain::{AttachmentId, Counts, HoldId, OrgId, PhoneNumber, User, UserId};

use crate::StoreResult;

/// The kinds of rows a purge removes, in the order it removes them (children first,
/// so no step leaves a row pointing at a removed one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PurgeKind {
    /// Attachments of their messages in org groups (their blobs go first).
    Attachments,
    /// Their messages in org groups.
    Messages,
    /// Their responses in org groups, and every response to an action they created.
    ActionResponses,
    /// Where the actions they created were published.
    ActionPublications,
    /// The actions they created.
    Actions,
    /// Telemetry events about them.
    Telemetry,
}

impl PurgeKind {
    /// Every kind, in purge order.
    pub const ALL: [PurgeKind; 6] = [
        PurgeKind::Attachments,
        PurgeKind::Messages,
        PurgeKind::ActionResponses,
        PurgeKind::ActionPublications,
        PurgeKind::Actions,
        PurgeKind::Telemetry,
    ];

    /// A stable name, used in counts, receipts and checkpoints.
    pub fn as_str(self) -> &'static str {
        match self {
            PurgeKind::Attachments => "attachments",
            PurgeKind::Messages => "messages",
            PurgeKind::ActionResponses => "action_responses",
            PurgeKind::ActionPublications => "action_publications",
            PurgeKind::Actions => "actions",
            PurgeKind::Telemetry => "telemetry",
        }
    }

    pub fn parse(raw: &str) -> Option<PurgeKind> {
        PurgeKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// An attachment a purge removes, with where its bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgeAttachment {
    pub id: AttachmentId,
    pub blob_key: String,
    /// Where the walk through the user's messages stands: the `from` of the next batch.
    pub position: i64,
}

/// How the last step of a purge left the user's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PurgedUser {
    /// The row is gone.
    Removed,
    /// A stub stays (name and attributes cleared) because data outside the org's
    /// control (non-org groups) or connectors the org kept still name them.
    Stub,
}

/// Deleted users, restores, purge settings, holds and receipts of each org.
pub trait LifecycleStore {
    /// In one transaction of the org: the active user with this phone turns `deleted`,
    /// leaves every org-mapped group (the memberships are remembered), and their
    /// content in the org-mapped groups is hidden from every read. `None` if there is
    /// no active user with that phone.
    fn delete_user(
        &self,
        org: OrgId,
        phone: &PhoneNumber,
        deleted_by: &str,
        now: DateTime<Utc>,
        purge_after: DateTime<Utc>,
    ) -> StoreResult<Option<DeletedUser>>;
    /// Brings a deleted user back as they were: active, their memberships with their
    /// roles (in groups that still exist), their content visible again. `None` if
    /// there is no deleted user with that phone; a conflict once a purge has begun.
    fn restore_user(
        &self,
        org: OrgId,
        phone: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;
    /// The org's deleted users not yet purged, oldest deletion first.
    fn deleted_users(&self, org: OrgId) -> StoreResult<Vec<DeletedUser>>;
    fn deleted_user(&self, org: OrgId, phone: &PhoneNumber) -> StoreResult<Option<DeletedUser>>;
    /// How many rows of each [`PurgeKind`] a purge of the user would remove.
    fn purge_counts(&self, org: OrgId, user: UserId) -> StoreResult<Counts>;
    /// Up to `limit` attachments the purge of `user` removes, in the order of the
    /// user's messages, from position `from` (0 at first, then the last one's
    /// `position`: a message's attachments not yet removed come again).
    fn purge_attachments(
        &self,
        org: OrgId,
        user: UserId,
        from: i64,
        limit: u32,
    ) -> StoreResult<Vec<PurgeAttachment>>;

    fn purge_window(&self, org: OrgId) -> StoreResult<PurgeWindow>;
    fn set_purge_window(&self, org: OrgId, window: PurgeWindow) -> StoreResult<()>;
    /// The org's secret salt for receipt hashes (made when the org's file was).
    fn receipt_salt(&self, org: OrgId) -> StoreResult<String>;

    /// Deleted users whose purge is due at `now`, across orgs, oldest first.
    fn due_purges(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(OrgId, UserId)>>;
    /// After the last step of a purge (or when the user is no longer deleted): forgets
    /// the schedule entry, and with `removed`, the phone's sign-in lookup for the org.
    fn forget_purge(
        &self,
        org: OrgId,
        user: UserId,
        removed: Option<&PhoneNumber>,
    ) -> StoreResult<()>;
    /// Moves freed pages' leftovers out of the write-ahead log into the (securely
    /// deleted) database file and truncates the log.
    fn checkpoint_org_file(&self, org: OrgId) -> StoreResult<()>;

    fn add_hold(&self, hold: &LegalHold) -> StoreResult<()>;
    fn holds(&self, org: OrgId) -> StoreResult<Vec<LegalHold>>;
    /// Removes a hold; `None` if there is no such hold in the org.
    fn remove_hold(&self, org: OrgId, id: HoldId) -> StoreResult<Option<LegalHold>>;
    /// Whether a hold covers the user (a hold on them or on the whole org).
    fn is_held(&self, org: OrgId, user: UserId) -> StoreResult<bool>;

    fn receipts(&self, org: OrgId) -> StoreResult<Vec<DeletionReceipt>>;
}
