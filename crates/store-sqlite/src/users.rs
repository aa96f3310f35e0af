//! Users and the attribute schema.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::types::Value;
use r2d2_sqlite::rusqlite::{
    self, Connection, OptionalExtension, Row, Transaction, params, params_from_iter,
};
use steward_domain::{
    AttributeChanges, AttributeDef, AttributeKey, AttributeType, AttributeValue, Attributes,
    GroupId, GroupRole, OrgId, PersonName, PhoneNumber, UpsertOutcome, User, UserId, UserSource,
    UserStatus, UserUpsert,
};
use steward_store::{
    AttributeRewrite, Conflict, Page, StoreError, StoreResult, UserQuery, UserSort, UserStore,
};

use crate::SqliteStore;
use crate::convert::{corrupt, db, parse_id, parse_opt_ts, parse_ts, ts};

impl UserStore for SqliteStore {
    fn attribute_defs(&self, org: OrgId) -> StoreResult<Vec<AttributeDef>> {
        self.read_org(org, Vec::new, |conn| attribute_defs(conn, org))
    }

    fn put_attribute_defs(&self, org: OrgId, defs: &[AttributeDef]) -> StoreResult<()> {
        self.write_org(org, |tx| put_attribute_defs(tx, org, defs))?;
        self.read_org(org, || (), |conn| refresh_stats(conn, true))
    }

    fn attribute_values(
        &self,
        org: OrgId,
        key: &AttributeKey,
    ) -> StoreResult<Vec<(PhoneNumber, serde_json::Value)>> {
        self.read_org(org, Vec::new, |conn| attribute_values(conn, org, key))
    }

    fn users_missing_attribute(
        &self,
        org: OrgId,
        key: &AttributeKey,
        examples: u32,
    ) -> StoreResult<(u64, Vec<PhoneNumber>)> {
        self.read_org(
            org,
            || (0, Vec::new()),
            |conn| users_missing_attribute(conn, org, key, examples),
        )
    }

    fn save_attribute_schema(
        &self,
        org: OrgId,
        defs: &[AttributeDef],
        removed: &[AttributeKey],
        rewrites: &[AttributeRewrite],
    ) -> StoreResult<()> {
        self.write_org(org, |tx| {
            save_attribute_schema(tx, org, defs, removed, rewrites)
        })?;
        self.read_org(org, || (), |conn| refresh_stats(conn, true))
    }

    fn find_users_by_phone(&self, phone: &PhoneNumber) -> StoreResult<Vec<User>> {
        // The lookup may name an org where the user's row did not commit (it is
        // written before the org's transaction commits, see `remember_phones`): each
        // org's file has the last word.
        let orgs = {
            let conn = self.conn()?;
            let mut stmt = conn
                .prepare_cached(
                    "SELECT org_id FROM phone_orgs WHERE phone = ?1
                       AND org_id IN (SELECT id FROM orgs) ORDER BY org_id",
                )
                .map_err(db)?;
            stmt.query_map([phone.as_str()], |r| r.get::<_, String>(0))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?
        };
        let mut users = Vec::new();
        for org in orgs {
            let org: OrgId = parse_id(&org)?;
            users.extend(self.read_org(org, || None, |conn| get_user(conn, org, phone))?);
        }
        Ok(users)
    }

    fn get_user(&self, org: OrgId, phone: &PhoneNumber) -> StoreResult<Option<User>> {
        self.read_org(org, || None, |conn| get_user(conn, org, phone))
    }

    fn list_users(&self, org: OrgId, query: &UserQuery) -> StoreResult<Page<User>> {
        self.read_org(
            org,
            || Page {
                items: Vec::new(),
                next_cursor: None,
                total: 0,
            },
            |conn| list_users(conn, org, query),
        )
    }

    fn count_users(&self, org: OrgId) -> StoreResult<u64> {
        self.read_org(
            org,
            || 0,
            |conn| {
                conn.query_row(
                    "SELECT count(*) FROM users WHERE status = 'active'",
                    [],
                    |r| r.get(0),
                )
                .map_err(db)
            },
        )
    }

    fn create_user(&self, org: OrgId, user: &UserUpsert, now: DateTime<Utc>) -> StoreResult<User> {
        self.write_org(org, |tx| {
            let created = create_user(tx, org, user, now)?;
            self.remember_phones(org, [&created.phone])?;
            Ok(created)
        })
    }

    fn update_user(
        &self,
        org: OrgId,
        phone: &PhoneNumber,
        name: Option<&PersonName>,
        changes: &AttributeChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        self.write_org(org, |tx| update_user(tx, org, phone, name, changes, now))
    }

    fn upsert_users(
        &self,
        org: OrgId,
        rows: &[UserUpsert],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<UpsertOutcome>> {
        let outcomes = self.write_org(org, |tx| {
            let outcomes = upsert(tx, org, rows.iter(), now)?;
            self.remember_created(org, rows.iter(), &outcomes)?;
            Ok(outcomes)
        })?;
        self.read_org(org, || (), |conn| refresh_stats(conn, false))?;
        Ok(outcomes)
    }
}

impl SqliteStore {
    /// Records in the shared `phone_orgs` lookup that these phones are users of the
    /// org. Called inside the org's write transaction, before it commits: the lookup
    /// is then always a superset of the orgs that hold a phone (a rolled-back or
    /// crashed write leaves an extra entry, which `find_users_by_phone` skips), never
    /// a subset. A purge that removes a user's row removes its entry afterwards
    /// (`forget_purge`).
    pub(crate) fn remember_phones<'a>(
        &self,
        org: OrgId,
        phones: impl IntoIterator<Item = &'a PhoneNumber>,
    ) -> StoreResult<()> {
        let mut phones = phones.into_iter().peekable();
        if phones.peek().is_none() {
            return Ok(());
        }
        self.write(|tx| {
            let mut stmt = tx
                .prepare_cached("INSERT OR IGNORE INTO phone_orgs (phone, org_id) VALUES (?1, ?2)")
                .map_err(db)?;
            let org = org.to_string();
            for phone in phones {
                stmt.execute(params![phone.as_str(), org]).map_err(db)?;
            }
            Ok(())
        })
    }

