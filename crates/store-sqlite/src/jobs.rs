//! The jobs: queue, leases, checkpoints, counts, outputs and row notes, and
//! `impl JobStore for SqliteStore`.
//!
//! A running job belongs to the worker named in `worker_id` until `lease_until`. The
//! job rows (queue, lease, status) are in the shared file; what a job writes about its
//! org's rows is in the org's file, and so is the authoritative checkpoint of each
//! step, because a step's rows and its checkpoint must commit in one transaction and
//! SQLite does not commit a transaction across two files atomically (not even with
//! ATTACH, in WAL mode).
//!
//! So a step ([`JobStore::job_step`]) goes:
//! 1. check the lease in the shared file and learn the claim's attempt number;
//! 2. in one transaction on the org file: refuse if the org's `job_checkpoints` row
//!    was written or fenced by a later attempt; run the work; check the lease in the
//!    shared file again, last; write the checkpoint row with the next sequence number
//!    and this attempt; commit;
//! 3. mirror the checkpoint to the shared jobs row (`checkpoint_seq`), for lists and
//!    for other processes. A crash between 2 and 3 leaves the shared row behind: every
//!    read of a job, and every claim, takes whichever of the two has the higher
//!    sequence number, and a claim mirrors it.
//!
//! A worker that stalls past its lease cannot commit a step twice: a claim first
//! commits the new owner in the shared file, then fences the org's checkpoint row
//! with its attempt number in an immediate transaction on the org file. That
//! transaction waits for a step already writing there, and then reads what it
//! committed; a step that writes after the fence sees a later attempt and is refused,
//! and a step whose last lease check comes after the claim is refused by that check.
//! Either the stale step commits before the new owner reads the checkpoint, or it
//! commits nothing.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{self, Connection, OptionalExtension, Row, Transaction, params};
use steward_domain::lifecycle::DeletionReceipt;
use steward_domain::{
    AttachmentId, Counts, Job, JobId, JobKind, JobStatus, OrgId, Progress, UpsertOutcome, UserId,
    UserUpsert,
};
use steward_store::{
    BlobKey, Conflict, FilesExpiry, Heartbeat, JobCheckpoint, JobEnd, JobLease, JobOutput,
    JobQuery, JobStore, JobTx, NoteKind, OutcomeRun, Page, PurgeKind, PurgedUser, RowError,
    RowOutcome, StepWork, StoreError, StoreResult,
};

use crate::convert::{corrupt, db, json_text, parse_id, parse_opt_ts, parse_ts, ts};
use crate::{SqliteStore, write_on};

const JOB_COLUMNS: &str = "id, org_id, kind, status, file_name, created_by, created_at, started_at,
    finished_at, progress_done, progress_total, counts, payload, checkpoint, attempts,
    cancel_requested, error, checkpoint_seq";

struct JobRow {
    id: String,
    org_id: String,
    kind: String,
    status: String,
    file_name: Option<String>,
    created_by: String,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    progress: Progress,
    counts: String,
    payload: String,
    checkpoint: Option<String>,
    attempts: u32,
    cancel_requested: bool,
    error: Option<String>,
    checkpoint_seq: u64,
}

fn read(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        org_id: r.get(1)?,
        kind: r.get(2)?,
        status: r.get(3)?,
        file_name: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
        started_at: r.get(7)?,
        finished_at: r.get(8)?,
        progress: Progress {
            done: r.get(9)?,
            total: r.get(10)?,
        },
        counts: r.get(11)?,
        payload: r.get(12)?,
        checkpoint: r.get(13)?,
        attempts: r.get(14)?,
        cancel_requested: r.get(15)?,
        error: r.get(16)?,
        checkpoint_seq: r.get(17)?,
    })
}

