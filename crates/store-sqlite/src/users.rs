//! Users and the attribute schema.

use std::collections::HashMap;

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
    AttributeRewrite, Page, StoreError, StoreResult, UserQuery, UserSort, UserStore,
};

use crate::SqliteStore;
use crate::convert::{corrupt, db, parse_id, parse_opt_ts, parse_ts, ts};

impl UserStore for SqliteStore {
    fn attribute_defs(&self, org: OrgId) -> StoreResult<Vec<AttributeDef>> {
        self.read_org(org, Vec::new, |conn| attribute_defs(conn, org))
    }

    fn put_attribute_defs(&self, org: OrgId, defs: &[AttributeDef]) -> StoreResult<()> {
        self.write_org(org, |tx| put_attribute_defs(tx, org, defs))
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
        })
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
                    "SELECT count(*) FROM users WHERE org_id = ?1 AND status = 'active'",
                    [org.to_string()],
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
        self.write_org(org, |tx| {
            let outcomes = upsert(tx, org, rows.iter(), now)?;
            self.remember_created(org, rows.iter(), &outcomes)?;
            Ok(outcomes)
        })
    }
}

impl SqliteStore {
    /// Records in the shared `phone_orgs` lookup that these phones are users of the
    /// org. Called inside the org's write transaction, before it commits: the lookup
    /// is then always a superset of the orgs that hold a phone (a rolled-back or
    /// crashed write leaves an extra entry, which `find_users_by_phone` skips), never
    /// a subset. Users are never removed (deletion is a status), so entries stay true.
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

pub fn attribute_defs(conn: &Connection, org: OrgId) -> StoreResult<Vec<AttributeDef>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT key, name, type, mandatory, suggested FROM attribute_defs
             WHERE org_id = ?1 ORDER BY position",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([org.to_string()], |r| {
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
    ensure_attribute_indexes(tx, defs)?;
    tx.execute(
        "DELETE FROM attribute_defs WHERE org_id = ?1",
        [org.to_string()],
    )
    .map_err(db)?;
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

/// Attributes as stored: a JSON object of key to JSON value, keys sorted (serde_json's
/// map is ordered), so equal attribute sets have equal text and "unchanged" is a
/// string comparison.
fn apply_changes(stored: Option<&str>, changes: &AttributeChanges) -> StoreResult<String> {
    let mut object: serde_json::Map<String, serde_json::Value> = match stored {
        Some(raw) => serde_json::from_str(raw).map_err(|_| corrupt("attributes", raw))?,
        None => serde_json::Map::new(),
    };
    for (key, value) in changes {
        match value {
            Some(value) => object.insert(key.as_str().to_owned(), value.to_json()),
            None => object.remove(key.as_str()),
        };
    }
    Ok(serde_json::Value::Object(object).to_string())
}

type Types = HashMap<String, AttributeType>;

fn attribute_types(conn: &Connection, org: OrgId) -> StoreResult<Types> {
    Ok(attribute_defs(conn, org)?
        .into_iter()
        .map(|d| (d.key.as_str().to_owned(), d.ty))
        .collect())
}

fn decode_attributes(raw: &str, types: &Types) -> StoreResult<Attributes> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(raw).map_err(|_| corrupt("attributes", raw))?;
    let mut attributes = Attributes::new();
    for (key, json) in object {
        // A value whose definition is gone keeps the type its JSON shows.
        let ty = types.get(&key).copied().unwrap_or(match json {
            serde_json::Value::Bool(_) => AttributeType::YesNo,
            serde_json::Value::Number(_) => AttributeType::Number,
            _ => AttributeType::String,
        });
        let value = AttributeValue::from_json(ty, &json)
            .ok()
            .flatten()
            .unwrap_or_else(|| AttributeValue::String(json.to_string()));
        let key = AttributeKey::parse(&key).map_err(|_| corrupt("attribute key", &key))?;
        attributes.insert(key, value);
    }
    Ok(attributes)
}

const USER_COLUMNS: &str =
    "id, org_id, phone, name, status, source, attributes, created_at, updated_at, deleted_at";

struct UserRow([String; 9], Option<String>);

fn read_user(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow(
        [
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        ],
        r.get(9)?,
    ))
}

