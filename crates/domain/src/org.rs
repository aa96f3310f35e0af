//! Organizations (tenants) and the credentials that act in them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, TokenId};
use crate::phone::Region;
use crate::role::Role;
use crate::text::OrgName;

/// The commercial plan of an org; limits may hang off it later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Standard,
    Enterprise,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Standard => "standard",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn parse(raw: &str) -> Option<Plan> {
        match raw {
            "free" => Some(Plan::Free),
            "standard" => Some(Plan::Standard),
            "enterprise" => Some(Plan::Enterprise),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub id: OrgId,
    pub name: OrgName,
    /// The region used to read phone numbers written without a country code.
    pub region: Region,
    pub plan: Plan,
    pub created_at: DateTime<Utc>,
}

/// An API token as stored: the secret itself is never kept, only its hash.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub org_id: OrgId,
    pub role: Role,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}
