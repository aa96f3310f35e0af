//! Messages, actions, connectors and group reports.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{self, Connection, OptionalExtension, Row, params};
use steward_domain::content::{Action, ActionKind, Attachment, Connector, Message};
use steward_domain::{AttachmentId, GroupId, MessageId, OrgId, UserId};
use steward_store::{GroupReport, StoreResult};

use crate::convert::{corrupt, db, parse_id, parse_ts, ts};

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

pub fn list_messages(
    conn: &Connection,
    org: OrgId,
    group: GroupId,
    before: Option<MessageId>,
    limit: u32,
) -> StoreResult<Vec<Message>> {
    collect(
        conn,
        "SELECT id, org_id, group_id, sender_id, body, created_at FROM messages
         WHERE org_id = ?1 AND group_id = ?2 AND (?3 IS NULL OR id < ?3)
         ORDER BY id DESC LIMIT ?4",
        params![
            org.to_string(),
            group.to_string(),
            before.map(|b| b.to_string()),
            limit.clamp(1, 500)
        ],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
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
    "SELECT id, org_id, kind, title, questions, created_by, created_at FROM actions";

fn read_action(r: &Row<'_>) -> rusqlite::Result<ActionRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

pub fn list_actions(conn: &Connection, org: OrgId, by: Option<UserId>) -> StoreResult<Vec<Action>> {
    collect(
        conn,
        &format!(
            "{ACTION_SQL} WHERE org_id = ?1 AND (?2 IS NULL OR created_by = ?2) ORDER BY id DESC"
        ),
        params![org.to_string(), by.map(|u| u.to_string())],
        read_action,
        action,
    )
}

pub fn get_action(conn: &Connection, org: OrgId, id: &str) -> StoreResult<Option<Action>> {
    let row = conn
        .query_row(
            &format!("{ACTION_SQL} WHERE org_id = ?1 AND id = ?2"),
            params![org.to_string(), id],
            read_action,
        )
        .optional()
        .map_err(db)?;
    row.map(action).transpose()
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

fn read_connector(r: &Row<'_>) -> rusqlite::Result<ConnectorRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

pub fn list_connectors(
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
        read_connector,
        connector,
    )
}

pub fn get_connector(conn: &Connection, org: OrgId, id: &str) -> StoreResult<Option<Connector>> {
    let row = conn
        .query_row(
            &format!("{CONNECTOR_SQL} WHERE org_id = ?1 AND id = ?2"),
            params![org.to_string(), id],
            read_connector,
        )
        .optional()
        .map_err(db)?;
    row.map(connector).transpose()
}

/// The groups an item is published to; `table` and `column` come from our own code.
pub fn published_groups(
    conn: &Connection,
    table: &str,
    column: &str,
    org: OrgId,
    id: &str,
) -> StoreResult<Vec<GroupId>> {
    collect(
        conn,
        &format!(
            "SELECT group_id FROM {table} WHERE org_id = ?1 AND {column} = ?2 ORDER BY group_id"
        ),
        params![org.to_string(), id],
        |r| r.get::<_, String>(0),
        |g| parse_id(&g),
    )
}

pub fn group_report(
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
                    EXISTS (SELECT 1 FROM messages x WHERE x.org_id = ?1 AND x.group_id = ?2
                            AND x.sender_id = m.user_id AND x.created_at >= ?3)
                 OR EXISTS (SELECT 1 FROM action_responses x WHERE x.org_id = ?1 AND x.group_id = ?2
                            AND x.user_id = m.user_id AND x.created_at >= ?3))";
    Ok(GroupReport {
        members: count(
            "SELECT count(*) FROM memberships WHERE org_id = ?1 AND group_id = ?2 AND ?3 IS NULL",
            None,
        )?,
        active_members_7d: count(active, Some(ts(since_7d)))?,
        active_members_30d: count(active, Some(ts(since_30d)))?,
        messages: count(
            "SELECT count(*) FROM messages WHERE org_id = ?1 AND group_id = ?2 AND ?3 IS NULL",
            None,
        )?,
        actions: count(
            "SELECT count(*) FROM action_publications WHERE org_id = ?1 AND group_id = ?2 AND ?3 IS NULL",
            None,
        )?,
        responses: count(
            "SELECT count(*) FROM action_responses WHERE org_id = ?1 AND group_id = ?2 AND ?3 IS NULL",
            None,
        )?,
    })
}

pub fn get_message(conn: &Connection, org: OrgId, id: MessageId) -> StoreResult<Option<Message>> {
    let row: Option<MessageRow> = conn
        .query_row(
            "SELECT id, org_id, group_id, sender_id, body, created_at FROM messages WHERE org_id = ?1 AND id = ?2",
            params![org.to_string(), id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()
        .map_err(db)?;
    row.map(message).transpose()
}

pub fn get_attachment(
    conn: &Connection,
    org: OrgId,
    id: AttachmentId,
) -> StoreResult<Option<Attachment>> {
    type Raw = (String, String, String, String, String, u64, String, String);
    let row: Option<Raw> = conn
        .query_row(
            "SELECT id, org_id, message_id, file_name, content_type, size, blob_key, created_at
             FROM attachments WHERE org_id = ?1 AND id = ?2",
            params![org.to_string(), id.to_string()],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
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
