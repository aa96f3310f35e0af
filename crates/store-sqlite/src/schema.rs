//! Embedded migrations, applied in order and recorded in `PRAGMA user_version`.

use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};
use steward_store::{DataKind, StoreError, StoreResult};

use crate::convert::db;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_access.sql"),
    include_str!("../migrations/0003_user_lists.sql"),
    include_str!("../migrations/0004_imports.sql"),
    include_str!("../migrations/0005_job_outputs.sql"),
    include_str!("../migrations/0006_throttles.sql"),
];

/// The tables that hold each kind of an org's data, each with an `org_id` column.
pub fn tables_of(kind: DataKind) -> &'static [&'static str] {
    match kind {
        DataKind::Users => &["users"],
        DataKind::AttributeDefs => &["attribute_defs"],
        DataKind::Groups => &["groups"],
        DataKind::Memberships => &["memberships"],
        DataKind::Messages => &["messages"],
        DataKind::Attachments => &["attachments"],
        DataKind::Actions => &["actions"],
        DataKind::ActionResponses => &["action_responses"],
        DataKind::Connectors => &["connectors"],
        DataKind::Publications => &["action_publications", "connector_publications"],
        DataKind::Telemetry => &["telemetry_events"],
        DataKind::Audit => &["audit_events"],
        DataKind::Jobs => &["jobs"],
        DataKind::JobRowNotes => &["job_row_errors"],
        DataKind::JobRowOutcomes => &["job_row_outcomes"],
        DataKind::JobOutputs => &["job_outputs"],
        DataKind::ApiTokens => &["api_tokens"],
        DataKind::Accounts => &["accounts"],
    }
}

/// Brings the schema up to date. The immediate transaction makes a second process that
/// opens the same database at the same moment wait, then find nothing left to do.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let version: usize = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database has schema version {version}, newer than this steward ({}); upgrade steward",
            MIGRATIONS.len()
        )));
    }
    for sql in &MIGRATIONS[version..] {
        tx.execute_batch(sql).map_err(db)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())
        .map_err(db)?;
    tx.commit().map_err(db)
}