impl UserRow {
    fn into_user(self, types: &Types) -> StoreResult<User> {
        let UserRow(
            [
                id,
                org_id,
                phone,
                name,
                status,
                source,
                attributes,
                created,
                updated,
            ],
            deleted,
        ) = self;
        Ok(User {
            id: parse_id(&id)?,
            org_id: parse_id(&org_id)?,
            phone: PhoneNumber::from_e164(&phone).map_err(|_| corrupt("phone", &phone))?,
            name: PersonName::parse(&name).map_err(|_| corrupt("name", &name))?,
            status: UserStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            source: UserSource::parse(&source).ok_or_else(|| corrupt("source", &source))?,
            attributes: decode_attributes(&attributes, types)?,
            created_at: parse_ts(&created)?,
            updated_at: parse_ts(&updated)?,
            deleted_at: parse_opt_ts(deleted)?,
        })
    }
}

pub fn get_user(conn: &Connection, org: OrgId, phone: &PhoneNumber) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = ?1 AND phone = ?2");
    let row = conn
        .query_row(&sql, params![org.to_string(), phone.as_str()], read_user)
        .optional()
        .map_err(db)?;
    let types = attribute_types(conn, org)?;
    row.map(|r| r.into_user(&types)).transpose()
}

/// The SQL expression of one attribute's value. Keys are validated to
/// `[a-z][a-z0-9_]*`, so inlining is safe, and it must be inlined: SQLite uses the
/// expression index of a key (see [`ensure_attribute_indexes`]) only when the query
/// spells the same expression.
fn attribute_expr(key: &AttributeKey) -> String {
    format!("json_extract(attributes, '$.{}')", key.as_str())
}

/// One index per attribute key, on (org, value, status, phone): a filtered page of
/// active users is a range scan in phone order, and its total is counted from the
/// index alone. The index lives in the org's own file, so creating it (DDL, inside
/// the request that saves a schema) and maintaining it on every write touch that org
/// alone.
pub fn ensure_attribute_indexes(tx: &Transaction<'_>, defs: &[AttributeDef]) -> StoreResult<()> {
    for def in defs {
        let key = def.key.as_str();
        tx.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS users_by_attr_{key} ON users (org_id, {}, status, phone)",
            attribute_expr(&def.key)
        ))
        .map_err(db)?;
    }
    Ok(())
}

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

pub fn list_users(conn: &Connection, org: OrgId, query: &UserQuery) -> StoreResult<Page<User>> {
    let limit = query.limit.clamp(1, 1000);
    let mut filters = String::from("org_id = ?1");
    let mut args: Vec<Value> = vec![Value::Text(org.to_string())];
    fn bind(args: &mut Vec<Value>, value: Value) -> String {
        args.push(value);
        format!("?{}", args.len())
    }
    if !query.include_deleted {
        filters.push_str(" AND status = 'active'");
    }
    if let Some(groups) = &query.in_groups {
        // Ids are UUIDs parsed into GroupId, never raw input, so inlining them is safe.
        let list: Vec<String> = groups.iter().map(|g| format!("'{g}'")).collect();
        filters.push_str(&format!(
            " AND id IN (SELECT user_id FROM memberships WHERE org_id = ?1 AND group_id IN ({}))",
            list.join(", ")
        ));
    }
    for (key, value) in &query.attribute_filters {
        let placeholder = bind(&mut args, sql_value(value));
        filters.push_str(&format!(" AND {} = {placeholder}", attribute_expr(key)));
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        let looks_like_phone = search
            .chars()
            .all(|c| c.is_ascii_digit() || "+ -().".contains(c));
        let escaped = search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let name = bind(&mut args, Value::Text(format!("{escaped}%")));
        let phone = if looks_like_phone && !digits.is_empty() {
            format!("+{digits}%")
        } else {
            String::new()
        };
        let phone = bind(&mut args, Value::Text(phone));
        filters.push_str(&format!(
            " AND (name LIKE {name} ESCAPE '\\' OR phone LIKE {phone})"
        ));
    }
    let total: u64 = conn
        .query_row(
            &format!("SELECT count(*) FROM users WHERE {filters}"),
            params_from_iter(&args),
            |r| r.get(0),
        )
        .map_err(db)?;

    // Keyset pagination: the cursor is the sort key of the last row.
    let (order, compare) = match query.sort {
        UserSort::Phone => ("phone", ">"),
        UserSort::PhoneDesc => ("phone DESC", "<"),
        UserSort::Name => ("name, phone", ">"),
        UserSort::NameDesc => ("name DESC, phone DESC", "<"),
    };
    if let Some(cursor) = &query.after {
        match query.sort {
            UserSort::Phone | UserSort::PhoneDesc => {
                let p = bind(&mut args, Value::Text(cursor.clone()));
                filters.push_str(&format!(" AND phone {compare} {p}"));
            }
            UserSort::Name | UserSort::NameDesc => {
                let (name, phone) = cursor.split_once('\t').unwrap_or((cursor.as_str(), ""));
                let n = bind(&mut args, Value::Text(name.to_owned()));
                let p = bind(&mut args, Value::Text(phone.to_owned()));
                filters.push_str(&format!(" AND (name, phone) {compare} ({n}, {p})"));
            }
        }
    }
    let l = bind(&mut args, Value::Integer(i64::from(limit) + 1));
    let sql =
        format!("SELECT {USER_COLUMNS} FROM users WHERE {filters} ORDER BY {order} LIMIT {l}");
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params_from_iter(&args), read_user)
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let types = attribute_types(conn, org)?;
    let mut items = rows
        .into_iter()
        .map(|r| r.into_user(&types))
        .collect::<StoreResult<Vec<_>>>()?;
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