    /// [`SqliteStore::remember_phones`] for the rows an upsert created.
    pub(crate) fn remember_created<'a>(
        &self,
        org: OrgId,
        rows: impl Iterator<Item = &'a UserUpsert>,
        outcomes: &[UpsertOutcome],
    ) -> StoreResult<()> {
        self.remember_phones(
            org,
            rows.zip(outcomes)
                .filter(|(_, outcome)| **outcome == UpsertOutcome::Created)
                .map(|(row, _)| &row.phone),
        )
    }
}

pub fn attribute_defs(conn: &Connection, _org: OrgId) -> StoreResult<Vec<AttributeDef>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT key, name, type, mandatory, suggested FROM attribute_defs ORDER BY position",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get::<_, String>(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(|(key, name, ty, mandatory, suggested)| {
            Ok(AttributeDef {
                key: AttributeKey::parse(&key).map_err(|_| corrupt("attribute key", &key))?,
                name,
                ty: AttributeType::parse(&ty).ok_or_else(|| corrupt("attribute type", &ty))?,
                mandatory,
                suggested,
            })
        })
        .collect()
}

pub fn put_attribute_defs(
    tx: &Transaction<'_>,
    org: OrgId,
    defs: &[AttributeDef],
) -> StoreResult<()> {
    for def in defs {
        ensure_column(tx, &def.key, def.ty, true)?;
    }
    tx.execute("DELETE FROM attribute_defs", []).map_err(db)?;
    let mut stmt = tx
        .prepare(
            "INSERT INTO attribute_defs (org_id, key, name, type, mandatory, suggested, position)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db)?;
    for (position, def) in defs.iter().enumerate() {
        stmt.execute(params![
            org.to_string(),
            def.key.as_str(),
            def.name,
            def.ty.as_str(),
            def.mandatory,
            def.suggested,
            position
        ])
        .map_err(db)?;
    }
    Ok(())
}

/// Refreshes the planner's statistics of the users table: all of them when there are
/// none yet or the table has at least doubled since, else those of any index that has
/// none (new after a schema save, or rebuilt after a bulk load). Without statistics
/// SQLite walks the phone order and tests a filter or a search row by row instead of
/// ranging over its index. They are read in full: sampled statistics
/// (`analysis_limit`) see only one status in the first rows of the status index and
/// make `status = 'active'` look as selective as a name prefix, which sent name
/// searches at 1M users through the whole status index. A full refresh reads each
/// index once; the doubling rule keeps its total cost within twice that of the last
/// one. Each index is analyzed in a write transaction of its own, so other writers
/// wait for one index's read (tens of milliseconds at 1M users), not all of them.
pub fn refresh_stats(conn: &Connection, force: bool) -> StoreResult<()> {
    // The largest rowid stands for the row count (rows are appended, never deleted)
    // and costs one B-tree descent.
    let rows: i64 = conn
        .query_row("SELECT coalesce(max(rowid), 0) FROM users", [], |r| {
            r.get(0)
        })
        .map_err(db)?;
    let known: Option<i64> = conn
        .query_row(
            "SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE tbl = 'users' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        // No sqlite_stat1 table yet: no statistics.
        .unwrap_or(None);
    let stale = if known.is_none_or(|known| rows >= 2 * known + 100) {
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'"
    } else if force {
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'
           AND name NOT IN (SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)"
    } else {
        return Ok(());
    };
    let indexes: Vec<String> = {
        let mut stmt = conn.prepare(stale).map_err(db)?;
        stmt.query_map([], |r| r.get(0))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?
    };
    for index in indexes {
        let _turn = crate::gate::turn(conn);
        // Names come from the schema itself.
        conn.execute_batch(&format!("ANALYZE \"{index}\""))
            .map_err(db)?;
    }
    Ok(())
}

/// The users indexes every org file has besides the unique phone and id: unfiltered
/// lists by status in phone or name order (a page is a range scan, its total an
/// index-only count), and a name prefix search in any case.
pub const FIXED_INDEXES: [(&str, &str); 3] = [
    (
        "users_by_status",
        "CREATE INDEX IF NOT EXISTS users_by_status ON users (status, phone)",
    ),
    (
        "users_by_name",
        "CREATE INDEX IF NOT EXISTS users_by_name ON users (status, name, phone)",
    ),
    (
        "users_by_name_search",
        "CREATE INDEX IF NOT EXISTS users_by_name_search ON users (lower(name), status, phone)",
    ),
];

/// A step of at least this many rows into an org with no users yet takes the bulk
/// path: see [`defer_indexes`].
pub const BULK_MIN_ROWS: usize = 10_000;

/// The secondary indexes of the users table that a bulk load defers (every one but
/// the unique phone and id), by name, with the statement that builds each.
fn deferrable_indexes(conn: &Connection) -> StoreResult<Vec<(String, String)>> {
    let mut indexes: Vec<(String, String)> = FIXED_INDEXES
        .iter()
        .map(|(name, sql)| ((*name).to_owned(), (*sql).to_owned()))
        .collect();
    let keys: Vec<String> = {
        let mut stmt = conn
            .prepare_cached("SELECT key FROM attribute_defs ORDER BY position")
            .map_err(db)?;
        stmt.query_map([], |r| r.get(0))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?
    };
    for key in keys {
        let key = AttributeKey::parse(&key).map_err(|_| corrupt("attribute key", &key))?;
        indexes.push((
            format!("users_by_attr_{}", key.as_str()),
            format!(
                "CREATE INDEX IF NOT EXISTS users_by_attr_{} ON users ({}, status, phone)",
                key.as_str(),
                column(&key)
            ),
        ));
    }
    Ok(indexes)
}

/// The bulk path of a large first import: when the org has no users yet and a step
/// brings many, its secondary indexes are dropped in the step's transaction, so the
/// load appends rows and touches only the unique phone and id indexes, instead of
/// inserting into a dozen B-trees in orders unlike the insert order. They are built
/// again by sorting, all at once, when the job finishes ([`build_missing_indexes`],
/// called by `finish_job`), so a job reports `completed` with its filters usable;
/// if the job dies, its resumed run finishes and builds them. Reads meanwhile still
/// answer, from the table and the phone index. Answers whether it deferred them.
pub fn defer_indexes(tx: &Transaction<'_>, rows: usize) -> StoreResult<bool> {
    if rows < BULK_MIN_ROWS {
        return Ok(false);
    }
    let empty: bool = tx
        .query_row("SELECT NOT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))
        .map_err(db)?;
    if !empty {
        return Ok(false);
    }
    for (name, _) in deferrable_indexes(tx)? {
        // Names come from our constants and validated keys.
        tx.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))
            .map_err(db)?;
    }
    Ok(true)
}

/// Builds the users indexes a bulk load deferred, if any are missing, each by one
/// sort of the table (SQLite may sort with a helper thread; at 1M rows this measured
/// the same as without, 26.0 s against 25.6 s for the whole import), then refreshes
/// the planner's statistics. A no-op, one catalog read, when none is missing.
pub fn build_missing_indexes(conn: &mut Connection) -> StoreResult<()> {
    let mut missing = Vec::new();
    for (name, sql) in deferrable_indexes(conn)? {
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)",
                [&name],
                |r| r.get(0),
            )
            .map_err(db)?;
        if !exists {
            missing.push(sql);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    conn.execute_batch("PRAGMA threads = 2").map_err(db)?;
    let built = (|| {
        let _turn = crate::gate::turn(conn);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        for sql in &missing {
            tx.execute_batch(sql).map_err(db)?;
        }
        tx.commit().map_err(db)
    })();
    conn.execute_batch("PRAGMA threads = 0").map_err(db)?;
    built?;
    refresh_stats(conn, true)
}

/// The column of one attribute in the org's `users` table. Keys are validated to
/// `[a-z][a-z0-9_]*`, so the name is safe to inline, and it must be inlined (SQL
/// cannot bind a column name).
pub fn column(key: &AttributeKey) -> String {
    format!("a_{}", key.as_str())
}

/// Every attribute column the org's users table has, with the type its values are
/// read as: the attribute's type, or for a key written without a definition (or whose
/// definition is gone) the type of the value that made the column.
#[derive(Clone, Debug, Default)]
pub struct Columns(Vec<(AttributeKey, AttributeType)>);

impl Columns {
    pub fn read(conn: &Connection) -> StoreResult<Columns> {
        let mut stmt = conn
            .prepare_cached("SELECT key, type FROM attribute_columns ORDER BY key")
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(key, ty)| {
                Ok((
                    AttributeKey::parse(&key).map_err(|_| corrupt("attribute key", &key))?,
                    AttributeType::parse(&ty).ok_or_else(|| corrupt("attribute type", &ty))?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()
            .map(Columns)
    }

    pub fn has(&self, key: &AttributeKey) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// `, a_x, a_y` for a SELECT or INSERT column list.
    fn list(&self, prefix: &str) -> String {
        self.0
            .iter()
            .map(|(key, _)| format!(", {prefix}{}", column(key)))
            .collect()
    }
}

/// Adds the column of an attribute if the org's users table lacks it (DDL on the org's
/// own file only), and its filter index when `indexed` (a defined attribute). A
/// defined attribute's type is recorded as the column's read type.
pub fn ensure_column(
    tx: &Transaction<'_>,
    key: &AttributeKey,
    ty: AttributeType,
    indexed: bool,
) -> StoreResult<()> {
    let known: Option<String> = tx
        .prepare_cached("SELECT type FROM attribute_columns WHERE key = ?1")
        .map_err(db)?
        .query_row([key.as_str()], |r| r.get(0))
        .optional()
        .map_err(db)?;
    let col = column(key);
    match known {
        None => {
            // No declared type: SQLite keeps each value as it is bound (text, integer,
            // real), with no conversion.
            tx.execute_batch(&format!("ALTER TABLE users ADD COLUMN {col}"))
                .map_err(db)?;
            tx.execute(
                "INSERT INTO attribute_columns (key, type) VALUES (?1, ?2)",
                params![key.as_str(), ty.as_str()],
            )
            .map_err(db)?;
        }
        Some(known) if indexed && known != ty.as_str() => {
            tx.execute(
                "UPDATE attribute_columns SET type = ?2 WHERE key = ?1",
                params![key.as_str(), ty.as_str()],
            )
            .map_err(db)?;
        }
        Some(_) => {}
    }
    if indexed {
        // On (value, status, phone): a filtered page of active users is a range scan
        // in phone order, and its total is counted from the index alone.
        tx.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS users_by_attr_{} ON users ({col}, status, phone)",
            key.as_str()
        ))
        .map_err(db)?;
    }
    Ok(())
}

/// Columns for every key the changes write, typed by the value that makes them.
fn ensure_columns_for<'a>(
    tx: &Transaction<'_>,
    changes: impl Iterator<Item = &'a AttributeChanges>,
) -> StoreResult<Columns> {
    let mut columns = Columns::read(tx)?;
    let mut added = false;
    for change in changes {
        for (key, value) in change {
            if let Some(value) = value
                && !columns.has(key)
            {
                ensure_column(tx, key, value.ty(), false)?;
                columns.0.push((key.clone(), value.ty()));
                added = true;
            }
        }
    }
    if added {
        columns = Columns::read(tx)?;
    }
    Ok(columns)
}

/// An attribute value as stored: typed, not JSON.
fn sql_value(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::String(s) => Value::Text(s.clone()),
        AttributeValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            Value::Integer(*n as i64)
        }
        AttributeValue::Number(n) => Value::Real(*n),
        AttributeValue::YesNo(b) => Value::Integer(i64::from(*b)),
        AttributeValue::DateTime(_) => Value::Text(value.to_text()),
    }
}

