//! Organizations (tenants) and the credentials that act in them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, TokenId};
use crate::phone::Region;
use crate::plan::Plan;
use crate::role::Role;
use crate::text::OrgName;

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