/// Creates or updates users by phone. A row equal to the stored user (name,
/// attributes, active) is not rewritten. Updating a deleted user restores it.
pub fn upsert<'a>(
    tx: &Transaction<'_>,
    org: OrgId,
    rows: impl ExactSizeIterator<Item = &'a UserUpsert>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<UpsertOutcome>> {
    let org_text = org.to_string();
    let now_text = ts(now);
    let mut find = tx
        .prepare_cached(
            "SELECT id, name, status, attributes FROM users WHERE org_id = ?1 AND phone = ?2",
        )
        .map_err(db)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO users (id, org_id, phone, name, status, source, attributes,
                                created_at, updated_at, deleted_at)
             VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6, ?7, ?7, NULL)",
        )
        .map_err(db)?;
    let mut update = tx
        .prepare_cached(
            "UPDATE users SET name = ?2, attributes = ?3, status = 'active', deleted_at = NULL,
                              updated_at = ?4
             WHERE id = ?1",
        )
        .map_err(db)?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        let existing = find_stored(&mut find, &org_text, row)?;
        let (outcome, attributes) = compare(existing.as_ref(), row)?;
        let outcome = match (outcome, existing) {
            (UpsertOutcome::Created, _) => {
                insert
                    .execute(params![
                        UserId::new().to_string(),
                        org_text,
                        row.phone.as_str(),
                        row.name.as_str(),
                        row.source.as_str(),
                        attributes,
                        now_text
                    ])
                    .map_err(db)?;
                UpsertOutcome::Created
            }
            (UpsertOutcome::Updated, Some(stored)) => {
                update
                    .execute(params![stored.0, row.name.as_str(), attributes, now_text])
                    .map_err(db)?;
                UpsertOutcome::Updated
            }
            (outcome, _) => outcome,
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// A stored user as an upsert compares it: id, name, status and attributes text.
type Stored = (String, String, String, String);

fn find_stored(
    find: &mut rusqlite::CachedStatement<'_>,
    org_text: &str,
    row: &UserUpsert,
) -> StoreResult<Option<Stored>> {
    find.query_row(params![org_text, row.phone.as_str()], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .optional()
    .map_err(db)
}

/// What upserting `row` over `stored` does, and the attributes text it would store.
fn compare(stored: Option<&Stored>, row: &UserUpsert) -> StoreResult<(UpsertOutcome, String)> {
    let attributes = apply_changes(stored.map(|e| e.3.as_str()), &row.attributes)?;
    let outcome = match stored {
        None => UpsertOutcome::Created,
        Some((_, name, status, text))
            if name == row.name.as_str() && status == "active" && *text == attributes =>
        {
            UpsertOutcome::Unchanged
        }
        Some(_) => UpsertOutcome::Updated,
    };
    Ok((outcome, attributes))
}

/// What [`upsert`] would answer for each row, writing nothing (a dry run). The rows
/// hold distinct phones, so no row's outcome depends on another's write.
pub fn classify<'a>(
    conn: &Connection,
    org: OrgId,
    rows: impl Iterator<Item = &'a UserUpsert>,
) -> StoreResult<Vec<UpsertOutcome>> {
    let org_text = org.to_string();
    let mut find = conn
        .prepare_cached(
            "SELECT id, name, status, attributes FROM users WHERE org_id = ?1 AND phone = ?2",
        )
        .map_err(db)?;
    rows.map(|row| {
        let existing = find_stored(&mut find, &org_text, row)?;
        Ok(compare(existing.as_ref(), row)?.0)
    })
    .collect()
}

pub fn create_user(
    tx: &Transaction<'_>,
    org: OrgId,
    user: &UserUpsert,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let attributes = apply_changes(None, &user.attributes)?;
    tx.execute(
        "INSERT INTO users (id, org_id, phone, name, status, source, attributes,
                            created_at, updated_at, deleted_at)
         VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6, ?7, ?7, NULL)",
        params![
            UserId::new().to_string(),
            org.to_string(),
            user.phone.as_str(),
            user.name.as_str(),
            user.source.as_str(),
            attributes,
            ts(now)
        ],
    )
    .map_err(|e| match db(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "a user with the phone {} already exists",
            user.phone
        )),
        other => other,
    })?;
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
    let existing: Option<(String, String, String)> = tx
        .query_row(
            "SELECT id, name, attributes FROM users WHERE org_id = ?1 AND phone = ?2",
            params![org.to_string(), phone.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((id, stored_name, stored)) = existing else {
        return Ok(None);
    };
    let attributes = apply_changes(Some(&stored), changes)?;
    let name = name.map_or(stored_name.as_str(), PersonName::as_str);
    if name != stored_name || attributes != stored {
        tx.execute(
            "UPDATE users SET name = ?2, attributes = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, name, attributes, ts(now)],
        )
        .map_err(db)?;
    }
    get_user(tx, org, phone)
}

pub fn attribute_values(
    conn: &Connection,
    org: OrgId,
    key: &AttributeKey,
) -> StoreResult<Vec<(PhoneNumber, serde_json::Value)>> {
    let mut stmt = conn
        .prepare(
            "SELECT phone, json_extract(attributes, '$.' || ?2), json_type(attributes, '$.' || ?2)
             FROM users WHERE org_id = ?1 AND json_type(attributes, '$.' || ?2) IS NOT NULL",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![org.to_string(), key.as_str()], |r| {
            let phone: String = r.get(0)?;
            let kind: String = r.get(2)?;
            let value = match kind.as_str() {
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                "integer" => serde_json::Value::from(r.get::<_, i64>(1)?),
                "real" => serde_json::Value::from(r.get::<_, f64>(1)?),
                "text" => serde_json::Value::String(r.get(1)?),
                _ => serde_json::Value::Null,
            };
            Ok((phone, value))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
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
    org: OrgId,
    key: &AttributeKey,
    examples: u32,
) -> StoreResult<(u64, Vec<PhoneNumber>)> {
    let filter = "org_id = ?1 AND status = 'active' AND json_type(attributes, '$.' || ?2) IS NULL";
    let count: u64 = conn
        .query_row(
            &format!("SELECT count(*) FROM users WHERE {filter}"),
            params![org.to_string(), key.as_str()],
            |r| r.get(0),
        )
        .map_err(db)?;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT phone FROM users WHERE {filter} ORDER BY phone LIMIT ?3"
        ))
        .map_err(db)?;
    let phones = stmt
        .query_map(params![org.to_string(), key.as_str(), examples], |r| {
            r.get::<_, String>(0)
        })
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
    for key in removed {
        tx.execute(
            "UPDATE users SET attributes = json_remove(attributes, '$.' || ?2)
             WHERE org_id = ?1 AND json_type(attributes, '$.' || ?2) IS NOT NULL",
            params![org.to_string(), key.as_str()],
        )
        .map_err(db)?;
    }
    let mut select = tx
        .prepare_cached("SELECT attributes FROM users WHERE org_id = ?1 AND phone = ?2")
        .map_err(db)?;
    let mut update = tx
        .prepare_cached("UPDATE users SET attributes = ?3 WHERE org_id = ?1 AND phone = ?2")
        .map_err(db)?;
    for (key, values) in rewrites {
        for (phone, value) in values {
            let stored: Option<String> = select
                .query_row(params![org.to_string(), phone.as_str()], |r| r.get(0))
                .optional()
                .map_err(db)?;
            let Some(stored) = stored else { continue };
            let changes: AttributeChanges = [(key.clone(), value.clone())].into();
            update
                .execute(params![
                    org.to_string(),
                    phone.as_str(),
                    apply_changes(Some(&stored), &changes)?
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
    let columns: String = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, m.role FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = ?1 AND m.group_id = ?2 AND u.org_id = ?1 ORDER BY u.phone"
    );
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params![org.to_string(), group.to_string()], |r| {
            Ok((read_user(r)?, r.get::<_, String>(10)?))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let types = attribute_types(conn, org)?;
    rows.into_iter()
        .map(|(row, role)| {
            let role = GroupRole::parse(&role).ok_or_else(|| corrupt("role", &role))?;
            Ok((row.into_user(&types)?, role))
        })
        .collect()
}
