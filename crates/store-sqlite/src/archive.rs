//! `impl ArchiveStore for SqliteStore`: one read transaction on the org's file, held
//! for the life of the snapshot.
//!
//! SQLite (in WAL mode) gives a read transaction the file as it was at its first read
//! and keeps it so until the transaction ends, while writers go on appending to the
//! WAL: this is the snapshot. The org's jobs live in the shared file, which every org
//! writes to; they are read once, right after the org's data is pinned, rather than
//! holding a second transaction on the shared file for the length of an export.

use r2d2_sqlite::rusqlite::types::{Value, ValueRef};
use r2d2_sqlite::rusqlite::{Connection, Statement, ToSql};
use steward_domain::{AttributeDef, OrgId};
use steward_store::{
    ArchiveKind, ArchiveStore, Cell, OTHER_ACTOR, OrgSnapshot, RowFilter, RowSink, StoreError,
    StoreResult,
};

use crate::convert::{db, ts};
use crate::users::{Columns, column as attribute_column};
use crate::{Conn, SqliteStore};

impl ArchiveStore for SqliteStore {
    fn open_snapshot(&self, org: OrgId) -> StoreResult<Box<dyn OrgSnapshot>> {
        let pool = self.tenant(org)?.ok_or(StoreError::NotFound)?;
        let conn = crate::conn_of(&pool)?;
        conn.execute_batch("BEGIN DEFERRED").map_err(db)?;
        let mut snapshot = SqliteSnapshot {
            org,
            conn,
            jobs: Vec::new(),
        };
        // The first read starts the read transaction: from here on the file is seen
        // as it is now.
        snapshot
            .conn
            .query_row("SELECT count(*) FROM attribute_defs", [], |_| Ok(()))
            .map_err(db)?;
        let shared = self.conn()?;
        snapshot.jobs = read_jobs(&shared, org)?;
        Ok(Box::new(snapshot))
    }
}

struct SqliteSnapshot {
    org: OrgId,
    /// In an open read transaction until dropped.
    conn: Conn,
    /// The org's jobs, with their `created_at` first (see [`read_jobs`]).
    jobs: Vec<Vec<Value>>,
}

impl Drop for SqliteSnapshot {
    fn drop(&mut self) {
        // Ends the read; the connection goes back to the pool with no transaction.
        if let Err(e) = self.conn.execute_batch("ROLLBACK") {
            tracing::warn!(error = %e, "ending an org snapshot failed");
        }
    }
}

const JOB_COLUMNS: &str = "id, kind, status, file_name, created_by, created_at, started_at, \
     finished_at, progress_done, progress_total, counts, error";
/// Where `created_at` is in a jobs row.
const JOB_CREATED_AT: usize = 5;

fn read_jobs(conn: &Connection, org: OrgId) -> StoreResult<Vec<Vec<Value>>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE org_id = ?1 ORDER BY created_at, id"
        ))
        .map_err(db)?;
    let width = ArchiveKind::Jobs.columns().len();
    stmt.query_map([org.to_string()], |r| {
        (0..width).map(|i| r.get::<_, Value>(i)).collect()
    })
    .map_err(db)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(db)
}

/// The parameters a query of the snapshot may use, by name.
struct Params {
    org: String,
    since: Option<String>,
    until: Option<String>,
    /// The person's user id; a value no id has when the phone is not a user.
    user: Option<String>,
    phone: Option<String>,
    /// The person as the audit log and publications name them.
    actor: Option<String>,
}

impl Params {
    fn bind(&self, stmt: &mut Statement<'_>) -> StoreResult<()> {
        let values: [(&str, &dyn ToSql); 7] = [
            (":org", &self.org),
            (":since", &self.since),
            (":until", &self.until),
            (":user", &self.user),
            (":phone", &self.phone),
            (":actor", &self.actor),
            (":other", &OTHER_ACTOR),
        ];
        for (name, value) in values {
            if let Some(index) = stmt.parameter_index(name).map_err(db)? {
                stmt.raw_bind_parameter(index, value).map_err(db)?;
            }
        }
        Ok(())
    }
}

impl SqliteSnapshot {
    fn params(&self, filter: &RowFilter) -> StoreResult<Params> {
        let user = match &filter.user {
            None => None,
            Some(phone) => Some(
                self.conn
                    .query_row(
                        "SELECT id FROM users WHERE phone = ?1",
                        [phone.as_str()],
                        |r| r.get::<_, String>(0),
                    )
                    .or_else(|e| match e {
                        r2d2_sqlite::rusqlite::Error::QueryReturnedNoRows => Ok(String::new()),
                        other => Err(other),
                    })
                    .map_err(db)?,
            ),
        };
        Ok(Params {
            org: self.org.to_string(),
            since: filter.since.map(ts),
            until: filter.until.map(ts),
            user,
            phone: filter.user.as_ref().map(|p| p.as_str().to_owned()),
            actor: filter.user.as_ref().map(|p| format!("user:{p}")),
        })
    }

