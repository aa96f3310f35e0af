//! Embedded migrations of the shared file and of the org files, applied in order and
//! recorded in each file's `PRAGMA user_version`.

use std::path::Path;

use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};
use steward_store::{DataKind, StoreError, StoreResult};

use crate::convert::db;
use crate::split;

/// One migration of the shared file.
enum Migration {
    Sql(&'static str),
    /// Copies every org's tenant rows into its own file first (see `split`), then runs
    /// the SQL, which drops them from the shared file.
    SplitIntoOrgFiles(&'static str),
}

const MIGRATIONS: &[Migration] = &[
    Migration::Sql(include_str!("../migrations/0001_init.sql")),
    Migration::Sql(include_str!("../migrations/0002_access.sql")),
    Migration::Sql(include_str!("../migrations/0003_user_lists.sql")),
    Migration::Sql(include_str!("../migrations/0004_imports.sql")),
    Migration::Sql(include_str!("../migrations/0005_job_outputs.sql")),
    Migration::SplitIntoOrgFiles(include_str!("../migrations/0007_org_files.sql")),
];

/// Migrations of an org's own file.
const ORG_MIGRATIONS: &[&str] = &[include_str!("../migrations/org/0001_tenant.sql")];

/// Where each kind of an org's data is stored, each table with an `org_id` column.
pub enum Home {
    /// In the org's own file.
    Org(&'static [&'static str]),
    /// In the shared file.
    Shared(&'static [&'static str]),
}

/// The tables that hold each kind of an org's data.
pub fn tables_of(kind: DataKind) -> Home {
    match kind {
        DataKind::Users => Home::Org(&["users"]),
        DataKind::AttributeDefs => Home::Org(&["attribute_defs"]),
        DataKind::Groups => Home::Org(&["groups"]),
        DataKind::Memberships => Home::Org(&["memberships"]),
        DataKind::Messages => Home::Org(&["messages"]),
        DataKind::Attachments => Home::Org(&["attachments"]),
        DataKind::Actions => Home::Org(&["actions"]),
        DataKind::ActionResponses => Home::Org(&["action_responses"]),
        DataKind::Connectors => Home::Org(&["connectors"]),
        DataKind::Publications => Home::Org(&["action_publications", "connector_publications"]),
        DataKind::Telemetry => Home::Org(&["telemetry_events"]),
        DataKind::Audit => Home::Org(&["audit_events"]),
        DataKind::Jobs => Home::Shared(&["jobs"]),
        DataKind::JobRowNotes => Home::Org(&["job_row_errors"]),
        DataKind::JobRowOutcomes => Home::Org(&["job_row_outcomes"]),
        DataKind::JobOutputs => Home::Org(&["job_outputs"]),
        DataKind::ApiTokens => Home::Shared(&["api_tokens"]),
        DataKind::Accounts => Home::Shared(&["accounts"]),
    }
}

/// Brings the shared file up to date. Each run of plain migrations is one immediate
/// transaction, which makes a second process that opens the same database at the same
/// moment wait, then find nothing left to do. The split into org files commits org by
/// org (so a crash resumes it) before its migration drops the copied tables.
pub fn migrate(conn: &mut Connection, path: &Path, orgs_dir: &Path) -> StoreResult<()> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut version = current_version(&tx, MIGRATIONS.len())?;
        while let Some(Migration::Sql(sql)) = MIGRATIONS.get(version) {
            tx.execute_batch(sql).map_err(db)?;
            version += 1;
        }
        tx.pragma_update(None, "user_version", version)
            .map_err(db)?;
        tx.commit().map_err(db)?;
        let Some(Migration::SplitIntoOrgFiles(sql)) = MIGRATIONS.get(version) else {
            return Ok(());
        };
        split::split_into_org_files(conn, path, orgs_dir)?;
        // Dropping the copied tables with foreign keys on would delete their rows one
        // by one, checking each; they all go, so there is nothing to check. The pragma
        // is a no-op inside a transaction, hence around it.
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(db)?;
        let dropped = (|| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            // Another process may have finished the split meanwhile.
            if current_version(&tx, MIGRATIONS.len())? == version {
                tx.execute_batch(sql).map_err(db)?;
                tx.pragma_update(None, "user_version", version + 1)
                    .map_err(db)?;
            }
            tx.commit().map_err(db)
        })();
        conn.execute_batch("PRAGMA foreign_keys = ON").map_err(db)?;
        dropped?;
    }
}

fn current_version(conn: &Connection, known: usize) -> StoreResult<usize> {
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if version > known {
        return Err(StoreError::Backend(format!(
            "the database has schema version {version}, newer than this steward ({known}); upgrade steward"
        )));
    }
    Ok(version)
}

/// Brings an org's file up to date, as [`migrate`] does the shared one.
pub fn migrate_org(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let version = current_version(&tx, ORG_MIGRATIONS.len())?;
    for sql in &ORG_MIGRATIONS[version..] {
        tx.execute_batch(sql).map_err(db)?;
    }
    tx.pragma_update(None, "user_version", ORG_MIGRATIONS.len())
        .map_err(db)?;
    tx.commit().map_err(db)
}
