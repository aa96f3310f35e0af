//! The audit log.

use r2d2_sqlite::rusqlite::{Connection, params};
use steward_domain::OrgId;
use steward_domain::content::AuditEvent;
use steward_store::{AuditQuery, AuditStore, Page, StoreResult};

use crate::SqliteStore;
use crate::convert::{db, parse_id, parse_ts, ts};

impl AuditStore for SqliteStore {
    fn append_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        self.write_org(e.org_id, |tx| {
            tx.execute(
                "INSERT INTO audit_events
                    (id, org_id, actor, action, target, outcome, request_id, ip, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    e.id.to_string(),
                    e.org_id.to_string(),
                    e.actor,
                    e.action,
                    e.target,
                    e.outcome,
                    e.request_id,
                    e.ip,
                    ts(e.at)
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn list_audit(&self, org: OrgId, query: &AuditQuery) -> StoreResult<Page<AuditEvent>> {
        self.read_org(
            org,
            || Page {
                items: Vec::new(),
                next_cursor: None,
                total: 0,
            },
            |conn| list_audit(conn, org, query),
        )
    }
}

fn list_audit(conn: &Connection, org: OrgId, q: &AuditQuery) -> StoreResult<Page<AuditEvent>> {
    let limit = q.limit.clamp(1, 500);
    let filters = "org_id = ?1 AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3)
                   AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5)";
    let from = q.from.map(ts);
    let to = q.to.map(ts);
    let total: u64 = conn
        .query_row(
            &format!("SELECT count(*) FROM audit_events WHERE {filters}"),
            params![org.to_string(), q.actor, q.action, from, to],
            |r| r.get(0),
        )
        .map_err(db)?;
    // Audit ids are UUIDv7: id order is time order, so the cursor is the last id.
    let sql = format!(
        "SELECT id, org_id, actor, action, target, outcome, request_id, ip, at FROM audit_events
         WHERE {filters} AND (?6 IS NULL OR id < ?6) ORDER BY id DESC LIMIT ?7"
    );
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    type Raw = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Raw> = stmt
        .query_map(
            params![
                org.to_string(),
                q.actor,
                q.action,
                from,
                to,
                q.after,
                limit + 1
            ],
            |r| TryFrom::try_from(r),
        )
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut items = rows
        .into_iter()
        .map(
            |(id, org_id, actor, action, target, outcome, request_id, ip, at)| {
                Ok(AuditEvent {
                    id: parse_id(&id)?,
                    org_id: parse_id(&org_id)?,
                    actor,
                    action,
                    target,
                    outcome,
                    request_id,
                    ip,
                    at: parse_ts(&at)?,
                })
            },
        )
        .collect::<StoreResult<Vec<_>>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}