    /// The query of a kind's rows (`None` for the jobs, which are in memory).
    fn sql(&self, kind: ArchiveKind, filter: &RowFilter) -> StoreResult<Option<String>> {
        let per_user = filter.user.is_some();
        // Every row of the file is the org's: a whole-org read scans the table in its
        // own order (`+org_id` keeps SQLite from walking an org_id index and looking
        // each row up), a per-user read goes through the person's indexes.
        let org = if per_user {
            "org_id = :org"
        } else {
            "+org_id = :org"
        };
        let (select, table, mut wheres, dated): (String, &str, Vec<String>, Option<&str>) =
            match kind {
                ArchiveKind::Users => {
                    let columns = Columns::read(&self.conn)?;
                    let attributes: String = crate::users::attribute_defs(&self.conn, self.org)?
                        .iter()
                        .map(|def| {
                            if columns.has(&def.key) {
                                format!(", {}", attribute_column(&def.key))
                            } else {
                                ", NULL".to_owned()
                            }
                        })
                        .collect();
                    let wheres = if per_user {
                        vec!["phone = :phone".to_owned()]
                    } else {
                        Vec::new()
                    };
                    (
                        format!(
                            "id, phone, name, status, source, created_at, updated_at, deleted_at{attributes}"
                        ),
                        "users",
                        wheres,
                        None,
                    )
                }
                ArchiveKind::Attributes => (
                    "key, name, type, mandatory, suggested, position".to_owned(),
                    "attribute_defs",
                    vec![format!("{org} ORDER BY position")],
                    None,
                ),
                ArchiveKind::Groups => {
                    let mut wheres = vec![org.to_owned()];
                    if per_user {
                        wheres.push(
                            "id IN (SELECT group_id FROM memberships WHERE org_id = :org AND user_id = :user
                                    UNION SELECT group_id FROM messages WHERE org_id = :org AND sender_id = :user
                                    UNION SELECT group_id FROM action_responses WHERE org_id = :org AND user_id = :user)"
                                .to_owned(),
                        );
                    }
                    (
                        "id, parent_id, name, org_mapped, created_at".to_owned(),
                        "groups",
                        wheres,
                        None,
                    )
                }
                ArchiveKind::Memberships => (
                    "group_id, user_id, role, joined_at".to_owned(),
                    "memberships",
                    own(org, per_user, "user_id = :user"),
                    None,
                ),
                ArchiveKind::Messages => (
                    "id, group_id, sender_id, body, created_at".to_owned(),
                    "messages",
                    own(org, per_user, "sender_id = :user"),
                    Some("created_at"),
                ),
                ArchiveKind::Attachments => (
                    "id, message_id, file_name, content_type, size, blob_key, created_at".to_owned(),
                    "attachments",
                    own(
                        org,
                        per_user,
                        "message_id IN (SELECT id FROM messages WHERE org_id = :org AND sender_id = :user)",
                    ),
                    Some("created_at"),
                ),
                ArchiveKind::Actions => (
                    if per_user {
                        "id, kind, title, questions, CASE WHEN created_by = :user THEN created_by END, created_at"
                    } else {
                        "id, kind, title, questions, created_by, created_at"
                    }
                    .to_owned(),
                    "actions",
                    own(
                        org,
                        per_user,
                        "(created_by = :user OR id IN (SELECT action_id FROM action_responses
                                                       WHERE org_id = :org AND user_id = :user))",
                    ),
                    Some("created_at"),
                ),
                ArchiveKind::ActionPublications => (
                    "action_id, group_id, published_by, published_at".to_owned(),
                    "action_publications",
                    own(org, per_user, "published_by = :actor"),
                    Some("published_at"),
                ),
                ArchiveKind::ActionResponses => (
                    "id, action_id, group_id, user_id, answers, created_at".to_owned(),
                    "action_responses",
                    own(org, per_user, "user_id = :user"),
                    Some("created_at"),
                ),
                ArchiveKind::Connectors => (
                    "id, name, config, created_by, created_at".to_owned(),
                    "connectors",
                    own(org, per_user, "created_by = :user"),
                    Some("created_at"),
                ),
                ArchiveKind::ConnectorPublications => (
                    "connector_id, group_id, published_by, published_at".to_owned(),
                    "connector_publications",
                    own(org, per_user, "published_by = :actor"),
                    Some("published_at"),
                ),
                ArchiveKind::Telemetry => (
                    "id, user_id, kind, properties, at".to_owned(),
                    "telemetry_events",
                    own(org, per_user, "user_id = :user"),
                    Some("at"),
                ),
                ArchiveKind::Audit => (
                    if per_user {
                        "id, CASE WHEN actor = :actor THEN actor ELSE :other END, action, target, outcome,
                         CASE WHEN actor = :actor THEN request_id END,
                         CASE WHEN actor = :actor THEN ip END, at"
                    } else {
                        "id, actor, action, target, outcome, request_id, ip, at"
                    }
                    .to_owned(),
                    "audit_events",
                    own(
                        org,
                        per_user,
                        "(actor = :actor OR target = :phone OR target = :actor)",
                    ),
                    Some("at"),
                ),
                ArchiveKind::Jobs => return Ok(None),
            };
        if let Some(column) = dated {
            if filter.since.is_some() {
                wheres.push(format!("{column} >= :since"));
            }
            if filter.until.is_some() {
                wheres.push(format!("{column} < :until"));
            }
        }
        let mut sql = format!("SELECT {select} FROM {table}");
        if !wheres.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wheres.join(" AND "));
        }
        Ok(Some(sql))
    }

    /// The jobs a filter selects: none for one person, else those made in the range.
    fn jobs<'a>(&'a self, filter: &RowFilter) -> impl Iterator<Item = &'a Vec<Value>> {
        let since = filter.since.map(ts);
        let until = filter.until.map(ts);
        let per_user = filter.user.is_some();
        self.jobs.iter().filter(move |row| {
            let Value::Text(created) = &row[JOB_CREATED_AT] else {
                return false;
            };
            !per_user
                && since.as_ref().is_none_or(|s| created >= s)
                && until.as_ref().is_none_or(|u| created < u)
        })
    }
}