impl JobRow {
    fn into_job(self) -> StoreResult<Job> {
        let json = |raw: &str| serde_json::from_str(raw).map_err(|_| corrupt("job JSON", raw));
        Ok(Job {
            id: parse_id(&self.id)?,
            org_id: parse_id(&self.org_id)?,
            kind: JobKind::parse(&self.kind).ok_or_else(|| corrupt("job kind", &self.kind))?,
            status: JobStatus::parse(&self.status)
                .ok_or_else(|| corrupt("job status", &self.status))?,
            file_name: self.file_name,
            created_by: self.created_by,
            created_at: parse_ts(&self.created_at)?,
            started_at: parse_opt_ts(self.started_at)?,
            finished_at: parse_opt_ts(self.finished_at)?,
            progress: self.progress,
            counts: serde_json::from_str(&self.counts)
                .map_err(|_| corrupt("job counts", &self.counts))?,
            payload: json(&self.payload)?,
            checkpoint: self.checkpoint.as_deref().map(json).transpose()?,
            attempts: self.attempts,
            cancel_requested: self.cancel_requested,
            error: self.error,
        })
    }
}

pub(crate) fn insert(tx: &Transaction<'_>, job: &Job) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO jobs (id, org_id, kind, status, file_name, created_by, created_at,
                           progress_done, progress_total, counts, payload, attempts,
                           cancel_requested)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, 0)",
        params![
            job.id.to_string(),
            job.org_id.to_string(),
            job.kind.as_str(),
            job.status.as_str(),
            job.file_name,
            job.created_by,
            ts(job.created_at),
            job.progress.done,
            job.progress.total,
            counts_text(&job.counts)?,
            json_text(&job.payload)?,
        ],
    )
    .map_err(db)?;
    Ok(())
}

/// Inserts `job` holding an idempotency key of its org, or returns the job that
/// already holds it.
fn insert_once(tx: &Transaction<'_>, job: &Job, key: &str) -> StoreResult<Job> {
    let existing: Option<String> = tx
        .query_row(
            "SELECT id FROM jobs WHERE org_id = ?1 AND idempotency_key = ?2",
            params![job.org_id.to_string(), key],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    if let Some(id) = existing {
        return get(tx, parse_id(&id)?)?.ok_or(StoreError::NotFound);
    }
    insert(tx, job)?;
    tx.execute(
        "UPDATE jobs SET idempotency_key = ?2 WHERE id = ?1",
        params![job.id.to_string(), key],
    )
    .map_err(db)?;
    Ok(job.clone())
}

fn get(conn: &Connection, id: JobId) -> StoreResult<Option<Job>> {
    get_row(conn, id)?.map(JobRow::into_job).transpose()
}

fn get_row(conn: &Connection, id: JobId) -> StoreResult<Option<JobRow>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
    conn.query_row(&sql, [id.to_string()], read)
        .optional()
        .map_err(db)
}

/// A job's checkpoint as the org's file holds it.
struct OrgCheckpoint {
    seq: u64,
    attempt: u32,
    checkpoint: JobCheckpoint,
}

fn org_checkpoint(conn: &Connection, id: JobId) -> StoreResult<Option<OrgCheckpoint>> {
    let row: Option<(u64, u32, u64, u64, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT seq, attempt, progress_done, progress_total, counts, state
             FROM job_checkpoints WHERE job_id = ?1",
        )
        .map_err(db)?
        .query_row([id.to_string()], |r| TryFrom::try_from(r))
        .optional()
        .map_err(db)?;
    row.map(|(seq, attempt, done, total, counts, state)| {
        Ok(OrgCheckpoint {
            seq,
            attempt,
            checkpoint: JobCheckpoint {
                progress: Progress { done, total },
                counts: serde_json::from_str(&counts)
                    .map_err(|_| corrupt("job counts", &counts))?,
                state: state
                    .as_deref()
                    .map(|raw| serde_json::from_str(raw).map_err(|_| corrupt("job JSON", raw)))
                    .transpose()?,
            },
        })
    })
    .transpose()
}

/// Writes the org file's checkpoint row of a job.
fn put_org_checkpoint(
    tx: &Transaction<'_>,
    id: JobId,
    seq: u64,
    attempt: u32,
    checkpoint: &JobCheckpoint,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO job_checkpoints (job_id, seq, attempt, progress_done, progress_total,
                                      counts, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (job_id) DO UPDATE SET seq = excluded.seq, attempt = excluded.attempt,
             progress_done = excluded.progress_done, progress_total = excluded.progress_total,
             counts = excluded.counts, state = excluded.state",
    )
    .map_err(db)?
    .execute(params![
        id.to_string(),
        seq,
        attempt,
        checkpoint.progress.done,
        checkpoint.progress.total,
        counts_text(&checkpoint.counts)?,
        checkpoint.state.as_ref().map(json_text).transpose()?,
    ])
    .map_err(db)?;
    Ok(())
}

