//! Typed ids: every entity has its own id type so signatures say what they take.
//!
//! Ids are UUIDv7: time-ordered, so new rows append to indexes instead of scattering.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| InvalidId { kind: stringify!($name), raw: s.to_owned() })
            }
        }
    };
}

/// The text given where an id was expected is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{raw:?} is not a valid {kind} (expected a UUID)")]
pub struct InvalidId {
    pub kind: &'static str,
    pub raw: String,
}

typed_id!(/// An organization (tenant).
    OrgId);
typed_id!(/// A person in an org, identified to people by phone number.
    UserId);
typed_id!(/// A group of an org.
    GroupId);
typed_id!(/// A message posted to a group.
    MessageId);
typed_id!(/// A file attached to a message.
    AttachmentId);
typed_id!(/// An action (poll, survey, ...).
    ActionId);
typed_id!(/// A member's answer to an action.
    ResponseId);
typed_id!(/// An integration that posts into groups.
    ConnectorId);
typed_id!(/// A telemetry event.
    TelemetryId);
typed_id!(/// An audit log entry.
    AuditId);
typed_id!(/// A background job.
    JobId);
typed_id!(/// An API token (the id, never the secret).
    TokenId);
typed_id!(/// An admin account (email + password sign-in).
    AccountId);
typed_id!(/// A legal hold on one user or on a whole org.
    HoldId);
typed_id!(/// The receipt a purge leaves behind.
    ReceiptId);