/// A stored value as JSON, read as `ty`.
fn json_of(value: &Value, ty: AttributeType) -> Option<serde_json::Value> {
    Some(match value {
        Value::Null | Value::Blob(_) => return None,
        Value::Integer(i) if ty == AttributeType::YesNo => serde_json::Value::Bool(*i != 0),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Real(f) => serde_json::Value::from(*f),
        Value::Text(s) => serde_json::Value::String(s.clone()),
    })
}

/// A stored value as an attribute value of type `ty`; a value that no longer fits
/// its type (left by a type change) reads as its text.
fn decode_value(value: &Value, ty: AttributeType) -> Option<AttributeValue> {
    let json = json_of(value, ty)?;
    Some(
        AttributeValue::from_json(ty, &json)
            .ok()
            .flatten()
            .unwrap_or_else(|| match json {
                serde_json::Value::String(s) => AttributeValue::String(s),
                other => AttributeValue::String(other.to_string()),
            }),
    )
}

const USER_COLUMNS: &str = "id, phone, name, status, source, created_at, updated_at, deleted_at";

/// A users row as read: the fixed columns, then one value per attribute column.
struct UserRow([String; 7], Option<String>, Vec<Value>);

fn read_user(r: &Row<'_>, columns: &Columns) -> rusqlite::Result<UserRow> {
    let values = (0..columns.0.len())
        .map(|i| r.get::<_, Value>(8 + i))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(UserRow(
        [
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ],
        r.get(7)?,
        values,
    ))
}