/// Copies a checkpoint to the shared jobs row, unless the row already holds a newer
/// one. Needs no lease: the org file's commit already decided.
fn mirror(
    tx: &Transaction<'_>,
    id: JobId,
    seq: u64,
    checkpoint: &JobCheckpoint,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE jobs SET progress_done = ?3, progress_total = ?4, counts = ?5, checkpoint = ?6,
                         checkpoint_seq = ?2
         WHERE id = ?1 AND checkpoint_seq < ?2",
        params![
            id.to_string(),
            seq,
            checkpoint.progress.done,
            checkpoint.progress.total,
            counts_text(&checkpoint.counts)?,
            checkpoint.state.as_ref().map(json_text).transpose()?,
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn list(conn: &Connection, org: OrgId, query: &JobQuery) -> StoreResult<Page<JobRow>> {
    let limit = query.limit.clamp(1, 500);
    let kind = query.kind.map(JobKind::as_str);
    let total: u64 = conn
        .query_row(
            "SELECT count(*) FROM jobs WHERE org_id = ?1 AND (?2 IS NULL OR kind = ?2)",
            params![org.to_string(), kind],
            |r| r.get(0),
        )
        .map_err(db)?;
    // Ids are UUIDv7, so id order is creation order: newest first, cursor = last id.
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs
         WHERE org_id = ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR id < ?3)
         ORDER BY id DESC LIMIT ?4"
    );
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params![org.to_string(), kind, query.after, limit + 1], read)
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let mut items = rows;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|j| j.id.clone())
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

