//! Deleting an org: the receipt and the deletion's log in the shared file, the start
//! that makes the org disappear at once, and the steps of the deletion job.
//!
//! No byte of what goes may stay behind: the shared file runs with
//! `PRAGMA secure_delete` (freed cells and pages are zeroed; see `open_dir`), the
//! org's own database goes as files, and the last step checkpoints the shared
//! file's write-ahead log and truncates it, so old page images of removed rows leave
//! the WAL too.

use r2d2_sqlite::rusqlite::{self, Connection, OptionalExtension, Row, Transaction, params};
use steward_domain::{Counts, Job, JobId, OrgId, PhoneNumber};
use steward_store::{
    DeletionEvent, OrgDeletion, OrgDeletionStore, OrgPhone, StoreError, StoreResult, ThrottleKeys,
    TokenHash,
};

use crate::SqliteStore;
use crate::convert::{corrupt, db, parse_id, parse_opt_ts, parse_ts, ts};
use crate::jobs::counts_text;
use crate::tenants::org_file;

impl OrgDeletionStore for SqliteStore {
    fn begin_org_deletion(
        &self,
        deletion: &OrgDeletion,
        job: &Job,
        event: &DeletionEvent,
        throttle_keys: ThrottleKeys<'_>,
    ) -> StoreResult<Counts> {
        let org = deletion.org_id;
        // Connectors stop at once: they post into groups from outside. (Had the
        // process stopped right here, the job removes the whole file anyway.)
        let connectors = self.write_org(org, |tx| {
            let key = org.to_string();
            tx.execute(
                "DELETE FROM connector_publications WHERE org_id = ?1",
                [&key],
            )
            .map_err(db)?;
            tx.execute("DELETE FROM connectors WHERE org_id = ?1", [&key])
                .map_err(db)
        })?;
        let mut ended = self.write(|tx| {
            let key = org.to_string();
            insert_deletion(tx, deletion)?;
            add_event(tx, org, event)?;
            crate::jobs::insert(tx, job)?;
            // Members whose phone no other org knows sign in for this org alone.
            let sessions = tx
                .execute(
                    "DELETE FROM sessions
                     WHERE account_id IN (SELECT id FROM accounts WHERE org_id = ?1)
                        OR phone IN (SELECT p.phone FROM phone_orgs p WHERE p.org_id = ?1
                                     AND NOT EXISTS (SELECT 1 FROM phone_orgs q
                                                     WHERE q.phone = p.phone
                                                       AND q.org_id <> ?1))",
                    [&key],
                )
                .map_err(db)?;
            let tokens = tx
                .execute("DELETE FROM api_tokens WHERE org_id = ?1", [&key])
                .map_err(db)?;
            let emails = {
                let mut stmt = tx
                    .prepare("DELETE FROM accounts WHERE org_id = ?1 RETURNING email")
                    .map_err(db)?;
                stmt.query_map([&key], |r| r.get::<_, String>(0))
                    .map_err(db)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(db)?
            };
            for email in &emails {
                delete_throttles(tx, &throttle_keys(email))?;
            }
            let accounts = emails.len();
            if tx
                .execute("DELETE FROM orgs WHERE id = ?1", [&key])
                .map_err(db)?
                == 0
            {
                return Err(StoreError::NotFound);
            }
            let mut ended = Counts::default();
            ended.add("sessions", sessions as u64);
            ended.add("api_tokens", tokens as u64);
            ended.add("accounts", accounts as u64);
            Ok(ended)
        })?;
        ended.add("connectors", connectors as u64);
        self.tenants.evict(org)?;
        Ok(ended)
    }

    fn org_deletion(&self, org: OrgId) -> StoreResult<Option<OrgDeletion>> {
        let row = self
            .conn()?
            .query_row(
                "SELECT org_id, job_id, requested_by, requested_at, status_key_hash, counts,
                        finished_at
                 FROM org_deletions WHERE org_id = ?1",
                [org.to_string()],
                DeletionRow::read,
            )
            .optional()
            .map_err(db)?;
        row.map(DeletionRow::into_deletion).transpose()
    }