impl UserRow {
    fn into_user(self, org: OrgId, columns: &Columns) -> StoreResult<User> {
        let UserRow([id, phone, name, status, source, created, updated], deleted, values) = self;
        let mut attributes = Attributes::new();
        for ((key, ty), value) in columns.0.iter().zip(&values) {
            if let Some(value) = decode_value(value, *ty) {
                attributes.insert(key.clone(), value);
            }
        }
        Ok(User {
            id: parse_id(&id)?,
            org_id: org,
            phone: PhoneNumber::from_e164(&phone).map_err(|_| corrupt("phone", &phone))?,
            name: PersonName::parse(&name).map_err(|_| corrupt("name", &name))?,
            status: UserStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            source: UserSource::parse(&source).ok_or_else(|| corrupt("source", &source))?,
            attributes,
            created_at: parse_ts(&created)?,
            updated_at: parse_ts(&updated)?,
            deleted_at: parse_opt_ts(deleted)?,
        })
    }
}

pub fn get_user(conn: &Connection, org: OrgId, phone: &PhoneNumber) -> StoreResult<Option<User>> {
    let columns = Columns::read(conn)?;
    let sql = format!(
        "SELECT {USER_COLUMNS}{} FROM users WHERE phone = ?1",
        columns.list("")
    );
    let row = conn
        .prepare_cached(&sql)
        .map_err(db)?
        .query_row([phone.as_str()], |r| read_user(r, &columns))
        .optional()
        .map_err(db)?;
    row.map(|r| r.into_user(org, &columns)).transpose()
}

/// The user with this id, whatever their status.
pub fn get_user_by_id(conn: &Connection, org: OrgId, id: UserId) -> StoreResult<Option<User>> {
    let columns = Columns::read(conn)?;
    let sql = format!(
        "SELECT {USER_COLUMNS}{} FROM users WHERE id = ?1",
        columns.list("")
    );
    let row = conn
        .prepare_cached(&sql)
        .map_err(db)?
        .query_row([id.to_string()], |r| read_user(r, &columns))
        .optional()
        .map_err(db)?;
    row.map(|r| r.into_user(org, &columns)).transpose()
}