fn claim(
    tx: &Transaction<'_>,
    only: Option<JobId>,
    worker_id: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> StoreResult<Option<JobRow>> {
    let candidate: Option<String> = tx
        .query_row(
            "SELECT id FROM jobs
             WHERE (status = 'queued' OR (status = 'running' AND lease_until < ?1))
               AND (?2 IS NULL OR id = ?2)
             ORDER BY created_at, id LIMIT 1",
            params![ts(now), only.map(|id| id.to_string())],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    let Some(id) = candidate else { return Ok(None) };
    tx.execute(
        "UPDATE jobs SET status = 'running', worker_id = ?2, lease_until = ?3,
                         attempts = attempts + 1, started_at = coalesce(started_at, ?4)
         WHERE id = ?1",
        params![id, worker_id, ts(lease_until), ts(now)],
    )
    .map_err(db)?;
    get_row(tx, parse_id(&id)?)
}

/// The attempt number and checkpoint sequence of the claim the lease names, if the
/// worker still holds it.
fn lease_claim(conn: &Connection, lease: &JobLease) -> StoreResult<Option<(u32, u64)>> {
    conn.prepare_cached(
        "SELECT attempts, checkpoint_seq FROM jobs
         WHERE id = ?1 AND org_id = ?2 AND worker_id = ?3 AND status = 'running'",
    )
    .map_err(db)?
    .query_row(
        params![
            lease.job_id.to_string(),
            lease.org_id.to_string(),
            lease.worker_id
        ],
        |r| TryFrom::try_from(r),
    )
    .optional()
    .map_err(db)
}

fn heartbeat(
    tx: &Transaction<'_>,
    lease: &JobLease,
    lease_until: DateTime<Utc>,
) -> StoreResult<Heartbeat> {
    let cancel_requested: Option<bool> = tx
        .query_row(
            "UPDATE jobs SET lease_until = ?4
             WHERE id = ?1 AND org_id = ?2 AND worker_id = ?3 AND status = 'running'
             RETURNING cancel_requested",
            params![
                lease.job_id.to_string(),
                lease.org_id.to_string(),
                lease.worker_id,
                ts(lease_until)
            ],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    Ok(match cancel_requested {
        Some(cancel_requested) => Heartbeat::Held { cancel_requested },
        None => Heartbeat::Lost,
    })
}

/// Saves a checkpoint in the shared jobs row alone (work outside the store), after
/// the org file's newest one (`org_seq`), if the lease is held.
fn save_checkpoint(
    tx: &Transaction<'_>,
    lease: &JobLease,
    checkpoint: &JobCheckpoint,
    org_seq: u64,
) -> StoreResult<()> {
    let changed = tx
        .execute(
            "UPDATE jobs SET progress_done = ?4, progress_total = ?5, counts = ?6,
                             checkpoint = ?7, checkpoint_seq = max(checkpoint_seq, ?8) + 1
             WHERE id = ?1 AND org_id = ?2 AND worker_id = ?3 AND status = 'running'",
            params![
                lease.job_id.to_string(),
                lease.org_id.to_string(),
                lease.worker_id,
                checkpoint.progress.done,
                checkpoint.progress.total,
                counts_text(&checkpoint.counts)?,
                checkpoint.state.as_ref().map(json_text).transpose()?,
                org_seq,
            ],
        )
        .map_err(db)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}

fn finish(
    tx: &Transaction<'_>,
    lease: &JobLease,
    end: &JobEnd,
    now: DateTime<Utc>,
    org_seq: u64,
) -> StoreResult<()> {
    if !end.status.is_finished() {
        return Err(StoreError::Conflict(Conflict::Rule(format!(
            "a job cannot finish as {}",
            end.status.as_str()
        ))));
    }
    save_checkpoint(tx, lease, &end.checkpoint, org_seq)?;
    tx.execute(
        "UPDATE jobs SET status = ?2, error = ?3, finished_at = ?4, worker_id = NULL,
                         lease_until = NULL
         WHERE id = ?1",
        params![
            lease.job_id.to_string(),
            end.status.as_str(),
            end.error,
            ts(now)
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn request_cancel(
    tx: &Transaction<'_>,
    org: OrgId,
    id: JobId,
    now: DateTime<Utc>,
) -> StoreResult<Option<JobRow>> {
    tx.execute(
        "UPDATE jobs SET status = 'canceled', finished_at = ?3
         WHERE id = ?1 AND org_id = ?2 AND status = 'queued'",
        params![id.to_string(), org.to_string(), ts(now)],
    )
    .map_err(db)?;
    tx.execute(
        "UPDATE jobs SET cancel_requested = 1
         WHERE id = ?1 AND org_id = ?2 AND status = 'running'",
        params![id.to_string(), org.to_string()],
    )
    .map_err(db)?;
    Ok(get_row(tx, id)?.filter(|job| job.org_id == org.to_string()))
}

pub(crate) fn counts_text(counts: &Counts) -> StoreResult<String> {
    serde_json::to_string(counts).map_err(|e| StoreError::Backend(e.to_string()))
}

fn note_kind(kind: NoteKind) -> &'static str {
    match kind {
        NoteKind::Error => "error",
        NoteKind::Repair => "repair",
    }
}

/// Records row notes of one kind.
fn insert_row_notes(
    tx: &Transaction<'_>,
    lease: &JobLease,
    notes: &[RowError],
    kind: NoteKind,
) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO job_row_errors (org_id, job_id, row, seq, col, value, reason, kind)
             VALUES (?1, ?2, ?3,
                     (SELECT count(*) FROM job_row_errors WHERE job_id = ?2 AND row = ?3),
                     ?4, ?5, ?6, ?7)",
        )
        .map_err(db)?;
    for note in notes {
        stmt.execute(params![
            lease.org_id.to_string(),
            lease.job_id.to_string(),
            note.row,
            note.column,
            note.value,
            note.reason,
            note_kind(kind)
        ])
        .map_err(db)?;
    }
    Ok(())
}

fn row_notes(
    conn: &Connection,
    org: OrgId,
    job: JobId,
    kind: NoteKind,
    after_row: u64,
    limit: u32,
) -> StoreResult<Vec<RowError>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT row, col, value, reason FROM job_row_errors
             WHERE org_id = ?1 AND job_id = ?2 AND kind = ?3 AND row > ?4
             ORDER BY row, seq LIMIT ?5",
        )
        .map_err(db)?;
    stmt.query_map(
        params![
            org.to_string(),
            job.to_string(),
            note_kind(kind),
            after_row,
            limit
        ],
        |r| {
            Ok(RowError {
                row: r.get(0)?,
                column: r.get(1)?,
                value: r.get(2)?,
                reason: r.get(3)?,
            })
        },
    )
    .map_err(db)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(db)
}

/// Records what became of each row of one step.
fn insert_outcomes(tx: &Transaction<'_>, lease: &JobLease, run: &OutcomeRun) -> StoreResult<()> {
    if run.outcomes.is_empty() {
        return Ok(());
    }
    let first_row = run.first_row;
    let codes: String = run.outcomes.iter().map(|o| o.code()).collect();
    tx.prepare_cached(
        "INSERT INTO job_row_outcomes (org_id, job_id, first_row, outcomes) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(db)?
    .execute(params![
        lease.org_id.to_string(),
        lease.job_id.to_string(),
        first_row,
        codes
    ])
    .map_err(db)?;
    Ok(())
}

fn outcomes(
    conn: &Connection,
    org: OrgId,
    job: JobId,
    after_row: u64,
    limit: u32,
) -> StoreResult<Vec<OutcomeRun>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT first_row, outcomes FROM job_row_outcomes
             WHERE org_id = ?1 AND job_id = ?2 AND first_row > ?3
             ORDER BY first_row LIMIT ?4",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(
            params![org.to_string(), job.to_string(), after_row, limit],
            |r| Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?)),
        )
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(|(first_row, codes)| {
            let outcomes = codes
                .chars()
                .map(|c| RowOutcome::from_code(c).ok_or_else(|| corrupt("row outcome", &codes)))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(OutcomeRun {
                first_row,
                outcomes,
            })
        })
        .collect()
}

