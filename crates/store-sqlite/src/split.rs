//! The one-time split of a single-file data directory (every org's rows in
//! `steward.db`, schema version 5) into one file per org.
//!
//! Each org's file is written under a temporary name with the journal off, synced, and
//! renamed into place, so a file under its final name is always whole; then the org is
//! marked done in the shared file's `org_split` table. A crash mid-way resumes with
//! the orgs not yet marked (an unmarked org's file is written again and replaces any
//! earlier one). Each org is split inside an immediate transaction on the shared file,
//! so a second process starting at the same moment waits for it and then skips it.
//! Only when every org is marked does the migration drop the copied tables from the
//! shared file (see `schema::migrate`).

use std::fs::File;
use std::path::Path;

use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use steward_store::{StoreError, StoreResult};

use crate::convert::db;
use crate::schema;
use crate::tenants::org_file;

/// The tables copied into each org's file, each with an `org_id` column, parents
/// before the tables that point at them.
pub const TENANT_TABLES: &[&str] = &[
    "attribute_defs",
    "users",
    "groups",
    "memberships",
    "messages",
    "attachments",
    "actions",
    "action_publications",
    "action_responses",
    "connectors",
    "connector_publications",
    "telemetry_events",
    "audit_events",
    "job_row_errors",
    "job_row_outcomes",
    "job_outputs",
];

pub fn split_into_org_files(shared: &mut Connection, path: &Path, dir: &Path) -> StoreResult<()> {
    let io = |what: &str, e: std::io::Error| StoreError::Backend(format!("{what}: {e}"));
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create the org directory", e))?;
    shared
        .execute_batch("CREATE TABLE IF NOT EXISTS org_split (org_id TEXT PRIMARY KEY)")
        .map_err(db)?;
    let orgs: Vec<String> = {
        let mut stmt = shared
            .prepare(
                "SELECT id FROM orgs WHERE id NOT IN (SELECT org_id FROM org_split) ORDER BY id",
            )
            .map_err(db)?;
        stmt.query_map([], |r| r.get(0))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?
    };
    for org in orgs {
        let tx = shared
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let done = tx
            .query_row("SELECT 1 FROM org_split WHERE org_id = ?1", [&org], |_| {
                Ok(())
            })
            .optional()
            .map_err(db)?
            .is_some();
        if !done {
            write_org_file(path, dir, &org)?;
            tx.execute("INSERT INTO org_split (org_id) VALUES (?1)", [&org])
                .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        tracing::info!(org = %org, "moved the org's data into its own file");
    }
    Ok(())
}

/// Writes one org's rows from the shared file into `DIR/<org>.db`, crash-safely.
fn write_org_file(shared_path: &Path, dir: &Path, org: &str) -> StoreResult<()> {
    let io = |what: &str, e: std::io::Error| StoreError::Backend(format!("{what}: {e}"));
    let target = org_file(dir, org);
    let temp = target.with_extension("db.tmp");
    for stale in [
        &temp,
        &target.with_extension("db-wal"),
        &target.with_extension("db-shm"),
    ] {
        if stale.exists() {
            std::fs::remove_file(stale).map_err(|e| io("cannot remove a stale file", e))?;
        }
    }
    {
        let mut conn = Connection::open(&temp).map_err(db)?;
        // A file nobody else sees yet: no journal, no syncs until the one below.
        conn.query_row("PRAGMA journal_mode = OFF", [], |_| Ok(()))
            .map_err(db)?;
        conn.execute_batch("PRAGMA synchronous = OFF").map_err(db)?;
        schema::migrate_org(&mut conn, Some(schema::ORG_VERSION_AS_SHARED))?;
        conn.execute(
            "ATTACH DATABASE ?1 AS legacy",
            [shared_path.to_string_lossy()],
        )
        .map_err(db)?;
        let tx = conn.transaction().map_err(db)?;
        for table in TENANT_TABLES {
            let columns: Vec<String> = {
                let mut stmt = tx
                    .prepare(&format!("PRAGMA main.table_info({table})"))
                    .map_err(db)?;
                stmt.query_map([], |r| r.get(1))
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?
            };
            let columns = columns.join(", ");
            // Table names come from our own list; the column lists from the schema.
            tx.execute(
                &format!(
                    "INSERT INTO main.{table} ({columns})
                     SELECT {columns} FROM legacy.{table} WHERE org_id = ?1"
                ),
                params![org],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        conn.execute("DETACH DATABASE legacy", []).map_err(db)?;
        // On to the org file's current schema (typed attributes).
        schema::migrate_org(&mut conn, None)?;
        conn.close().map_err(|(_, e)| db(e))?;
    }
    File::open(&temp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("cannot sync an org file", e))?;
    std::fs::rename(&temp, &target).map_err(|e| io("cannot rename an org file", e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("cannot sync the org directory", e))?;
    Ok(())
}