/// Reduces a purged user's row to a stub: the name becomes `name` and every attribute
/// value is cleared (the row stays for data outside the org's control that names them).
pub fn clear_user_record(
    tx: &Transaction<'_>,
    id: UserId,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let columns = Columns::read(tx)?;
    let cleared: String = columns
        .0
        .iter()
        .map(|(key, _)| format!(", {} = NULL", column(key)))
        .collect();
    tx.execute(
        &format!("UPDATE users SET name = ?2, updated_at = ?3{cleared} WHERE id = ?1"),
        params![id.to_string(), name, ts(now)],
    )
    .map_err(db)?;
    Ok(())
}

/// The half-open text range `[prefix, next)` of the strings that start with `prefix`
/// (`next` is the prefix with its last character incremented), so a prefix match is a
/// range scan of an index. `None` when there is no such bound (an empty prefix).
fn prefix_range(prefix: &str) -> Option<(String, String)> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some((prefix.to_owned(), chars.into_iter().collect()));
        }
    }
    None
}

/// A statement being built with its positional arguments.
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<Value>,
}

impl Sql {
    fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    fn bind(&mut self, value: Value) -> &mut Sql {
        self.args.push(value);
        self.text.push_str(&format!("?{}", self.args.len()));
        self
    }

    fn count(&self, conn: &Connection) -> StoreResult<u64> {
        conn.prepare_cached(&self.text)
            .map_err(db)?
            .query_row(params_from_iter(&self.args), |r| r.get(0))
            .map_err(db)
    }
}

/// One half of a `q=` search: the rows whose `expr` starts with a prefix, as the
/// range `[from, to)` of an index (`users_by_name_search` for `lower(name)`, the
/// status index for the phone).
struct SearchRange {
    expr: &'static str,
    from: String,
    to: String,
}

impl SearchRange {
    /// `expr >= from AND expr < to`; with `plain`, written so no index serves it.
    fn push(&self, sql: &mut Sql, plain: bool) {
        let expr = if plain {
            format!("+{}", self.expr)
        } else {
            self.expr.to_owned()
        };
        sql.push(&format!("{expr} >= "))
            .bind(Value::Text(self.from.clone()))
            .push(&format!(" AND {expr} < "))
            .bind(Value::Text(self.to.clone()));
    }
}

/// The ranges of a search: a name prefix in any (ASCII) case, as LIKE matched it, and
/// for a search that looks like a phone, a phone prefix.
fn search_ranges(search: &str) -> Vec<SearchRange> {
    let mut ranges = Vec::new();
    if let Some((from, to)) = prefix_range(&search.to_ascii_lowercase()) {
        ranges.push(SearchRange {
            expr: "lower(name)",
            from,
            to,
        });
    }
    let digits: String = search.chars().filter(char::is_ascii_digit).collect();
    let looks_like_phone = search
        .chars()
        .all(|c| c.is_ascii_digit() || "+ -().".contains(c));
    if looks_like_phone
        && !digits.is_empty()
        && let Some((from, to)) = prefix_range(&format!("+{digits}"))
    {
        ranges.push(SearchRange {
            expr: "phone",
            from,
            to,
        });
    }
    ranges
}

