//! Groups in a hierarchy, and who belongs to them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, OrgId, UserId};
use crate::role::GroupRole;
use crate::text::GroupName;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub org_id: OrgId,
    pub parent_id: Option<GroupId>,
    pub name: GroupName,
    /// Mapped to the org: org data. Unmapped groups hold consumer data that org
    /// operations (user deletion, company deletion) never touch.
    pub org_mapped: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub org_id: OrgId,
    pub group_id: GroupId,
    pub user_id: UserId,
    pub role: GroupRole,
    pub joined_at: DateTime<Utc>,
}
