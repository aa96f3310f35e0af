//! The audit log: who did what to which org's data, newest first.

use chrono::{DateTime, Utc};
use steward_domain::OrgId;
use steward_domain::content::AuditEvent;

use crate::{Page, StoreResult};

/// Which audit events to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: u32,
    pub after: Option<String>,
}

/// The append-only audit log.
pub trait AuditStore {
    fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    fn list_audit(&self, org: OrgId, query: &AuditQuery) -> StoreResult<Page<AuditEvent>>;
}