pub fn list_users(conn: &Connection, org: OrgId, query: &UserQuery) -> StoreResult<Page<User>> {
    let limit = query.limit.clamp(1, 1000);
    let columns = Columns::read(conn)?;
    let status = if query.include_deleted {
        ""
    } else {
        " AND status = 'active'"
    };
    // The filters of the list, beside the search. Every row in the org's file is the
    // org's: no org filter.
    let base = |sql: &mut Sql| {
        sql.push(" WHERE 1");
        if let Some(groups) = &query.in_groups {
            // Ids are UUIDs parsed into GroupId, never raw input: safe to inline.
            let list: Vec<String> = groups.iter().map(|g| format!("'{g}'")).collect();
            sql.push(&format!(
                " AND id IN (SELECT user_id FROM memberships WHERE group_id IN ({}))",
                list.join(", ")
            ));
        }
        for (key, value) in &query.attribute_filters {
            if columns.has(key) {
                sql.push(&format!(" AND {} = ", column(key)))
                    .bind(sql_value(value));
            } else {
                // No user ever had this attribute.
                sql.push(" AND 0");
            }
        }
    };
    let ranges = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(search_ranges)
        .unwrap_or_default();
    let plain_list = query.in_groups.is_none() && query.attribute_filters.is_empty();

    // The total. A search with no other filter counts each range from its index
    // alone, less the users in both (a name that starts with the phone's digits).
    let mut range_counts = Vec::new();
    let total = if ranges.is_empty() {
        let mut sql = Sql::default();
        sql.push("SELECT count(*) FROM users");
        base(&mut sql);
        sql.push(status);
        sql.count(conn)?
    } else if plain_list {
        for range in &ranges {
            let mut sql = Sql::default();
            sql.push("SELECT count(*) FROM users WHERE ");
            range.push(&mut sql, false);
            sql.push(status);
            range_counts.push(sql.count(conn)?);
        }
        let mut both = 0;
        if let [a, b] = &ranges[..] {
            // Range over the smaller, test the other.
            let (scan, test) = if range_counts[0] <= range_counts[1] {
                (a, b)
            } else {
                (b, a)
            };
            let mut sql = Sql::default();
            sql.push("SELECT count(*) FROM users WHERE ");
            scan.push(&mut sql, false);
            sql.push(" AND ");
            test.push(&mut sql, true);
            sql.push(status);
            both = sql.count(conn)?;
        }
        range_counts.iter().sum::<u64>() - both
    } else {
        let mut sql = Sql::default();
        sql.push("SELECT count(*) FROM users");
        base(&mut sql);
        sql.push(&status.replace("status", "+status"));
        sql.push(" AND rowid IN (");
        for (i, range) in ranges.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT rowid FROM users WHERE ");
            range.push(&mut sql, false);
        }
        sql.push(")");
        sql.count(conn)?
    };

    // Keyset pagination: the cursor is the sort key of the last row.
    let (order, compare) = match query.sort {
        UserSort::Phone => ("phone", ">"),
        UserSort::PhoneDesc => ("phone DESC", "<"),
        UserSort::Name => ("name, phone", ">"),
        UserSort::NameDesc => ("name DESC, phone DESC", "<"),
    };
    let page = |sql: &mut Sql, status: &str| {
        sql.push(status);
        if let Some(cursor) = &query.after {
            match query.sort {
                UserSort::Phone | UserSort::PhoneDesc => {
                    sql.push(&format!(" AND phone {compare} "))
                        .bind(Value::Text(cursor.clone()));
                }
                UserSort::Name | UserSort::NameDesc => {
                    let (name, phone) = cursor.split_once('\t').unwrap_or((cursor.as_str(), ""));
                    sql.push(&format!(" AND (name, phone) {compare} ("))
                        .bind(Value::Text(name.to_owned()))
                        .push(", ")
                        .bind(Value::Text(phone.to_owned()))
                        .push(")");
                }
            }
        }
        sql.push(&format!(" ORDER BY {order} LIMIT "))
            .bind(Value::Integer(i64::from(limit) + 1));
    };
    let select = format!("SELECT {USER_COLUMNS}{} FROM users", columns.list(""));
    let mut queries = Vec::new();
    if ranges.is_empty() {
        let mut sql = Sql::default();
        sql.push(&select);
        base(&mut sql);
        page(&mut sql, status);
        queries.push(sql);
    } else {
        // Each range gives its first page in the list's order, and the pages merge.
        // A range that matches many users is read by walking the list's order and
        // testing each row, which stops after a page; one that matches few is read
        // by collecting its rows from the range and sorting them. A phone range in
        // phone order is both at once.
        let users: i64 = conn
            .query_row("SELECT coalesce(max(rowid), 0) FROM users", [], |r| {
                r.get(0)
            })
            .map_err(db)?;
        let users = u64::try_from(users).unwrap_or(0);
        for (i, range) in ranges.iter().enumerate() {
            let matches = range_counts.get(i).copied().unwrap_or(total);
            let mut sql = Sql::default();
            sql.push(&select);
            base(&mut sql);
            sql.push(" AND ");
            let by_phone = matches!(query.sort, UserSort::Phone | UserSort::PhoneDesc);
            if range.expr == "phone" && by_phone {
                range.push(&mut sql, false);
                page(&mut sql, status);
            } else if matches.saturating_mul(490) >= users {
                // Walking reads about a page / (matches / users) rows: ~25,000 at most.
                range.push(&mut sql, true);
                page(&mut sql, status);
            } else {
                // `+status` keeps SQLite from walking the status index instead
                // (sampled statistics can make `status = 'active'` look selective).
                sql.push("rowid IN (SELECT rowid FROM users WHERE ");
                range.push(&mut sql, false);
                sql.push(")");
                page(&mut sql, &status.replace("status", "+status"));
            }
            queries.push(sql);
        }
    }
    let mut rows = Vec::new();
    for sql in &queries {
        let mut stmt = conn.prepare_cached(&sql.text).map_err(db)?;
        let found = stmt
            .query_map(params_from_iter(&sql.args), |r| read_user(r, &columns))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.extend(found);
    }
    let mut items = rows
        .into_iter()
        .map(|r| r.into_user(org, &columns))
        .collect::<StoreResult<Vec<_>>>()?;
    if queries.len() > 1 {
        items.sort_by(|a, b| {
            let by_phone = a.phone.as_str().cmp(b.phone.as_str());
            let by_name = a.name.as_str().cmp(b.name.as_str()).then(by_phone);
            match query.sort {
                UserSort::Phone => by_phone,
                UserSort::PhoneDesc => by_phone.reverse(),
                UserSort::Name => by_name,
                UserSort::NameDesc => by_name.reverse(),
            }
        });
        items.dedup_by(|a, b| a.id == b.id);
    }
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|u| match query.sort {
            UserSort::Phone | UserSort::PhoneDesc => u.phone.as_str().to_owned(),
            UserSort::Name | UserSort::NameDesc => format!("{}\t{}", u.name, u.phone),
        })
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

/// A stored user as an upsert compares it: rowid, id, name, status and the value of
/// every attribute column.
struct Stored {
    rowid: i64,
    name: String,
    status: String,
    values: Vec<Value>,
}

/// Reads users by phone for an upsert or a classification.
struct Finder<'c> {
    find: rusqlite::CachedStatement<'c>,
    columns: &'c Columns,
}

impl<'c> Finder<'c> {
    fn new(conn: &'c Connection, columns: &'c Columns) -> StoreResult<Finder<'c>> {
        let find = conn
            .prepare_cached(&format!(
                "SELECT rowid, name, status{} FROM users WHERE phone = ?1",
                columns.list("")
            ))
            .map_err(db)?;
        Ok(Finder { find, columns })
    }

    fn find(&mut self, phone: &PhoneNumber) -> StoreResult<Option<Stored>> {
        let n = self.columns.0.len();
        self.find
            .query_row([phone.as_str()], |r| {
                Ok(Stored {
                    rowid: r.get(0)?,
                    name: r.get(1)?,
                    status: r.get(2)?,
                    values: (0..n)
                        .map(|i| r.get::<_, Value>(3 + i))
                        .collect::<rusqlite::Result<_>>()?,
                })
            })
            .optional()
            .map_err(db)
    }
}

