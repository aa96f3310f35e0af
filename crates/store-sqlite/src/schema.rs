//! Embedded migrations of the shared file and of the org files, applied in order and
//! recorded in each file's `PRAGMA user_version`.

use std::path::Path;

use std::collections::BTreeMap;

use r2d2_sqlite::rusqlite::{Connection, Transaction, TransactionBehavior, params};
use steward_domain::{AttributeKey, AttributeType};
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
    Migration::Sql(include_str!("../migrations/0006_throttles.sql")),
    Migration::SplitIntoOrgFiles(include_str!("../migrations/0007_org_files.sql")),
    Migration::Sql(include_str!("../migrations/0009_user_lifecycle.sql")),
    Migration::Sql(include_str!("../migrations/0010_exports.sql")),
    Migration::Sql(include_str!("../migrations/0011_org_deletion.sql")),
];

/// One migration of an org's own file.
enum OrgMigration {
    Sql(&'static str),
    /// Version 2: attribute values in typed columns instead of a JSON object (see
    /// [`typed_attributes`]).
    TypedAttributes,
}

const ORG_MIGRATIONS: &[OrgMigration] = &[
    OrgMigration::Sql(include_str!("../migrations/org/0001_tenant.sql")),
    OrgMigration::TypedAttributes,
    OrgMigration::Sql(include_str!("../migrations/org/0003_user_lifecycle.sql")),
    OrgMigration::Sql(include_str!(
        "../migrations/org/0004_time_ordered_indexes.sql"
    )),
];

/// The version of an org file that holds the tables of the single-file layout as they
/// were (the split copies rows into it, then migrates it on).
pub const ORG_VERSION_AS_SHARED: usize = 1;

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
    // A file already up to date takes no write lock: a command opening the store while
    // a job writes in steps would otherwise queue behind those steps.
    if current_version(conn, MIGRATIONS.len())? == MIGRATIONS.len() {
        return Ok(());
    }
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

/// Brings an org's file up to date (or up to version `upto`), as [`migrate`] does the
/// shared one. Foreign keys are off meanwhile: a migration that rebuilds a table drops
/// the old one, which must not cascade to the rows that point at it.
pub fn migrate_org(conn: &mut Connection, upto: Option<usize>) -> StoreResult<()> {
    let upto = upto.unwrap_or(ORG_MIGRATIONS.len());
    if current_version(conn, ORG_MIGRATIONS.len())? >= upto {
        return Ok(());
    }
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(db)?;
    let done = (|| {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let version = current_version(&tx, ORG_MIGRATIONS.len())?;
        if version >= upto {
            return tx.commit().map_err(db);
        }
        for migration in &ORG_MIGRATIONS[version..upto] {
            match migration {
                OrgMigration::Sql(sql) => tx.execute_batch(sql).map_err(db)?,
                OrgMigration::TypedAttributes => typed_attributes(&tx)?,
            }
        }
        tx.pragma_update(None, "user_version", upto).map_err(db)?;
        tx.commit().map_err(db)
    })();
    conn.execute_batch("PRAGMA foreign_keys = ON").map_err(db)?;
    done
}

/// Org file version 2: the users table rebuilt with one column per attribute key
/// (`a_<key>`, values typed: text, integer, real; yes/no as 0/1; date-times as
/// RFC 3339 text), filled from the JSON object, and stored in phone order; the org_id
/// column and the org_id prefix of every users index go (every row of the file is the
/// org's). `attribute_columns` lists the columns and the type each is read as. The
/// filter indexes are on the typed columns, and `users_by_name_search` on
/// `(lower(name), status, phone)` makes a name prefix search a range scan.
fn typed_attributes(tx: &Transaction<'_>) -> StoreResult<()> {
    tx.execute_batch(
        "CREATE TABLE attribute_columns (key TEXT PRIMARY KEY, type TEXT NOT NULL) WITHOUT ROWID",
    )
    .map_err(db)?;
    let mut keys: BTreeMap<String, (AttributeType, bool)> = BTreeMap::new();
    {
        // Keys with values, typed by what their JSON shows...
        let mut stmt = tx
            .prepare(
                "SELECT j.key, min(j.type) FROM users, json_each(users.attributes) j
                 WHERE j.type <> 'null' GROUP BY j.key",
            )
            .map_err(db)?;
        let found = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        for (key, json_type) in found {
            let ty = match json_type.as_str() {
                "true" | "false" => AttributeType::YesNo,
                "integer" | "real" => AttributeType::Number,
                _ => AttributeType::String,
            };
            keys.insert(key, (ty, false));
        }
        // ...and every defined key, typed by its definition and indexed.
        let mut stmt = tx
            .prepare("SELECT key, type FROM attribute_defs")
            .map_err(db)?;
        let defined = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        for (key, ty) in defined {
            if let Some(ty) = AttributeType::parse(&ty) {
                keys.insert(key, (ty, true));
            }
        }
    }
    // Only valid keys become column names (they are inlined in SQL).
    keys.retain(|key, _| AttributeKey::parse(key).is_ok());
    let columns: String = keys.keys().map(|k| format!(", a_{k}")).collect();
    let values: String = keys
        .keys()
        .map(|k| format!(", json_extract(attributes, '$.{k}')"))
        .collect();
    tx.execute_batch(&format!(
        "CREATE TABLE users_typed (
             id          TEXT NOT NULL UNIQUE,
             phone       TEXT NOT NULL UNIQUE,
             name        TEXT NOT NULL,
             status      TEXT NOT NULL,
             source      TEXT NOT NULL,
             created_at  TEXT NOT NULL,
             updated_at  TEXT NOT NULL,
             deleted_at  TEXT{}
         );
         INSERT INTO users_typed (id, phone, name, status, source, created_at, updated_at,
                                  deleted_at{columns})
             SELECT id, phone, name, status, source, created_at, updated_at, deleted_at{values}
             FROM users ORDER BY phone;
         DROP TABLE users;
         ALTER TABLE users_typed RENAME TO users;",
        keys.keys()
            .map(|k| format!(",\n             a_{k}"))
            .collect::<String>()
    ))
    .map_err(db)?;
    for (_, sql) in crate::users::FIXED_INDEXES {
        tx.execute_batch(sql).map_err(db)?;
    }
    for (key, (ty, indexed)) in &keys {
        tx.execute(
            "INSERT INTO attribute_columns (key, type) VALUES (?1, ?2)",
            params![key, ty.as_str()],
        )
        .map_err(db)?;
        if *indexed {
            tx.execute_batch(&format!(
                "CREATE INDEX users_by_attr_{key} ON users (a_{key}, status, phone)"
            ))
            .map_err(db)?;
        }
    }
    tx.execute_batch("ANALYZE users").map_err(db)?;
    Ok(())
}
