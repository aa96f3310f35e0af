//! A user's life in an org after deletion: the deleted state (restorable), legal holds
//! that keep data from being purged, the purge window, and the receipt a purge leaves.
//!
//! ```text
//! active --delete--> deleted --(window passes, no hold | "purge now")--> purged
//!    ^                  |
//!    +-----restore------+
//! ```

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{HoldId, OrgId, ReceiptId, UserId};
use crate::job::Counts;
use crate::phone::PhoneNumber;
use crate::role::GroupRole;
use crate::user::User;

/// How long a deleted user stays restorable unless the org chose a shorter window.
pub const DEFAULT_PURGE_WINDOW_DAYS: u32 = 30;
/// The shortest window an org may choose.
pub const MIN_PURGE_WINDOW_DAYS: u32 = 1;

/// The org's purge window, 1 to 30 days (parse, don't validate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeWindow(u32);

impl PurgeWindow {
    pub fn days(days: u32) -> Result<PurgeWindow, String> {
        if (MIN_PURGE_WINDOW_DAYS..=DEFAULT_PURGE_WINDOW_DAYS).contains(&days) {
            Ok(PurgeWindow(days))
        } else {
            Err(format!(
                "the purge window is {MIN_PURGE_WINDOW_DAYS} to {DEFAULT_PURGE_WINDOW_DAYS} days; {days} is outside it"
            ))
        }
    }

    pub fn as_days(self) -> u32 {
        self.0
    }

    pub fn as_duration(self) -> Duration {
        Duration::days(i64::from(self.0))
    }
}

impl Default for PurgeWindow {
    fn default() -> Self {
        PurgeWindow(DEFAULT_PURGE_WINDOW_DAYS)
    }
}

/// A group membership a deleted user had in an org-mapped group, kept for a restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedMembership {
    pub group_id: crate::ids::GroupId,
    pub role: GroupRole,
    pub joined_at: DateTime<Utc>,
}

/// A deleted user as the org sees them until the purge.
#[derive(Clone, Debug, PartialEq)]
pub struct DeletedUser {
    pub user: User,
    /// Who deleted them, as the audit log names them.
    pub deleted_by: String,
    pub deleted_at: DateTime<Utc>,
    /// From when the purge may remove them (unless held).
    pub purge_after: DateTime<Utc>,
    pub memberships: Vec<RememberedMembership>,
    /// A purge has begun removing their rows: they can no longer be restored.
    pub purging: bool,
}

/// What a legal hold covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoldScope {
    /// Every user of the org.
    Org,
    /// One user, by id (the phone is kept beside it for people to read).
    User(UserId, PhoneNumber),
}

/// A legal hold: while it stands, the data it covers is never purged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalHold {
    pub id: HoldId,
    pub org_id: OrgId,
    pub scope: HoldScope,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// The longest reason a hold may give.
pub const MAX_HOLD_REASON_CHARS: usize = 500;

/// The proof a purge leaves: who, when, how much of each kind, and the phone only as a
/// salted hash (the org's own salt), so the org can show a given phone was purged
/// without keeping it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionReceipt {
    pub id: ReceiptId,
    pub org_id: OrgId,
    /// SHA-256 of the org's salt followed by the E.164 phone, lowercase hex.
    pub phone_hash: String,
    pub deleted_by: String,
    pub deleted_at: DateTime<Utc>,
    pub purged_by: String,
    pub purged_at: DateTime<Utc>,
    /// Rows removed per kind (`messages`, `attachments`, ...), and `blobs`.
    pub counts: Counts,
}