/// What writing `row` over `stored` does: the outcome and the attribute columns whose
/// value changes (index into the columns, new value).
fn compare(
    columns: &Columns,
    stored: Option<&Stored>,
    changes: &AttributeChanges,
    name: &str,
    revive: bool,
) -> (UpsertOutcome, Vec<(usize, Value)>) {
    let mut changed = Vec::new();
    for (i, (key, _)) in columns.0.iter().enumerate() {
        let Some(change) = changes.get(key) else {
            continue;
        };
        let new = change.as_ref().map_or(Value::Null, sql_value);
        let old = stored.map_or(&Value::Null, |s| &s.values[i]);
        if *old != new {
            changed.push((i, new));
        }
    }
    let outcome = match stored {
        None => UpsertOutcome::Created,
        Some(s) if s.name == name && (!revive || s.status == "active") && changed.is_empty() => {
            UpsertOutcome::Unchanged
        }
        Some(_) => UpsertOutcome::Updated,
    };
    (outcome, changed)
}

/// Creates or updates users by phone. A row equal to the stored user (name,
/// attributes, active) is not rewritten; an update writes only the columns that
/// change. Updating a deleted user restores it.
pub fn upsert<'a>(
    tx: &Transaction<'_>,
    _org: OrgId,
    rows: impl ExactSizeIterator<Item = &'a UserUpsert> + Clone,
    now: DateTime<Utc>,
) -> StoreResult<Vec<UpsertOutcome>> {
    let columns = ensure_columns_for(tx, rows.clone().map(|r| &r.attributes))?;
    let now_text = ts(now);
    let mut finder = Finder::new(tx, &columns)?;
    let placeholders: String = (0..columns.0.len())
        .map(|i| format!(", ?{}", i + 6))
        .collect();
    let mut insert = tx
        .prepare_cached(&format!(
            "INSERT INTO users (id, phone, name, status, source, created_at, updated_at,
                                deleted_at{})
             VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?5, NULL{placeholders})",
            columns.list("")
        ))
        .map_err(db)?;
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut values: Vec<Value> = Vec::with_capacity(columns.0.len() + 5);
    for row in rows {
        let stored = finder.find(&row.phone)?;
        let (outcome, changed) = compare(
            &columns,
            stored.as_ref(),
            &row.attributes,
            row.name.as_str(),
            true,
        );
        match (outcome, stored) {
            (UpsertOutcome::Created, _) => {
                values.clear();
                values.extend([
                    Value::Text(UserId::new().to_string()),
                    Value::Text(row.phone.as_str().to_owned()),
                    Value::Text(row.name.as_str().to_owned()),
                    Value::Text(row.source.as_str().to_owned()),
                    Value::Text(now_text.clone()),
                ]);
                values.extend(std::iter::repeat_n(Value::Null, columns.0.len()));
                for (i, value) in changed {
                    values[5 + i] = value;
                }
                insert.execute(params_from_iter(&values)).map_err(db)?;
            }
            (UpsertOutcome::Updated, Some(stored)) => {
                update_row(
                    tx,
                    &columns,
                    stored.rowid,
                    row.name.as_str(),
                    true,
                    changed,
                    &now_text,
                )?;
            }
            _ => {}
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Rewrites a user's name, status (when `revive`) and the attribute columns that
/// change.
fn update_row(
    tx: &Transaction<'_>,
    columns: &Columns,
    rowid: i64,
    name: &str,
    revive: bool,
    changed: Vec<(usize, Value)>,
    now_text: &str,
) -> StoreResult<()> {
    let mut sets = String::from("name = ?2, updated_at = ?3");
    if revive {
        sets.push_str(", status = 'active', deleted_at = NULL");
    }
    let mut args = vec![
        Value::Integer(rowid),
        Value::Text(name.to_owned()),
        Value::Text(now_text.to_owned()),
    ];
    for (i, value) in changed {
        args.push(value);
        sets.push_str(&format!(", {} = ?{}", column(&columns.0[i].0), args.len()));
    }
    tx.prepare_cached(&format!("UPDATE users SET {sets} WHERE rowid = ?1"))
        .map_err(db)?
        .execute(params_from_iter(&args))
        .map_err(db)?;
    Ok(())
}

/// What [`upsert`] would answer for each row, writing nothing (a dry run). The rows
/// hold distinct phones, so no row's outcome depends on another's write.
pub fn classify<'a>(
    conn: &Connection,
    _org: OrgId,
    rows: impl Iterator<Item = &'a UserUpsert>,
) -> StoreResult<Vec<UpsertOutcome>> {
    let columns = Columns::read(conn)?;
    let mut finder = Finder::new(conn, &columns)?;
    rows.map(|row| {
        let stored = finder.find(&row.phone)?;
        // A key with no column yet holds nothing: setting it is a change.
        let unknown = row
            .attributes
            .iter()
            .any(|(key, value)| value.is_some() && !columns.has(key));
        let (outcome, _) = compare(
            &columns,
            stored.as_ref(),
            &row.attributes,
            row.name.as_str(),
            true,
        );
        Ok(match outcome {
            UpsertOutcome::Unchanged if unknown => UpsertOutcome::Updated,
            other => other,
        })
    })
    .collect()
}

pub fn create_user(
    tx: &Transaction<'_>,
    org: OrgId,
    user: &UserUpsert,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let exists: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE phone = ?1)",
            [user.phone.as_str()],
            |r| r.get(0),
        )
        .map_err(db)?;
    if exists {
        return Err(StoreError::Conflict(Conflict::Duplicate));
    }
    upsert(tx, org, std::iter::once(user), now)?;
    get_user(tx, org, &user.phone)?.ok_or(StoreError::NotFound)
}