fn insert_output(tx: &Transaction<'_>, lease: &JobLease, output: &JobOutput) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO job_outputs (org_id, job_id, seq, blob_key, name, size, sha256)
         VALUES (?1, ?2, (SELECT count(*) FROM job_outputs WHERE job_id = ?2), ?3, ?4, ?5, ?6)",
        params![
            lease.org_id.to_string(),
            lease.job_id.to_string(),
            output.key.as_str(),
            output.name,
            output.size,
            output.sha256
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn outputs(conn: &Connection, org: OrgId, job: JobId) -> StoreResult<Vec<JobOutput>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT blob_key, name, size, sha256 FROM job_outputs
             WHERE org_id = ?1 AND job_id = ?2 ORDER BY seq",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![org.to_string(), job.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(|(key, name, size, sha256)| {
            Ok(JobOutput {
                key: BlobKey::parse(&key).map_err(|_| corrupt("blob key", &key))?,
                name,
                size,
                sha256,
            })
        })
        .collect()
}

/// The writes of one job step, in the step's transaction.
struct StepTx<'t, 'c> {
    tx: &'t Transaction<'c>,
    lease: &'t JobLease,
    store: &'t SqliteStore,
}

impl JobTx for StepTx<'_, '_> {
    fn classify_users(&mut self, rows: &[&UserUpsert]) -> StoreResult<Vec<UpsertOutcome>> {
        crate::users::classify(self.tx, self.lease.org_id, rows.iter().copied())
    }

    fn upsert_users(
        &mut self,
        rows: &[&UserUpsert],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<UpsertOutcome>> {
        crate::users::defer_indexes(self.tx, rows.len())?;
        let outcomes = crate::users::upsert(self.tx, self.lease.org_id, rows.iter().copied(), now)?;
        self.store
            .remember_created(self.lease.org_id, rows.iter().copied(), &outcomes)?;
        Ok(outcomes)
    }

    fn add_notes(&mut self, kind: NoteKind, notes: &[RowError]) -> StoreResult<()> {
        insert_row_notes(self.tx, self.lease, notes, kind)
    }

    fn add_outcomes(&mut self, run: &OutcomeRun) -> StoreResult<()> {
        insert_outcomes(self.tx, self.lease, run)
    }

    fn add_output(&mut self, output: &JobOutput) -> StoreResult<()> {
        insert_output(self.tx, self.lease, output)
    }

    fn purge_rows(
        &mut self,
        user: UserId,
        kind: PurgeKind,
        attachments: &[AttachmentId],
        limit: u32,
    ) -> StoreResult<u64> {
        crate::lifecycle::purge_rows(self.tx, user, kind, attachments, limit)
    }

    fn finish_purge(&mut self, user: UserId, receipt: &DeletionReceipt) -> StoreResult<PurgedUser> {
        crate::lifecycle::finish_purge(self.tx, user, receipt)
    }
}

impl SqliteStore {
    /// A job as read from its shared row, with the org file's checkpoint when that
    /// one is newer (a crash came between a step's commit and its mirror).
    fn job_of(&self, row: JobRow, tenant: Option<&Connection>) -> StoreResult<Job> {
        let seq = row.checkpoint_seq;
        let id: JobId = parse_id(&row.id)?;
        let mut job = row.into_job()?;
        if let Some(conn) = tenant
            && let Some(newer) = org_checkpoint(conn, id)?.filter(|c| c.seq > seq)
        {
            job.progress = newer.checkpoint.progress;
            job.counts = newer.checkpoint.counts;
            job.checkpoint = newer.checkpoint.state;
        }
        Ok(job)
    }

