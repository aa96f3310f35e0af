//! People of an org, identified by phone number, with typed attributes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attribute::{AttributeKey, AttributeValue};
use crate::ids::{OrgId, UserId};
use crate::phone::PhoneNumber;
use crate::text::PersonName;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// Deleted, restorable until purged (30 days after `deleted_at`).
    Deleted,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<UserStatus> {
        match raw {
            "active" => Some(UserStatus::Active),
            "deleted" => Some(UserStatus::Deleted),
            _ => None,
        }
    }
}

/// How the user came to the org (the seed's two sources, plus API and SCIM).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserSource {
    Upload,
    Group,
    Api,
    Scim,
}

impl UserSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSource::Upload => "upload",
            UserSource::Group => "group",
            UserSource::Api => "api",
            UserSource::Scim => "scim",
        }
    }

    pub fn parse(raw: &str) -> Option<UserSource> {
        match raw {
            "upload" => Some(UserSource::Upload),
            "group" => Some(UserSource::Group),
            "api" => Some(UserSource::Api),
            "scim" => Some(UserSource::Scim),
            _ => None,
        }
    }
}

pub type Attributes = BTreeMap<AttributeKey, AttributeValue>;

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub phone: PhoneNumber,
    pub name: PersonName,
    pub status: UserStatus,
    pub source: UserSource,
    pub attributes: Attributes,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Attribute changes: a key with a value sets it, a key with `None` clears it, and a
/// key that is absent keeps whatever the user has (a CSV without that column).
pub type AttributeChanges = BTreeMap<AttributeKey, Option<AttributeValue>>;

/// What an import row or API call wants a user to be; the store decides whether that
/// creates, updates or leaves the user unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct UserUpsert {
    pub phone: PhoneNumber,
    pub name: PersonName,
    pub source: UserSource,
    pub attributes: AttributeChanges,
}

/// What an upsert did to one user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created,
    Updated,
    Unchanged,
}