    fn org_deletion_events(&self, org: OrgId) -> StoreResult<Vec<DeletionEvent>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT at, actor, step, detail FROM org_deletion_events
                 WHERE org_id = ?1 ORDER BY seq",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([org.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(at, actor, step, detail)| {
                Ok(DeletionEvent {
                    at: parse_ts(&at)?,
                    actor,
                    step,
                    detail,
                })
            })
            .collect()
    }

    fn add_org_deletion_event(&self, org: OrgId, event: &DeletionEvent) -> StoreResult<()> {
        self.write(|tx| add_event(tx, org, event))
    }

    fn remove_org_database(&self, org: OrgId) -> StoreResult<u64> {
        // Only ever for an org whose deletion began: its `orgs` row is gone, so no
        // request opens the file again while it goes.
        if self.org_deletion(org)?.is_none() || self.get_org_row_exists(org)? {
            return Err(StoreError::Conflict(steward_store::Conflict::Rule(
                "only the database of an org being deleted can be removed".into(),
            )));
        }
        self.tenants.evict(org)?;
        let main = org_file(self.tenants.dir(), &org.to_string());
        let mut removed = 0;
        // The WAL and shared-memory files first: the database file is what marks
        // the org's data as present, so it goes last.
        for suffix in ["-wal", "-shm", ""] {
            let mut path = main.clone().into_os_string();
            path.push(suffix);
            let path = std::path::PathBuf::from(path);
            let size = match std::fs::metadata(&path) {
                Ok(meta) => meta.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(&path, e)),
            };
            match std::fs::remove_file(&path) {
                Ok(()) => removed += size,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path, e)),
            }
        }
        if let Ok(dir) = std::fs::File::open(self.tenants.dir()) {
            dir.sync_all()
                .map_err(|e| io_error(self.tenants.dir(), e))?;
        }
        Ok(removed)
    }

    fn org_phones(&self, org: OrgId, limit: u32) -> StoreResult<Vec<OrgPhone>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT p.phone, EXISTS (SELECT 1 FROM phone_orgs q
                                         WHERE q.phone = p.phone AND q.org_id <> ?1)
                 FROM phone_orgs p WHERE p.org_id = ?1 ORDER BY p.phone LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![org.to_string(), limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(phone, elsewhere)| {
                Ok(OrgPhone {
                    phone: PhoneNumber::from_e164(&phone).map_err(|_| corrupt("phone", &phone))?,
                    elsewhere,
                })
            })
            .collect()
    }

    fn forget_org_phones(
        &self,
        org: OrgId,
        phones: &[OrgPhone],
        throttle_keys: ThrottleKeys<'_>,
    ) -> StoreResult<Counts> {
        self.write(|tx| {
            let mut counts = Counts::zero(&[
                "phones",
                "sessions",
                "sign_in_codes",
                "text_messages",
                "throttles",
            ]);
            let key = org.to_string();
            let mut unlink = tx
                .prepare_cached("DELETE FROM phone_orgs WHERE phone = ?1 AND org_id = ?2")
                .map_err(db)?;
            let mut sessions = tx
                .prepare_cached("DELETE FROM sessions WHERE phone = ?1")
                .map_err(db)?;
            let mut codes = tx
                .prepare_cached("DELETE FROM otp_codes WHERE phone = ?1")
                .map_err(db)?;
            let mut texts = tx
                .prepare_cached("DELETE FROM sms_outbox WHERE phone = ?1")
                .map_err(db)?;
            for p in phones {
                let phone = p.phone.as_str();
                counts.add(
                    "phones",
                    unlink.execute(params![phone, key]).map_err(db)? as u64,
                );
                // Whether another org knows the phone is read again here, inside the
                // write: a user added there meanwhile keeps their sign-in.
                let elsewhere: bool = tx
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM phone_orgs WHERE phone = ?1)",
                        [phone],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                if elsewhere {
                    continue;
                }
                counts.add("sessions", sessions.execute([phone]).map_err(db)? as u64);
                counts.add("sign_in_codes", codes.execute([phone]).map_err(db)? as u64);
                counts.add("text_messages", texts.execute([phone]).map_err(db)? as u64);
                counts.add("throttles", delete_throttles(tx, &throttle_keys(phone))?);
            }
            Ok(counts)
        })
    }

    fn finish_org_deletion(
        &self,
        org: OrgId,
        keep: JobId,
        counts: &Counts,
        event: &DeletionEvent,
    ) -> StoreResult<u64> {
        let jobs = self.write(|tx| {
            let jobs = tx
                .execute(
                    "DELETE FROM jobs WHERE org_id = ?1 AND id <> ?2",
                    params![org.to_string(), keep.to_string()],
                )
                .map_err(db)?;
            let mut counts = counts.clone();
            counts.add("removed_jobs", jobs as u64);
            tx.execute(
                "UPDATE org_deletions SET counts = ?2, finished_at = coalesce(finished_at, ?3)
                 WHERE org_id = ?1",
                params![org.to_string(), counts_text(&counts)?, ts(event.at)],
            )
            .map_err(db)?;
            add_event(tx, org, event)?;
            Ok(jobs as u64)
        })?;
        truncate_wal(&*self.conn()?)?;
        Ok(jobs)
    }
}