/// The org's condition, and the person's when the read is theirs.
fn own(org: &str, per_user: bool, theirs: &str) -> Vec<String> {
    let mut wheres = vec![org.to_owned()];
    if per_user {
        wheres.push(theirs.to_owned());
    }
    wheres
}

fn cell_of(value: ValueRef<'_>) -> StoreResult<Cell<'_>> {
    Ok(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(bytes) => Cell::Text(
            std::str::from_utf8(bytes)
                .map_err(|_| StoreError::Corrupt("text that is not UTF-8".into()))?,
        ),
        ValueRef::Blob(_) => return Err(StoreError::Corrupt("a binary value".into())),
    })
}

fn owned_cell(value: &Value) -> Cell<'_> {
    match value {
        Value::Null | Value::Blob(_) => Cell::Null,
        Value::Integer(i) => Cell::Int(*i),
        Value::Real(f) => Cell::Real(*f),
        Value::Text(s) => Cell::Text(s),
    }
}

impl OrgSnapshot for SqliteSnapshot {
    fn attribute_defs(&mut self) -> StoreResult<Vec<AttributeDef>> {
        crate::users::attribute_defs(&self.conn, self.org)
    }

    fn count(&mut self, kind: ArchiveKind, filter: &RowFilter) -> StoreResult<u64> {
        let Some(sql) = self.sql(kind, filter)? else {
            return Ok(self.jobs(filter).count() as u64);
        };
        // Counted through the narrowest index: the org condition without its `+`.
        let sql = format!(
            "SELECT count(*) FROM ({})",
            sql.replace("+org_id", "org_id")
        );
        let params = self.params(filter)?;
        let mut stmt = self.conn.prepare(&sql).map_err(db)?;
        params.bind(&mut stmt)?;
        let mut rows = stmt.raw_query();
        let row = rows.next().map_err(db)?.ok_or(StoreError::NotFound)?;
        row.get::<_, u64>(0).map_err(db)
    }

    fn rows(
        &mut self,
        kind: ArchiveKind,
        filter: &RowFilter,
        each: &mut RowSink<'_>,
    ) -> StoreResult<u64> {
        let Some(sql) = self.sql(kind, filter)? else {
            let mut n = 0;
            for row in self.jobs(filter) {
                let cells: Vec<Cell<'_>> = row.iter().map(owned_cell).collect();
                each(&cells)?;
                n += 1;
            }
            return Ok(n);
        };
        let params = self.params(filter)?;
        let mut stmt = self.conn.prepare(&sql).map_err(db)?;
        params.bind(&mut stmt)?;
        let width = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut n = 0;
        while let Some(row) = rows.next().map_err(db)? {
            let cells = (0..width)
                .map(|i| cell_of(row.get_ref(i).map_err(db)?))
                .collect::<StoreResult<Vec<_>>>()?;
            each(&cells)?;
            n += 1;
        }
        Ok(n)
    }
}