    /// [`SqliteStore::job_of`] opening the job's org file itself.
    fn job_of_row(&self, row: JobRow) -> StoreResult<Job> {
        let org: OrgId = parse_id(&row.org_id)?;
        match self.tenant(org)? {
            Some(pool) => self.job_of(row, Some(&*crate::conn_of(&pool)?)),
            None => self.job_of(row, None),
        }
    }

    /// The newest checkpoint sequence number the org file holds for a job (0 if none).
    fn org_seq(&self, org: OrgId, id: JobId) -> StoreResult<u64> {
        self.read_org(
            org,
            || 0,
            |conn| Ok(org_checkpoint(conn, id)?.map_or(0, |c| c.seq)),
        )
    }

    /// After a claim: fences the org file's checkpoint row with the claim's attempt,
    /// waiting for a step that is writing there to end, and answers the claimed job
    /// with the newer of the two checkpoints (mirrored to the shared row).
    fn fence(&self, row: JobRow) -> StoreResult<Job> {
        let org: OrgId = parse_id(&row.org_id)?;
        let id: JobId = parse_id(&row.id)?;
        let attempt = row.attempts;
        let shared_seq = row.checkpoint_seq;
        let mut job = row.into_job()?;
        let Some(pool) = self.tenant(org)? else {
            return Ok(job);
        };
        let stored = write_on(&mut *crate::conn_of(&pool)?, |tx| {
            tx.execute(
                "INSERT INTO job_checkpoints (job_id, seq, attempt, progress_done, progress_total,
                                              counts, state)
                 VALUES (?1, 0, ?2, 0, 0, '{}', NULL)
                 ON CONFLICT (job_id) DO UPDATE SET attempt = max(attempt, excluded.attempt)",
                params![id.to_string(), attempt],
            )
            .map_err(db)?;
            org_checkpoint(tx, id)
        })?;
        if let Some(newer) = stored.filter(|c| c.seq > shared_seq) {
            self.write(|tx| mirror(tx, id, newer.seq, &newer.checkpoint))?;
            job.progress = newer.checkpoint.progress;
            job.counts = newer.checkpoint.counts;
            job.checkpoint = newer.checkpoint.state;
        }
        Ok(job)
    }
}

impl JobStore for SqliteStore {
    fn enqueue_job(&self, job: &Job) -> StoreResult<()> {
        self.write(|tx| insert(tx, job))
    }

    fn enqueue_job_once(&self, job: &Job, idempotency_key: &str) -> StoreResult<Job> {
        self.write(|tx| insert_once(tx, job, idempotency_key))
    }

    fn get_job(&self, org: OrgId, id: JobId) -> StoreResult<Option<Job>> {
        let row = get_row(&*self.conn()?, id)?.filter(|job| job.org_id == org.to_string());
        row.map(|row| self.job_of_row(row)).transpose()
    }