impl SqliteStore {
    fn get_org_row_exists(&self, org: OrgId) -> StoreResult<bool> {
        self.conn()?
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM orgs WHERE id = ?1)",
                [org.to_string()],
                |r| r.get(0),
            )
            .map_err(db)
    }
}

/// Copies the WAL into the database and cuts it to zero bytes, waiting (on the busy
/// timeout) for readers of older snapshots to finish; retried a few times if a reader
/// keeps it from completing.
fn truncate_wal(conn: &Connection) -> StoreResult<()> {
    for _ in 0..50 {
        let busy: i64 = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(db)?;
        if busy == 0 {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(StoreError::Backend(
        "the write-ahead log could not be truncated: a reader kept it busy".into(),
    ))
}

fn delete_throttles(tx: &Transaction<'_>, keys: &[String]) -> StoreResult<u64> {
    let mut stmt = tx
        .prepare_cached("DELETE FROM throttles WHERE key = ?1")
        .map_err(db)?;
    let mut removed = 0;
    for key in keys {
        removed += stmt.execute([key]).map_err(db)? as u64;
    }
    Ok(removed)
}

fn insert_deletion(tx: &Transaction<'_>, d: &OrgDeletion) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO org_deletions (org_id, job_id, requested_by, requested_at,
                                    status_key_hash, counts, finished_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            d.org_id.to_string(),
            d.job_id.to_string(),
            d.requested_by,
            ts(d.requested_at),
            &d.status_key.0[..],
            counts_text(&d.counts)?,
            d.finished_at.map(ts),
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn add_event(tx: &Transaction<'_>, org: OrgId, event: &DeletionEvent) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO org_deletion_events (org_id, seq, at, actor, step, detail)
         VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM org_deletion_events
                      WHERE org_id = ?1), ?2, ?3, ?4, ?5)",
        params![
            org.to_string(),
            ts(event.at),
            event.actor,
            event.step,
            event.detail
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn io_error(path: &std::path::Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("cannot remove {}: {e}", path.display()))
}

struct DeletionRow(
    String,
    String,
    String,
    String,
    Vec<u8>,
    String,
    Option<String>,
);

impl DeletionRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<DeletionRow> {
        Ok(DeletionRow(
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    }

    fn into_deletion(self) -> StoreResult<OrgDeletion> {
        let DeletionRow(org, job, by, at, key, counts, finished) = self;
        let status_key: [u8; 32] = key
            .try_into()
            .map_err(|_| StoreError::Corrupt("bad status key hash".into()))?;
        Ok(OrgDeletion {
            org_id: parse_id(&org)?,
            job_id: parse_id(&job)?,
            requested_by: by,
            requested_at: parse_ts(&at)?,
            status_key: TokenHash(status_key),
            counts: serde_json::from_str(&counts).map_err(|_| corrupt("counts", &counts))?,
            finished_at: parse_opt_ts(finished)?,
        })
    }
}
