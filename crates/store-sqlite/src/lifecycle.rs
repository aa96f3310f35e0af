//! Deleted users, restores, purge steps, legal holds and deletion receipts.
//!
//! A deletion writes the org file only: the user's status, a `deleted_users` row with
//! the memberships of org-mapped groups they left, and one `hidden_content` row per
//! org-mapped group; every content read goes through the `visible_*` views, which
//! leave out what those rows hide. The shared `purge_schedule` says when each purge is
//! due, so the scheduler never opens every org's file.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, Transaction, params};
use steward_domain::lifecycle::{
    DeletedUser, DeletionReceipt, HoldScope, LegalHold, PurgeWindow, RememberedMembership,
};
use steward_domain::{
    AttachmentId, Counts, GroupRole, HoldId, OrgId, PhoneNumber, User, UserId, UserStatus,
};
use steward_store::{
    Conflict, LifecycleStore, PurgeAttachment, PurgeKind, PurgedUser, StoreError, StoreResult,
};

use crate::SqliteStore;
use crate::convert::{corrupt, db, json_text, parse_id, parse_ts, ts};
use crate::users::{clear_user_record, get_user, get_user_by_id};

/// The name a purged user's stub row keeps.
const STUB_NAME: &str = "Deleted user";

impl LifecycleStore for SqliteStore {
    fn delete_user(
        &self,
        org: OrgId,
        phone: &PhoneNumber,
        deleted_by: &str,
        now: DateTime<Utc>,
        purge_after: DateTime<Utc>,
    ) -> StoreResult<Option<DeletedUser>> {
        let Some(user) = self.get_user_active(org, phone)? else {
            return Ok(None);
        };
        // The schedule first: a crash before the org's commit leaves an entry the
        // purge finds stale, never a deletion without a purge.
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO purge_schedule (org_id, user_id, purge_after)
                 VALUES (?1, ?2, ?3)",
                params![org.to_string(), user.id.to_string(), ts(purge_after)],
            )
            .map_err(db)?;
            Ok(())
        })?;
        self.write_org(org, |tx| {
            let Some(user) = get_user(tx, org, phone)?.filter(|u| u.status == UserStatus::Active)
            else {
                return Ok(None);
            };
            let id = user.id.to_string();
            let (memberships, rowids): (Vec<_>, Vec<i64>) =
                org_memberships(tx, &id)?.into_iter().unzip();
            tx.execute(
                "DELETE FROM memberships WHERE user_id = ?1
                   AND group_id IN (SELECT id FROM groups WHERE org_mapped = 1)",
                [&id],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT OR IGNORE INTO hidden_content (user_id, group_id)
                 SELECT ?1, id FROM groups WHERE org_mapped = 1",
                [&id],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE users SET status = 'deleted', deleted_at = ?2 WHERE id = ?1",
                params![id, ts(now)],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO deleted_users (user_id, org_id, deleted_by, deleted_at, purge_after,
                                            memberships, membership_rowids, purging)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
                params![
                    id,
                    org.to_string(),
                    deleted_by,
                    ts(now),
                    ts(purge_after),
                    json_text(&memberships)?,
                    json_text(&rowids)?
                ],
            )
            .map_err(db)?;
            deleted_user_by_id(tx, org, user.id)
        })
    }

    fn restore_user(
        &self,
        org: OrgId,
        phone: &PhoneNumber,
        _now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let restored = self.write_org_or(org, None, |tx| {
            let Some(user) = get_user(tx, org, phone)? else {
                return Ok(None);
            };
            let Some(deleted) = deleted_user_by_id(tx, org, user.id)? else {
                return Ok(None);
            };
            if deleted.purging {
                return Err(StoreError::Conflict(Conflict::Rule(
                    "the purge of this user has begun; they can no longer be restored".into(),
                )));
            }
            let id = user.id.to_string();
            let rowids_text: String = tx
                .query_row(
                    "SELECT membership_rowids FROM deleted_users WHERE user_id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let rowids: Vec<i64> = serde_json::from_str(&rowids_text)
                .map_err(|_| corrupt("membership rowids", &rowids_text))?;
            // Back in the place each had (so the table reads in the same order as
            // before), or, where another row took that place meanwhile, anywhere.
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO memberships (rowid, org_id, group_id, user_id, role, joined_at)
                     SELECT ?6, ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM groups WHERE id = ?2)",
                )
                .map_err(db)?;
            for (i, m) in deleted.memberships.iter().enumerate() {
                let args = params![
                    org.to_string(),
                    m.group_id.to_string(),
                    id,
                    m.role.as_str(),
                    ts(m.joined_at),
                    rowids.get(i).copied()
                ];
                if stmt.execute(args).map_err(db)? == 0 {
                    stmt.execute(params![
                        org.to_string(),
                        m.group_id.to_string(),
                        id,
                        m.role.as_str(),
                        ts(m.joined_at),
                        None::<i64>
                    ])
                    .map_err(db)?;
                }
            }
            tx.execute("DELETE FROM hidden_content WHERE user_id = ?1", [&id])
                .map_err(db)?;
            tx.execute("DELETE FROM deleted_users WHERE user_id = ?1", [&id])
                .map_err(db)?;
            tx.execute(
                "UPDATE users SET status = 'active', deleted_at = NULL WHERE id = ?1",
                [&id],
            )
            .map_err(db)?;
            get_user_by_id(tx, org, user.id)
        })?;
        if let Some(user) = &restored {
            self.forget_purge(org, user.id, None)?;
        }
        Ok(restored)
    }

    fn deleted_users(&self, org: OrgId) -> StoreResult<Vec<DeletedUser>> {
        self.read_org(org, Vec::new, |conn| {
            let ids: Vec<String> = conn
                .prepare_cached("SELECT user_id FROM deleted_users ORDER BY deleted_at, user_id")
                .map_err(db)?
                .query_map([], |r| r.get(0))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?;
            let mut users = Vec::with_capacity(ids.len());
            for id in ids {
                users.extend(deleted_user_by_id(conn, org, parse_id(&id)?)?);
            }
            Ok(users)
        })
    }

    fn deleted_user(&self, org: OrgId, phone: &PhoneNumber) -> StoreResult<Option<DeletedUser>> {
        self.read_org(
            org,
            || None,
            |conn| match get_user(conn, org, phone)? {
                Some(user) => deleted_user_by_id(conn, org, user.id),
                None => Ok(None),
            },
        )
    }

    fn purge_counts(&self, org: OrgId, user: UserId) -> StoreResult<Counts> {
        self.read_org(org, Counts::default, |conn| {
            let mut counts = Counts::default();
            for kind in PurgeKind::ALL {
                let n: u64 = conn
                    .prepare_cached(&format!("SELECT count(*) FROM ({})", purge_select(kind)))
                    .map_err(db)?
                    .query_row([user.to_string()], |r| r.get(0))
                    .map_err(db)?;
                counts.add(kind.as_str(), n);
            }
            Ok(counts)
        })
    }

    fn purge_attachments(
        &self,
        org: OrgId,
        user: UserId,
        from: i64,
        limit: u32,
    ) -> StoreResult<Vec<PurgeAttachment>> {
        self.read_org(org, Vec::new, |conn| {
            // The user's messages in rowid order (as the messages' purge walks them),
            // from `from` on: each batch starts where the last one ended.
            let rows: Vec<(String, String, i64)> = conn
                .prepare_cached(
                    "SELECT a.id, a.blob_key, m.rowid FROM messages m INDEXED BY messages_by_sender
                     JOIN attachments a ON a.message_id = m.id
                     WHERE m.org_id = (SELECT org_id FROM messages WHERE sender_id = ?1 LIMIT 1)
                       AND m.sender_id = ?1 AND m.rowid >= ?2
                       AND EXISTS (SELECT 1 FROM hidden_content h
                                   WHERE h.user_id = m.sender_id AND h.group_id = m.group_id)
                     ORDER BY m.rowid LIMIT ?3",
                )
                .map_err(db)?
                .query_map(params![user.to_string(), from, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?;
            rows.into_iter()
                .map(|(id, blob_key, position)| {
                    Ok(PurgeAttachment {
                        id: parse_id(&id)?,
                        blob_key,
                        position,
                    })
                })
                .collect()
        })
    }

    fn purge_window(&self, org: OrgId) -> StoreResult<PurgeWindow> {
        self.read_org(org, PurgeWindow::default, |conn| {
            let days: u32 = conn
                .query_row(
                    "SELECT purge_window_days FROM lifecycle_settings WHERE id = 1",
                    [],
                    |r| r.get(0),
                )
                .map_err(db)?;
            PurgeWindow::days(days).map_err(|_| corrupt("purge window", &days.to_string()))
        })
    }

    fn set_purge_window(&self, org: OrgId, window: PurgeWindow) -> StoreResult<()> {
        self.write_org(org, |tx| {
            tx.execute(
                "UPDATE lifecycle_settings SET purge_window_days = ?1 WHERE id = 1",
                [window.as_days()],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn receipt_salt(&self, org: OrgId) -> StoreResult<String> {
        self.read_org(org, String::new, |conn| {
            conn.query_row(
                "SELECT receipt_salt FROM lifecycle_settings WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .map_err(db)
        })
    }

    fn due_purges(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(OrgId, UserId)>> {
        let conn = self.conn()?;
        let rows: Vec<(String, String)> = conn
            .prepare_cached(
                "SELECT org_id, user_id FROM purge_schedule
                 WHERE purge_after <= ?1 AND org_id IN (SELECT id FROM orgs)
                 ORDER BY purge_after, org_id, user_id LIMIT ?2",
            )
            .map_err(db)?
            .query_map(params![ts(now), limit], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(org, user)| Ok((parse_id(&org)?, parse_id(&user)?)))
            .collect()
    }

    fn forget_purge(
        &self,
        org: OrgId,
        user: UserId,
        removed: Option<&PhoneNumber>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM purge_schedule WHERE org_id = ?1 AND user_id = ?2",
                params![org.to_string(), user.to_string()],
            )
            .map_err(db)?;
            if let Some(phone) = removed {
                tx.execute(
                    "DELETE FROM phone_orgs WHERE phone = ?1 AND org_id = ?2",
                    params![phone.as_str(), org.to_string()],
                )
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn checkpoint_org_file(&self, org: OrgId) -> StoreResult<()> {
        self.read_org(
            org,
            || (),
            |conn| {
                // TRUNCATE waits (on the busy timeout) for readers of older frames,
                // copies every frame into the file and empties the log; it keeps
                // writers out meanwhile, so it takes its turn like one.
                let _turn = crate::gate::turn(conn);
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .map_err(db)
            },
        )
    }

    fn add_hold(&self, hold: &LegalHold) -> StoreResult<()> {
        let (user, phone) = match &hold.scope {
            HoldScope::Org => (None, None),
            HoldScope::User(id, phone) => (Some(id.to_string()), Some(phone.as_str().to_owned())),
        };
        self.write_org(hold.org_id, |tx| {
            tx.execute(
                "INSERT INTO legal_holds (id, org_id, user_id, phone, reason, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    hold.id.to_string(),
                    hold.org_id.to_string(),
                    user,
                    phone,
                    hold.reason,
                    hold.created_by,
                    ts(hold.created_at)
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn holds(&self, org: OrgId) -> StoreResult<Vec<LegalHold>> {
        self.read_org(org, Vec::new, |conn| holds(conn, org, None))
    }

    fn remove_hold(&self, org: OrgId, id: HoldId) -> StoreResult<Option<LegalHold>> {
        self.write_org_or(org, None, |tx| {
            let Some(hold) = holds(tx, org, Some(id))?.pop() else {
                return Ok(None);
            };
            tx.execute("DELETE FROM legal_holds WHERE id = ?1", [id.to_string()])
                .map_err(db)?;
            Ok(Some(hold))
        })
    }

    fn is_held(&self, org: OrgId, user: UserId) -> StoreResult<bool> {
        self.read_org(org, || false, |conn| is_held(conn, user))
    }

    fn receipts(&self, org: OrgId) -> StoreResult<Vec<DeletionReceipt>> {
        self.read_org(org, Vec::new, |conn| {
            type Raw = (String, String, String, String, String, String, String);
            let rows: Vec<Raw> = conn
                .prepare_cached(
                    "SELECT id, phone_hash, deleted_by, deleted_at, purged_by, purged_at, counts
                     FROM deletion_receipts ORDER BY purged_at DESC, id DESC",
                )
                .map_err(db)?
                .query_map([], |r| TryFrom::try_from(r))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?;
            rows.into_iter()
                .map(
                    |(id, phone_hash, deleted_by, deleted_at, purged_by, purged_at, counts)| {
                        Ok(DeletionReceipt {
                            id: parse_id(&id)?,
                            org_id: org,
                            phone_hash,
                            deleted_by,
                            deleted_at: parse_ts(&deleted_at)?,
                            purged_by,
                            purged_at: parse_ts(&purged_at)?,
                            counts: serde_json::from_str(&counts)
                                .map_err(|_| corrupt("receipt counts", &counts))?,
                        })
                    },
                )
                .collect()
        })
    }
}

impl SqliteStore {
    fn get_user_active(&self, org: OrgId, phone: &PhoneNumber) -> StoreResult<Option<User>> {
        self.read_org(
            org,
            || None,
            |conn| Ok(get_user(conn, org, phone)?.filter(|u| u.status == UserStatus::Active)),
        )
    }
}

/// The user's memberships of org-mapped groups, with their rowids.
fn org_memberships(conn: &Connection, user: &str) -> StoreResult<Vec<(RememberedMembership, i64)>> {
    let rows: Vec<(String, String, String, i64)> = conn
        .prepare_cached(
            "SELECT m.group_id, m.role, m.joined_at, m.rowid FROM memberships m
             JOIN groups g ON g.id = m.group_id
             WHERE m.user_id = ?1 AND g.org_mapped = 1 ORDER BY m.group_id",
        )
        .map_err(db)?
        .query_map([user], |r| TryFrom::try_from(r))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(|(group, role, joined, rowid)| {
            Ok((
                RememberedMembership {
                    group_id: parse_id(&group)?,
                    role: GroupRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
                    joined_at: parse_ts(&joined)?,
                },
                rowid,
            ))
        })
        .collect()
}

fn deleted_user_by_id(
    conn: &Connection,
    org: OrgId,
    id: UserId,
) -> StoreResult<Option<DeletedUser>> {
    let row: Option<(String, String, String, String, bool)> = conn
        .prepare_cached(
            "SELECT deleted_by, deleted_at, purge_after, memberships, purging
             FROM deleted_users WHERE user_id = ?1",
        )
        .map_err(db)?
        .query_row([id.to_string()], |r| TryFrom::try_from(r))
        .optional()
        .map_err(db)?;
    let Some((deleted_by, deleted_at, purge_after, memberships, purging)) = row else {
        return Ok(None);
    };
    let user =
        get_user_by_id(conn, org, id)?.ok_or_else(|| corrupt("deleted user", &id.to_string()))?;
    Ok(Some(DeletedUser {
        user,
        deleted_by,
        deleted_at: parse_ts(&deleted_at)?,
        purge_after: parse_ts(&purge_after)?,
        memberships: serde_json::from_str(&memberships)
            .map_err(|_| corrupt("remembered memberships", &memberships))?,
        purging,
    }))
}

fn holds(conn: &Connection, org: OrgId, only: Option<HoldId>) -> StoreResult<Vec<LegalHold>> {
    type Raw = (
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    );
    let rows: Vec<Raw> = conn
        .prepare_cached(
            "SELECT id, user_id, phone, reason, created_by, created_at FROM legal_holds
             WHERE ?1 IS NULL OR id = ?1 ORDER BY created_at, id",
        )
        .map_err(db)?
        .query_map([only.map(|id| id.to_string())], |r| TryFrom::try_from(r))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(|(id, user, phone, reason, created_by, created_at)| {
            let scope = match (user, phone) {
                (Some(user), Some(phone)) => HoldScope::User(
                    parse_id(&user)?,
                    PhoneNumber::from_e164(&phone).map_err(|_| corrupt("phone", &phone))?,
                ),
                _ => HoldScope::Org,
            };
            Ok(LegalHold {
                id: parse_id(&id)?,
                org_id: org,
                scope,
                reason,
                created_by,
                created_at: parse_ts(&created_at)?,
            })
        })
        .collect()
}

fn is_held(conn: &Connection, user: UserId) -> StoreResult<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM legal_holds WHERE user_id IS NULL OR user_id = ?1)",
    )
    .map_err(db)?
    .query_row([user.to_string()], |r| r.get(0))
    .map_err(db)
}

/// The rowids (`row_id`) of the rows of `kind` that the purge of user `?1` removes,
/// each once. The two halves of the responses are disjoint and joined by `UNION ALL`,
/// which streams, so a step's `LIMIT` stops early, where `UNION` would first collect
/// and sort every row of the user at each step.
fn purge_select(kind: PurgeKind) -> &'static str {
    match kind {
        PurgeKind::Attachments => {
            "SELECT a.rowid AS row_id FROM attachments a
             WHERE a.message_id IN (SELECT m.id FROM messages m
                 JOIN hidden_content h ON h.user_id = m.sender_id AND h.group_id = m.group_id
                 WHERE m.sender_id = ?1)"
        }
        // Messages and responses go in rowid (time) order, through an index on the
        // person alone (for messages, (org_id, sender_id), the org's id taken from
        // the person's own messages): a step then removes neighbouring rows and
        // rewrites a fifth of the pages it did in (sender_id, group_id) order, where
        // one group's rows lie far apart.
        PurgeKind::Messages => {
            "SELECT m.rowid AS row_id FROM messages m INDEXED BY messages_by_sender
             WHERE m.org_id = (SELECT org_id FROM messages WHERE sender_id = ?1 LIMIT 1)
               AND m.sender_id = ?1
               AND EXISTS (SELECT 1 FROM hidden_content h
                           WHERE h.user_id = m.sender_id AND h.group_id = m.group_id)"
        }
        PurgeKind::ActionResponses => {
            "SELECT r.rowid AS row_id FROM action_responses r INDEXED BY action_responses_by_user_id
             WHERE r.user_id = ?1
               AND EXISTS (SELECT 1 FROM hidden_content h
                           WHERE h.user_id = r.user_id AND h.group_id = r.group_id)
             UNION ALL
             SELECT r.rowid FROM action_responses r
             WHERE r.action_id IN (SELECT id FROM actions WHERE created_by = ?1)
               AND NOT (r.user_id = ?1
                        AND EXISTS (SELECT 1 FROM hidden_content h
                                    WHERE h.user_id = r.user_id AND h.group_id = r.group_id))"
        }
        PurgeKind::ActionPublications => {
            "SELECT p.rowid AS row_id FROM action_publications p
             WHERE p.action_id IN (SELECT id FROM actions WHERE created_by = ?1)"
        }
        PurgeKind::Actions => "SELECT rowid AS row_id FROM actions WHERE created_by = ?1",
        PurgeKind::Telemetry => "SELECT rowid AS row_id FROM telemetry_events WHERE user_id = ?1",
    }
}

fn table_of(kind: PurgeKind) -> &'static str {
    match kind {
        PurgeKind::Attachments => "attachments",
        PurgeKind::Messages => "messages",
        PurgeKind::ActionResponses => "action_responses",
        PurgeKind::ActionPublications => "action_publications",
        PurgeKind::Actions => "actions",
        PurgeKind::Telemetry => "telemetry_events",
    }
}

/// Refuses a purge step unless the user is deleted and no hold covers them; marks the
/// purge as begun.
fn check_purgeable(tx: &Transaction<'_>, user: UserId) -> StoreResult<()> {
    let deleted: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM deleted_users WHERE user_id = ?1)")
        .map_err(db)?
        .query_row([user.to_string()], |r| r.get(0))
        .map_err(db)?;
    if !deleted {
        return Err(StoreError::Conflict(Conflict::Rule(
            "the user is not deleted".into(),
        )));
    }
    if is_held(tx, user)? {
        return Err(StoreError::Conflict(Conflict::Rule(
            "a legal hold covers the user".into(),
        )));
    }
    tx.prepare_cached("UPDATE deleted_users SET purging = 1 WHERE user_id = ?1 AND purging = 0")
        .map_err(db)?
        .execute([user.to_string()])
        .map_err(db)?;
    Ok(())
}

/// One step of a purge (see `JobTx::purge_rows`).
pub fn purge_rows(
    tx: &Transaction<'_>,
    user: UserId,
    kind: PurgeKind,
    attachments: &[AttachmentId],
    limit: u32,
) -> StoreResult<u64> {
    check_purgeable(tx, user)?;
    let removed = if kind == PurgeKind::Attachments {
        // Exactly the attachments whose blobs the job removed, if they are still the
        // user's hidden ones.
        // (Checked per row: a `rowid IN (...)` list would list every attachment of
        // the user again for each one.)
        let mut stmt = tx
            .prepare_cached(
                "DELETE FROM attachments WHERE id = ?2
                   AND EXISTS (SELECT 1 FROM messages m
                       JOIN hidden_content h ON h.user_id = m.sender_id AND h.group_id = m.group_id
                       WHERE m.id = attachments.message_id AND m.sender_id = ?1)",
            )
            .map_err(db)?;
        let mut n = 0;
        for id in attachments {
            n += stmt
                .execute(params![user.to_string(), id.to_string()])
                .map_err(db)? as u64;
        }
        n
    } else {
        tx.prepare_cached(&format!(
            "DELETE FROM {} WHERE rowid IN (SELECT row_id FROM ({}) LIMIT ?2)",
            table_of(kind),
            purge_select(kind)
        ))
        .map_err(db)?
        .execute(params![user.to_string(), limit])
        .map_err(db)? as u64
    };
    if removed > 0 {
        let mut purged = purged_so_far(tx, user)?;
        purged.add(kind.as_str(), removed);
        if kind == PurgeKind::Attachments {
            purged.add(BLOBS, removed);
        }
        tx.prepare_cached("UPDATE deleted_users SET purged = ?2 WHERE user_id = ?1")
            .map_err(db)?
            .execute(params![user.to_string(), json_text(&purged)?])
            .map_err(db)?;
    }
    Ok(removed)
}

/// The receipt's count of attachment files removed (one per attachment row).
const BLOBS: &str = "blobs";

/// What the purge steps of a user removed so far, per kind.
fn purged_so_far(conn: &Connection, user: UserId) -> StoreResult<Counts> {
    let text: String = conn
        .prepare_cached("SELECT purged FROM deleted_users WHERE user_id = ?1")
        .map_err(db)?
        .query_row([user.to_string()], |r| r.get(0))
        .map_err(db)?;
    serde_json::from_str(&text).map_err(|_| corrupt("purged counts", &text))
}

/// The last step of a purge (see `JobTx::finish_purge`).
pub fn finish_purge(
    tx: &Transaction<'_>,
    user: UserId,
    receipt: &DeletionReceipt,
) -> StoreResult<PurgedUser> {
    check_purgeable(tx, user)?;
    let id = user.to_string();
    let mut counts = Counts::default();
    for kind in PurgeKind::ALL {
        counts.add(kind.as_str(), 0);
    }
    counts.add(BLOBS, 0);
    counts.add_all(&purged_so_far(tx, user)?);
    for kind in PurgeKind::ALL {
        let left: bool = tx
            .prepare_cached(&format!("SELECT EXISTS ({})", purge_select(kind)))
            .map_err(db)?
            .query_row([&id], |r| r.get(0))
            .map_err(db)?;
        if left {
            return Err(StoreError::Conflict(Conflict::Rule(format!(
                "the purge still has {} to remove",
                kind.as_str()
            ))));
        }
    }
    // Data the org does not control (non-org groups) or connectors the org keeps may
    // still name the user: then a stub row stays, with nothing of the org's record.
    let named_elsewhere: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM memberships WHERE user_id = ?1)
                 OR EXISTS (SELECT 1 FROM messages WHERE sender_id = ?1)
                 OR EXISTS (SELECT 1 FROM action_responses WHERE user_id = ?1)
                 OR EXISTS (SELECT 1 FROM connectors WHERE created_by = ?1)",
        )
        .map_err(db)?
        .query_row([&id], |r| r.get(0))
        .map_err(db)?;
    tx.execute("DELETE FROM hidden_content WHERE user_id = ?1", [&id])
        .map_err(db)?;
    tx.execute("DELETE FROM deleted_users WHERE user_id = ?1", [&id])
        .map_err(db)?;
    let outcome = if named_elsewhere {
        clear_user_record(tx, user, STUB_NAME, receipt.purged_at)?;
        PurgedUser::Stub
    } else {
        tx.execute("DELETE FROM users WHERE id = ?1", [&id])
            .map_err(db)?;
        PurgedUser::Removed
    };
    tx.execute(
        "INSERT INTO deletion_receipts
             (id, org_id, phone_hash, deleted_by, deleted_at, purged_by, purged_at, counts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            receipt.id.to_string(),
            receipt.org_id.to_string(),
            receipt.phone_hash,
            receipt.deleted_by,
            ts(receipt.deleted_at),
            receipt.purged_by,
            ts(receipt.purged_at),
            json_text(&counts)?
        ],
    )
    .map_err(db)?;
    Ok(outcome)
}
