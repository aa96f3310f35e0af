//! Messages, attachments, actions and connectors with their publications, responses,
//! telemetry, group reports and data counts.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{self, Connection, OptionalExtension, Row, params};
use steward_domain::content::{
    Action, ActionKind, ActionResponse, Attachment, Connector, Message, Publication, TelemetryEvent,
};
use steward_domain::{AttachmentId, GroupId, MessageId, OrgId, UserId};
use steward_store::{
    ContentStore, DataCounts, DataKind, GroupReport, Publishable, PublishableId, PublishableKind,
    StoreResult,
};

use crate::SqliteStore;
use crate::convert::{corrupt, db, json_text, parse_id, parse_ts, ts};
use crate::schema::{self, Home};

impl ContentStore for SqliteStore {
    fn insert_messages(&self, org: OrgId, messages: &[Message]) -> StoreResult<()> {
        self.write_org(org, |tx| {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO messages (id, org_id, group_id, sender_id, body, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for m in messages.iter().filter(|m| m.org_id == org) {
                stmt.execute(params![
                    m.id.to_string(),
                    org.to_string(),
                    m.group_id.to_string(),
                    m.sender_id.to_string(),
                    m.body,
                    ts(m.created_at)
                ])
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn get_message(&self, org: OrgId, id: MessageId) -> StoreResult<Option<Message>> {
        self.read_org(org, || None, |conn| get_message(conn, org, id))
    }

    fn insert_attachment(&self, a: &Attachment) -> StoreResult<()> {
        self.write_org_or(a.org_id, (), |tx| {
            tx.execute(
                "INSERT INTO attachments (id, org_id, message_id, file_name, content_type, size, blob_key, created_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
                 WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?3 AND org_id = ?2)",
                params![
                    a.id.to_string(),
                    a.org_id.to_string(),
                    a.message_id.to_string(),
                    a.file_name,
                    a.content_type,
                    a.size,
                    a.blob_key,
                    ts(a.created_at)
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn get_attachment(&self, org: OrgId, id: AttachmentId) -> StoreResult<Option<Attachment>> {
        self.read_org(org, || None, |conn| get_attachment(conn, org, id))
    }

    fn insert_action_responses(&self, org: OrgId, rows: &[ActionResponse]) -> StoreResult<()> {
        self.write_org(org, |tx| {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO action_responses
                        (id, org_id, action_id, group_id, user_id, answers, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db)?;
            for r in rows.iter().filter(|r| r.org_id == org) {
                stmt.execute(params![
                    r.id.to_string(),
                    org.to_string(),
                    r.action_id.to_string(),
                    r.group_id.to_string(),
                    r.user_id.to_string(),
                    json_text(&r.answers)?,
                    ts(r.created_at)
                ])
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn insert_telemetry(&self, org: OrgId, events: &[TelemetryEvent]) -> StoreResult<()> {
        self.write_org(org, |tx| {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO telemetry_events (id, org_id, user_id, kind, properties, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for e in events.iter().filter(|e| e.org_id == org) {
                stmt.execute(params![
                    e.id.to_string(),
                    org.to_string(),
                    e.user_id.map(|u| u.to_string()),
                    e.kind,
                    e.properties.to_string(),
                    ts(e.at)
                ])
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn group_report(
        &self,
        org: OrgId,
        group: GroupId,
        since_7d: DateTime<Utc>,
        since_30d: DateTime<Utc>,
    ) -> StoreResult<GroupReport> {
        self.read_org(org, GroupReport::default, |conn| {
            group_report(conn, org, group, since_7d, since_30d)
        })
    }

    fn data_counts(&self, org: OrgId) -> StoreResult<DataCounts> {
        let shared = self.conn()?;
        let tenant = match self.tenant(org)? {
            Some(pool) => Some(crate::conn_of(&pool)?),
            None => None,
        };
        // Every row of an org's file is the org's (its users table has no org_id).
        let count = |conn: &Connection, tables: &[&str], by_org: bool| -> StoreResult<u64> {
            let mut n = 0;
            for table in tables {
                // Table names come from our own constant list, never from input.
                let sql = if by_org {
                    format!("SELECT count(*) FROM {table} WHERE org_id = ?1")
                } else {
                    format!("SELECT count(*) FROM {table} WHERE ?1 IS NOT NULL")
                };
                n += conn
                    .query_row(&sql, [org.to_string()], |r| r.get::<_, u64>(0))
                    .map_err(db)?;
            }
            Ok(n)
        };
        let counts = DataKind::ALL
            .into_iter()
            .map(|kind| {
                let n = match (schema::tables_of(kind), &tenant) {
                    (Home::Shared(tables), _) => count(&shared, tables, true)?,
                    (Home::Org(tables), Some(conn)) => count(conn, tables, false)?,
                    // An unknown org has no file, so nothing in one.
                    (Home::Org(_), None) => 0,
                };
                Ok((kind, n))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(DataCounts(counts))
    }

    fn list_messages(
        &self,
        org: OrgId,
        group: GroupId,
        before: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.read_org(org, Vec::new, |conn| {
            list_messages(conn, org, group, before, limit)
        })
    }

    fn insert_publishables(&self, org: OrgId, items: &[Publishable]) -> StoreResult<()> {
        self.write_org(org, |tx| {
            for item in items.iter().filter(|i| i.org_id() == org) {
                match item {
                    Publishable::Action(a) => {
                        tx.prepare_cached(
                            "INSERT INTO actions (id, org_id, kind, title, questions, created_by, created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        )
                        .map_err(db)?
                        .execute(params![
                            a.id.to_string(),
                            org.to_string(),
                            a.kind.as_str(),
                            a.title,
                            json_text(&a.questions)?,
                            a.created_by.to_string(),
                            ts(a.created_at)
                        ])
                        .map_err(db)?;
                    }
                    Publishable::Connector(c) => {
                        tx.prepare_cached(
                            "INSERT INTO connectors (id, org_id, name, config, created_by, created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        )
                        .map_err(db)?
                        .execute(params![
                            c.id.to_string(),
                            org.to_string(),
                            c.name,
                            c.config.to_string(),
                            c.created_by.to_string(),
                            ts(c.created_at)
                        ])
                        .map_err(db)?;
                    }
                }
            }
            Ok(())
        })
    }

    fn publish(&self, org: OrgId, items: &[Publication<PublishableId>]) -> StoreResult<()> {
        self.write_org_or(org, (), |tx| {
            for p in items.iter().filter(|p| p.org_id == org) {
                let PublishTables {
                    items: item_table,
                    publications,
                    item_column,
                    ..
                } = tables(p.item_id.kind());
                // Names come from `tables`, never from input.
                let sql = format!(
                    "INSERT OR IGNORE INTO {publications}
                        (org_id, {item_column}, group_id, published_by, published_at)
                     SELECT ?1, ?2, ?3, ?4, ?5
                     WHERE EXISTS (SELECT 1 FROM {item_table} WHERE id = ?2 AND org_id = ?1)
                       AND EXISTS (SELECT 1 FROM groups WHERE id = ?3 AND org_id = ?1)"
                );
                tx.prepare_cached(&sql)
                    .map_err(db)?
                    .execute(params![
                        org.to_string(),
                        p.item_id.to_string(),
                        p.group_id.to_string(),
                        p.published_by,
                        ts(p.published_at)
                    ])
                    .map_err(db)?;
            }
            Ok(())
        })
    }

    fn list_publishables(
        &self,
        org: OrgId,
        kind: PublishableKind,
        created_by: Option<UserId>,
    ) -> StoreResult<Vec<Publishable>> {
        self.read_org(org, Vec::new, |conn| {
            Ok(match kind {
                PublishableKind::Action => list_actions(conn, org, created_by)?
                    .into_iter()
                    .map(Publishable::Action)
                    .collect(),
                PublishableKind::Connector => list_connectors(conn, org, created_by)?
                    .into_iter()
                    .map(Publishable::Connector)
                    .collect(),
            })
        })
    }

    fn get_publishable(&self, org: OrgId, id: PublishableId) -> StoreResult<Option<Publishable>> {
        self.read_org(
            org,
            || None,
            |conn| {
                Ok(match id {
                    PublishableId::Action(id) => {
                        get_action(conn, org, &id.to_string())?.map(Publishable::Action)
                    }
                    PublishableId::Connector(id) => {
                        get_connector(conn, org, &id.to_string())?.map(Publishable::Connector)
                    }
                })
            },
        )
    }

    fn published_groups(&self, org: OrgId, id: PublishableId) -> StoreResult<Vec<GroupId>> {
        let PublishTables {
            visible_publications: publications,
            item_column,
            ..
        } = tables(id.kind());
        self.read_org(org, Vec::new, |conn| {
            collect(
                conn,
                &format!(
                    "SELECT group_id FROM {publications} WHERE org_id = ?1 AND {item_column} = ?2
                     ORDER BY group_id"
                ),
                params![org.to_string(), id.to_string()],
                |r| r.get::<_, String>(0),
                |g| parse_id(&g),
            )
        })
    }

    fn unpublish(&self, org: OrgId, id: PublishableId, group: GroupId) -> StoreResult<bool> {
        let PublishTables {
            publications,
            item_column,
            ..
        } = tables(id.kind());
        self.write_org_or(org, false, |tx| {
            let n = tx
                .execute(
                    &format!(
                        "DELETE FROM {publications}
                         WHERE org_id = ?1 AND {item_column} = ?2 AND group_id = ?3"
                    ),
                    params![org.to_string(), id.to_string(), group.to_string()],
                )
                .map_err(db)?;
            Ok(n == 1)
        })
    }
}

/// Where one kind of publishable item is stored.
struct PublishTables {
    items: &'static str,
    publications: &'static str,
    /// The publications reads see (a deleted user's actions are hidden).
    visible_publications: &'static str,
    item_column: &'static str,
}

fn tables(kind: PublishableKind) -> PublishTables {
    match kind {
        PublishableKind::Action => PublishTables {
            items: "actions",
            publications: "action_publications",
            visible_publications: "visible_action_publications",
            item_column: "action_id",
        },
        PublishableKind::Connector => PublishTables {
            items: "connectors",
            publications: "connector_publications",
            visible_publications: "connector_publications",
            item_column: "connector_id",
        },
    }
}

fn collect<T, R>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnMut(&Row<'_>) -> rusqlite::Result<R>,
    convert: impl Fn(R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare(sql).map_err(db)?;
    let rows = stmt
        .query_map(params, read)
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter().map(convert).collect()
}

type MessageRow = (String, String, String, String, String, String);

fn message(row: MessageRow) -> StoreResult<Message> {
    let (id, org, group, sender, body, at) = row;
    Ok(Message {
        id: parse_id(&id)?,
        org_id: parse_id(&org)?,
        group_id: parse_id(&group)?,
        sender_id: parse_id(&sender)?,
        body,
        created_at: parse_ts(&at)?,
    })
}

fn list_messages(
    conn: &Connection,
    org: OrgId,
    group: GroupId,
    before: Option<MessageId>,
    limit: u32,
) -> StoreResult<Vec<Message>> {
    // Two statements rather than `(?3 IS NULL OR id < ?3)`, which the planner cannot
    // turn into a range: a later page starts in the index where the last one ended.
    let page = if before.is_some() {
        "id < ?3"
    } else {
        "?3 IS NULL"
    };
    collect(
        conn,
        &format!(
            "SELECT id, org_id, group_id, sender_id, body, created_at FROM visible_messages
             WHERE org_id = ?1 AND group_id = ?2 AND {page}
             ORDER BY id DESC LIMIT ?4"
        ),
        params![
            org.to_string(),
            group.to_string(),
            before.map(|b| b.to_string()),
            limit.clamp(1, 500)
        ],
        |r| TryFrom::try_from(r),
        message,
    )
}

type ActionRow = (String, String, String, String, String, String, String);

fn action(row: ActionRow) -> StoreResult<Action> {
    let (id, org, kind, title, questions, by, at) = row;
    Ok(Action {
        id: parse_id(&id)?,
        org_id: parse_id(&org)?,
        kind: ActionKind::parse(&kind).ok_or_else(|| corrupt("action kind", &kind))?,
        title,
        questions: serde_json::from_str(&questions)
            .map_err(|_| corrupt("questions", &questions))?,
        created_by: parse_id(&by)?,
        created_at: parse_ts(&at)?,
    })
}

const ACTION_SQL: &str =
    "SELECT id, org_id, kind, title, questions, created_by, created_at FROM visible_actions";

fn list_actions(conn: &Connection, org: OrgId, by: Option<UserId>) -> StoreResult<Vec<Action>> {
    collect(
        conn,
        &format!(
            "{ACTION_SQL} WHERE org_id = ?1 AND (?2 IS NULL OR created_by = ?2) ORDER BY id DESC"
        ),
        params![org.to_string(), by.map(|u| u.to_string())],
        |r| ActionRow::try_from(r),
        action,
    )
}

fn get_action(conn: &Connection, org: OrgId, id: &str) -> StoreResult<Option<Action>> {
    get_by_id::<ActionRow, _>(conn, ACTION_SQL, org, id, action)
}

/// The row of `select` (a `SELECT ... FROM table` with no `WHERE`) with this org and id.
fn get_by_id<R, T>(
    conn: &Connection,
    select: &str,
    org: OrgId,
    id: &str,
    convert: impl Fn(R) -> StoreResult<T>,
) -> StoreResult<Option<T>>
where
    R: for<'a> TryFrom<&'a Row<'a>, Error = rusqlite::Error>,
{
    let row = conn
        .query_row(
            &format!("{select} WHERE org_id = ?1 AND id = ?2"),
            params![org.to_string(), id],
            |r| R::try_from(r),
        )
        .optional()
        .map_err(db)?;
    row.map(convert).transpose()
}

type ConnectorRow = (String, String, String, String, String, String);

fn connector(row: ConnectorRow) -> StoreResult<Connector> {
    let (id, org, name, config, by, at) = row;
    Ok(Connector {
        id: parse_id(&id)?,
        org_id: parse_id(&org)?,
        name,
        config: serde_json::from_str(&config).map_err(|_| corrupt("config", &config))?,
        created_by: parse_id(&by)?,
        created_at: parse_ts(&at)?,
    })
}

const CONNECTOR_SQL: &str =
    "SELECT id, org_id, name, config, created_by, created_at FROM connectors";

fn list_connectors(
    conn: &Connection,
    org: OrgId,
    by: Option<UserId>,
) -> StoreResult<Vec<Connector>> {
    collect(
        conn,
        &format!(
            "{CONNECTOR_SQL} WHERE org_id = ?1 AND (?2 IS NULL OR created_by = ?2) ORDER BY id DESC"
        ),
        params![org.to_string(), by.map(|u| u.to_string())],
        |r| ConnectorRow::try_from(r),
        connector,
    )
}

fn get_connector(conn: &Connection, org: OrgId, id: &str) -> StoreResult<Option<Connector>> {
    get_by_id::<ConnectorRow, _>(conn, CONNECTOR_SQL, org, id, connector)
}

fn group_report(
    conn: &Connection,
    org: OrgId,
    group: GroupId,
    since_7d: DateTime<Utc>,
    since_30d: DateTime<Utc>,
) -> StoreResult<GroupReport> {
    let count = |sql: &str, extra: Option<String>| -> StoreResult<u64> {
        conn.query_row(
            sql,
            params![org.to_string(), group.to_string(), extra],
            |r| r.get(0),
        )
        .map_err(db)
    };
    let active = "SELECT count(DISTINCT m.user_id) FROM memberships m
                  WHERE m.org_id = ?1 AND m.group_id = ?2 AND (
                    EXISTS (SELECT 1 FROM visible_messages x WHERE x.org_id = ?1 AND x.group_id = ?2
                            AND x.sender_id = m.user_id AND x.created_at >= ?3)
                 OR EXISTS (SELECT 1 FROM visible_action_responses x WHERE x.org_id = ?1 AND x.group_id = ?2
                            AND x.user_id = m.user_id AND x.created_at >= ?3))";
    Ok(GroupReport {
        members: count(
            "SELECT count(*) FROM memberships WHERE org_id = ?1 AND group_id = ?2 AND ?3 IS NULL",
            None,
        )?,
        active_members_7d: count(active, Some(ts(since_7d)))?,
        active_members_30d: count(active, Some(ts(since_30d)))?,
        messages: count(
            "SELECT count(*) FROM visible_messages WHERE org_id = ?1 AND group_id = ?2 AND ?3 IS NULL",
            None,
        )?,
        actions: count(
            "SELECT count(*) FROM visible_action_publications WHERE org_id = ?1 AND group_id = ?2 AND ?3 IS NULL",
            None,
        )?,
        responses: count(
            "SELECT count(*) FROM visible_action_responses WHERE org_id = ?1 AND group_id = ?2 AND ?3 IS NULL",
            None,
        )?,
    })
}

fn get_message(conn: &Connection, org: OrgId, id: MessageId) -> StoreResult<Option<Message>> {
    let row: Option<MessageRow> = conn
        .query_row(
            "SELECT id, org_id, group_id, sender_id, body, created_at FROM visible_messages WHERE org_id = ?1 AND id = ?2",
            params![org.to_string(), id.to_string()],
            |r| TryFrom::try_from(r),
        )
        .optional()
        .map_err(db)?;
    row.map(message).transpose()
}

fn get_attachment(
    conn: &Connection,
    org: OrgId,
    id: AttachmentId,
) -> StoreResult<Option<Attachment>> {
    type Raw = (String, String, String, String, String, u64, String, String);
    let row: Option<Raw> = conn
        .query_row(
            "SELECT id, org_id, message_id, file_name, content_type, size, blob_key, created_at
             FROM visible_attachments WHERE org_id = ?1 AND id = ?2",
            params![org.to_string(), id.to_string()],
            |r| TryFrom::try_from(r),
        )
        .optional()
        .map_err(db)?;
    row.map(
        |(id, org, message, file_name, content_type, size, blob_key, at)| {
            Ok(Attachment {
                id: parse_id(&id)?,
                org_id: parse_id(&org)?,
                message_id: parse_id(&message)?,
                file_name,
                content_type,
                size,
                blob_key,
                created_at: parse_ts(&at)?,
            })
        },
    )
    .transpose()
}