pub fn update_user(
    tx: &Transaction<'_>,
    org: OrgId,
    phone: &PhoneNumber,
    name: Option<&PersonName>,
    changes: &AttributeChanges,
    now: DateTime<Utc>,
) -> StoreResult<Option<User>> {
    let columns = ensure_columns_for(tx, std::iter::once(changes))?;
    let Some(stored) = Finder::new(tx, &columns)?.find(phone)? else {
        return Ok(None);
    };
    let name = name.map_or(stored.name.as_str(), PersonName::as_str);
    let (outcome, changed) = compare(&columns, Some(&stored), changes, name, false);
    if outcome == UpsertOutcome::Updated {
        let name = name.to_owned();
        update_row(tx, &columns, stored.rowid, &name, false, changed, &ts(now))?;
    }
    get_user(tx, org, phone)
}

pub fn attribute_values(
    conn: &Connection,
    _org: OrgId,
    key: &AttributeKey,
) -> StoreResult<Vec<(PhoneNumber, serde_json::Value)>> {
    let columns = Columns::read(conn)?;
    let Some((_, ty)) = columns.0.iter().find(|(k, _)| k == key) else {
        return Ok(Vec::new());
    };
    let col = column(key);
    let mut stmt = conn
        .prepare(&format!(
            "SELECT phone, {col} FROM users WHERE {col} IS NOT NULL"
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Value>(1)?)))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
        .filter_map(|(phone, value)| Some((phone, json_of(&value, *ty)?)))
        .map(|(phone, value)| {
            Ok((
                PhoneNumber::from_e164(&phone).map_err(|_| corrupt("phone", &phone))?,
                value,
            ))
        })
        .collect()
}

pub fn users_missing_attribute(
    conn: &Connection,
    _org: OrgId,
    key: &AttributeKey,
    examples: u32,
) -> StoreResult<(u64, Vec<PhoneNumber>)> {
    let filter = if Columns::read(conn)?.has(key) {
        format!("status = 'active' AND {} IS NULL", column(key))
    } else {
        "status = 'active'".to_owned()
    };
    let count: u64 = conn
        .query_row(
            &format!("SELECT count(*) FROM users WHERE {filter}"),
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT phone FROM users WHERE {filter} ORDER BY phone LIMIT ?1"
        ))
        .map_err(db)?;
    let phones = stmt
        .query_map([examples], |r| r.get::<_, String>(0))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let phones = phones
        .into_iter()
        .map(|p| PhoneNumber::from_e164(&p).map_err(|_| corrupt("phone", &p)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((count, phones))
}

pub fn save_attribute_schema(
    tx: &Transaction<'_>,
    org: OrgId,
    defs: &[AttributeDef],
    removed: &[AttributeKey],
    rewrites: &[AttributeRewrite],
) -> StoreResult<()> {
    let columns = Columns::read(tx)?;
    for key in removed.iter().filter(|k| columns.has(k)) {
        // The column stays (dropping one rewrites the table) but holds nothing, and
        // its index goes, so writes stop paying for it.
        let col = column(key);
        tx.execute_batch(&format!(
            "UPDATE users SET {col} = NULL WHERE {col} IS NOT NULL;
             DROP INDEX IF EXISTS users_by_attr_{};",
            key.as_str()
        ))
        .map_err(db)?;
    }
    for (key, values) in rewrites {
        let ty = defs
            .iter()
            .find(|d| d.key == *key)
            .map(|d| d.ty)
            .or_else(|| {
                values
                    .iter()
                    .find_map(|(_, v)| v.as_ref().map(AttributeValue::ty))
            })
            .unwrap_or(AttributeType::String);
        ensure_column(tx, key, ty, false)?;
        let mut update = tx
            .prepare(&format!(
                "UPDATE users SET {} = ?2 WHERE phone = ?1",
                column(key)
            ))
            .map_err(db)?;
        for (phone, value) in values {
            update
                .execute(params![
                    phone.as_str(),
                    value.as_ref().map_or(Value::Null, sql_value)
                ])
                .map_err(db)?;
        }
    }
    put_attribute_defs(tx, org, defs)
}

pub fn group_members(
    conn: &Connection,
    org: OrgId,
    group: GroupId,
) -> StoreResult<Vec<(User, GroupRole)>> {
    let columns = Columns::read(conn)?;
    let fixed: String = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let role_at = 8 + columns.0.len();
    let sql = format!(
        "SELECT {fixed}{}, m.role FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.group_id = ?1 ORDER BY u.phone",
        columns.list("u.")
    );
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params![group.to_string()], |r| {
            Ok((read_user(r, &columns)?, r.get::<_, String>(role_at)?))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(|(row, role)| {
            let role = GroupRole::parse(&role).ok_or_else(|| corrupt("role", &role))?;
            Ok((row.into_user(org, &columns)?, role))
        })
        .collect()
}