    fn find_job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let row = get_row(&*self.conn()?, id)?;
        row.map(|row| self.job_of_row(row)).transpose()
    }

    fn list_jobs(&self, org: OrgId, query: &JobQuery) -> StoreResult<Page<Job>> {
        let page = list(&*self.conn()?, org, query)?;
        let tenant = match self.tenant(org)? {
            Some(pool) => Some(crate::conn_of(&pool)?),
            None => None,
        };
        let items = page
            .items
            .into_iter()
            .map(|row| self.job_of(row, tenant.as_deref()))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
            total: page.total,
        })
    }

    fn count_active_jobs(&self, org: OrgId, kind: JobKind) -> StoreResult<u64> {
        // `jobs_claimable` (status, created_at) finds the few unfinished jobs of all orgs.
        self.conn()?
            .query_row(
                "SELECT COUNT(*) FROM jobs
                 WHERE status IN ('queued', 'running') AND org_id = ?1 AND kind = ?2",
                params![org.to_string(), kind.as_str()],
                |r| r.get(0),
            )
            .map_err(db)
    }

    fn claim_job(
        &self,
        only: Option<JobId>,
        worker_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        let row = self.write(|tx| claim(tx, only, worker_id, now, lease_until))?;
        row.map(|row| self.fence(row)).transpose()
    }

    fn heartbeat_job(
        &self,
        lease: &JobLease,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Heartbeat> {
        self.write(|tx| heartbeat(tx, lease, lease_until))
    }

    fn checkpoint_job(&self, lease: &JobLease, checkpoint: &JobCheckpoint) -> StoreResult<()> {
        let org_seq = self.org_seq(lease.org_id, lease.job_id)?;
        self.write(|tx| save_checkpoint(tx, lease, checkpoint, org_seq))
    }

    fn finish_job(&self, lease: &JobLease, end: &JobEnd, now: DateTime<Utc>) -> StoreResult<()> {
        let org_seq = self.org_seq(lease.org_id, lease.job_id)?;
        // Before the job is seen finished: the indexes a bulk load deferred, so a
        // `completed` import has its filters ready.
        if lease_claim(&*self.conn()?, lease)?.is_none() {
            return Err(StoreError::LeaseLost);
        }
        if let Some(pool) = self.tenant(lease.org_id)? {
            crate::users::build_missing_indexes(&mut *crate::conn_of(&pool)?)?;
        }
        self.write(|tx| finish(tx, lease, end, now, org_seq))
    }

    fn request_job_cancel(
        &self,
        org: OrgId,
        id: JobId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        let row = self.write(|tx| request_cancel(tx, org, id, now))?;
        row.map(|row| self.job_of_row(row)).transpose()
    }

    fn job_step(&self, lease: &JobLease, work: &mut StepWork<'_>) -> StoreResult<JobCheckpoint> {
        // First, so a worker that lost its job does no work for nothing.
        let Some((attempt, shared_seq)) = lease_claim(&*self.conn()?, lease)? else {
            return Err(StoreError::LeaseLost);
        };
        let pool = self.tenant(lease.org_id)?.ok_or(StoreError::LeaseLost)?;
        let mut conn = crate::conn_of(&pool)?;
        let (saved, seq) = write_on(&mut conn, |tx| {
            let stored = org_checkpoint(tx, lease.job_id)?;
            if stored.as_ref().is_some_and(|c| c.attempt > attempt) {
                // A later claim fenced this job: this worker's lease is gone.
                return Err(StoreError::LeaseLost);
            }
            let seq = stored.map_or(0, |c| c.seq).max(shared_seq) + 1;
            let checkpoint = work(&mut StepTx {
                tx,
                lease,
                store: self,
            })?;
            // Last, just before the commit: a claim that came during the work has
            // committed its new owner by now, or its fence will wait for this commit
            // and read it (see the module's comment).
            let still = lease_claim(&*self.conn()?, lease)?;
            if still.map(|(a, _)| a) != Some(attempt) {
                return Err(StoreError::LeaseLost);
            }
            put_org_checkpoint(tx, lease.job_id, seq, attempt, &checkpoint)?;
            Ok((checkpoint, seq))
        })?;
        // The step is committed; the mirror only lets the shared row catch up, and a
        // read takes the newer of the two if it fails.
        if let Err(e) = self.write(|tx| mirror(tx, lease.job_id, seq, &saved)) {
            tracing::warn!(job = %lease.job_id, error = %e, "cannot mirror a job's checkpoint");
        }
        // A step of a large import rewrites every index page it touches: once the WAL
        // is long, copy it into the database now (the job pays for it, not the next
        // API write; see `checkpoint_past`). A small step is left to the writers'
        // checkpoints: a forced one with its fsync at each step made a purge's small
        // steps three times slower.
        crate::checkpoint_past(&conn, crate::WAL_KEEP_BYTES / 2)?;
        // So filtered pages and searches use their indexes as soon as the job is done.
        crate::users::refresh_stats(&conn, false)?;
        Ok(saved)
    }

    fn job_errors(
        &self,
        org: OrgId,
        job: JobId,
        after_row: u64,
        limit: u32,
    ) -> StoreResult<Vec<RowError>> {
        self.read_org(org, Vec::new, |conn| {
            row_notes(conn, org, job, NoteKind::Error, after_row, limit)
        })
    }

    fn job_repairs(
        &self,
        org: OrgId,
        job: JobId,
        after_row: u64,
        limit: u32,
    ) -> StoreResult<Vec<RowError>> {
        self.read_org(org, Vec::new, |conn| {
            row_notes(conn, org, job, NoteKind::Repair, after_row, limit)
        })
    }

    fn job_outcomes(
        &self,
        org: OrgId,
        job: JobId,
        after_row: u64,
        limit: u32,
    ) -> StoreResult<Vec<OutcomeRun>> {
        self.read_org(org, Vec::new, |conn| {
            outcomes(conn, org, job, after_row, limit)
        })
    }

    fn job_outputs(&self, org: OrgId, job: JobId) -> StoreResult<Vec<JobOutput>> {
        self.read_org(org, Vec::new, |conn| outputs(conn, org, job))
    }

    fn set_job_files_expiry(
        &self,
        org: OrgId,
        job: JobId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND org_id = ?2)",
                    params![job.to_string(), org.to_string()],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT INTO job_files_expiry (job_id, org_id, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (job_id) DO UPDATE SET expires_at = excluded.expires_at, deleted_at = NULL",
                params![job.to_string(), org.to_string(), ts(expires_at)],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn job_files_expiry(&self, org: OrgId, job: JobId) -> StoreResult<Option<FilesExpiry>> {
        let row = self
            .conn()?
            .query_row(
                "SELECT expires_at, deleted_at FROM job_files_expiry WHERE job_id = ?1 AND org_id = ?2",
                params![job.to_string(), org.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(|(expires_at, deleted_at)| {
            Ok(FilesExpiry {
                expires_at: parse_ts(&expires_at)?,
                deleted_at: parse_opt_ts(deleted_at)?,
            })
        })
        .transpose()
    }

    fn expired_job_files(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(OrgId, JobId)>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT org_id, job_id FROM job_files_expiry
                 WHERE deleted_at IS NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ts(now), limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(org, job)| Ok((parse_id(&org)?, parse_id(&job)?)))
            .collect()
    }

    fn mark_job_files_deleted(
        &self,
        org: OrgId,
        job: JobId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE job_files_expiry SET deleted_at = ?3
                 WHERE job_id = ?1 AND org_id = ?2 AND deleted_at IS NULL",
                params![job.to_string(), org.to_string(), ts(now)],
            )
            .map_err(db)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_import_job_from_before_generic_counts_keeps_its_counts_in_order() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_access.sql"),
            include_str!("../migrations/0003_user_lists.sql"),
            include_str!("../migrations/0004_imports.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        let id = JobId::new();
        conn.execute(
            "INSERT INTO jobs (id, org_id, kind, status, created_by, created_at, payload,
                               created_count, updated_count, unchanged_count, failed_count)
             VALUES (?1, ?2, 'import_users', 'completed', 'cli', '2026-01-01T09:00:00Z', '{}',
                     5, 4, 3, 2)",
            params![id.to_string(), OrgId::new().to_string()],
        )
        .unwrap();
        // Versions 5 and 7 of the shared file (the org files play no part here).
        conn.execute_batch(include_str!("../migrations/0005_job_outputs.sql"))
            .unwrap();
        conn.execute_batch(include_str!("../migrations/0007_org_files.sql"))
            .unwrap();
        let job = get(&conn, id).unwrap().unwrap();
        assert_eq!(
            job.counts.iter().collect::<Vec<_>>(),
            vec![
                ("created", 5),
                ("updated", 4),
                ("unchanged", 3),
                ("failed", 2)
            ]
        );
    }
}
