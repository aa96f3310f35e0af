//! The jobs table: queue, leases, checkpoints and row errors.
//!
//! A running job belongs to the worker named in `worker_id` until `lease_until`. Every
//! write a job makes checks that it still holds the lease, in the same transaction, so
//! a worker that stalled past its lease (and whose job another worker took) can never
//! commit work twice.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{self, Connection, OptionalExtension, Row, Transaction, params};
use steward_domain::{Counts, Job, JobId, JobKind, JobStatus, OrgId, Progress, UpsertOutcome};
use steward_store::{
    Heartbeat, ImportStep, JobCheckpoint, JobEnd, JobLease, JobQuery, OutcomeRun, Page, RowError,
    RowOutcome, StoreError, StoreResult,
};

use crate::convert::{corrupt, db, json_text, parse_id, parse_opt_ts, parse_ts, ts};

const JOB_COLUMNS: &str = "id, org_id, kind, status, file_name, created_by, created_at, started_at,
    finished_at, progress_done, progress_total, created_count, updated_count, unchanged_count,
    failed_count, payload, checkpoint, attempts, cancel_requested, error";

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
    counts: Counts,
    payload: String,
    checkpoint: Option<String>,
    attempts: u32,
    cancel_requested: bool,
    error: Option<String>,
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
        counts: Counts {
            created: r.get(11)?,
            updated: r.get(12)?,
            unchanged: r.get(13)?,
            failed: r.get(14)?,
        },
        payload: r.get(15)?,
        checkpoint: r.get(16)?,
        attempts: r.get(17)?,
        cancel_requested: r.get(18)?,
        error: r.get(19)?,
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
            counts: self.counts,
            payload: json(&self.payload)?,
            checkpoint: self.checkpoint.as_deref().map(json).transpose()?,
            attempts: self.attempts,
            cancel_requested: self.cancel_requested,
            error: self.error,
        })
    }
}

pub fn insert(tx: &Transaction<'_>, job: &Job) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO jobs (id, org_id, kind, status, file_name, created_by, created_at,
                           progress_done, progress_total, payload, attempts, cancel_requested)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, 0)",
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
            json_text(&job.payload)?,
        ],
    )
    .map_err(db)?;
    Ok(())
}

/// Inserts `job` holding an idempotency key of its org, or returns the job that
/// already holds it.
pub fn insert_once(tx: &Transaction<'_>, job: &Job, key: &str) -> StoreResult<Job> {
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

pub fn get(conn: &Connection, id: JobId) -> StoreResult<Option<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
    let row = conn
        .query_row(&sql, [id.to_string()], read)
        .optional()
        .map_err(db)?;
    row.map(JobRow::into_job).transpose()
}

pub fn list(conn: &Connection, org: OrgId, query: &JobQuery) -> StoreResult<Page<Job>> {
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
    let mut items = rows
        .into_iter()
        .map(JobRow::into_job)
        .collect::<StoreResult<Vec<_>>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|j| j.id.to_string())
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

pub fn claim(
    tx: &Transaction<'_>,
    only: Option<JobId>,
    worker_id: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> StoreResult<Option<Job>> {
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
    get(tx, parse_id(&id)?)
}

/// Checks the lease inside the transaction; `LeaseLost` rolls the whole step back.
fn lease_held(tx: &Transaction<'_>, lease: &JobLease) -> StoreResult<bool> {
    let cancel: Option<bool> = tx
        .query_row(
            "SELECT cancel_requested FROM jobs
             WHERE id = ?1 AND org_id = ?2 AND worker_id = ?3 AND status = 'running'",
            params![
                lease.job_id.to_string(),
                lease.org_id.to_string(),
                lease.worker_id
            ],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    Ok(cancel.is_some())
}

pub fn heartbeat(
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

pub fn save_checkpoint(
    tx: &Transaction<'_>,
    lease: &JobLease,
    checkpoint: &JobCheckpoint,
) -> StoreResult<()> {
    let changed = tx
        .execute(
            "UPDATE jobs SET progress_done = ?4, progress_total = ?5, created_count = ?6,
                             updated_count = ?7, unchanged_count = ?8, failed_count = ?9,
                             checkpoint = ?10
             WHERE id = ?1 AND org_id = ?2 AND worker_id = ?3 AND status = 'running'",
            params![
                lease.job_id.to_string(),
                lease.org_id.to_string(),
                lease.worker_id,
                checkpoint.progress.done,
                checkpoint.progress.total,
                checkpoint.counts.created,
                checkpoint.counts.updated,
                checkpoint.counts.unchanged,
                checkpoint.counts.failed,
                checkpoint.state.as_ref().map(json_text).transpose()?,
            ],
        )
        .map_err(db)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}

pub fn finish(
    tx: &Transaction<'_>,
    lease: &JobLease,
    end: &JobEnd,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if !end.status.is_finished() {
        return Err(StoreError::Conflict(format!(
            "a job cannot finish as {}",
            end.status.as_str()
        )));
    }
    save_checkpoint(tx, lease, &end.checkpoint)?;
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

pub fn request_cancel(
    tx: &Transaction<'_>,
    org: OrgId,
    id: JobId,
    now: DateTime<Utc>,
) -> StoreResult<Option<Job>> {
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
    Ok(get(tx, id)?.filter(|job| job.org_id == org))
}

/// Records row notes of one kind (`error` or `repair`); returns how many distinct rows
/// they name.
pub fn insert_row_notes(
    tx: &Transaction<'_>,
    lease: &JobLease,
    notes: &[RowError],
    kind: &str,
) -> StoreResult<u64> {
    if !notes.is_empty() && !lease_held(tx, lease)? {
        return Err(StoreError::LeaseLost);
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO job_row_errors (org_id, job_id, row, seq, col, value, reason, kind)
             VALUES (?1, ?2, ?3,
                     (SELECT count(*) FROM job_row_errors WHERE job_id = ?2 AND row = ?3),
                     ?4, ?5, ?6, ?7)",
        )
        .map_err(db)?;
    let mut rows = 0;
    let mut previous_row = None;
    for note in notes {
        if previous_row != Some(note.row) {
            rows += 1;
            previous_row = Some(note.row);
        }
        stmt.execute(params![
            lease.org_id.to_string(),
            lease.job_id.to_string(),
            note.row,
            note.column,
            note.value,
            note.reason,
            kind
        ])
        .map_err(db)?;
    }
    Ok(rows)
}

pub fn row_notes(
    conn: &Connection,
    org: OrgId,
    job: JobId,
    kind: &str,
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
        params![org.to_string(), job.to_string(), kind, after_row, limit],
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
pub fn insert_outcomes(
    tx: &Transaction<'_>,
    lease: &JobLease,
    first_row: u64,
    outcomes: &[RowOutcome],
) -> StoreResult<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let codes: String = outcomes.iter().map(|o| o.code()).collect();
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

pub fn outcomes(
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

/// One import step in the caller's transaction (see `Store::import_users_step`).
pub fn import_step(
    tx: &Transaction<'_>,
    lease: &JobLease,
    step: &ImportStep,
    checkpoint: &JobCheckpoint,
    now: DateTime<Utc>,
) -> StoreResult<Counts> {
    let mut counts = checkpoint.counts;
    let mut outcomes = vec![RowOutcome::Blank; step.row_count as usize];
    // Written in phone order: the phone-keyed indexes then take the rows in one
    // sweep instead of at random pages, which makes a step several times
    // cheaper. (Stable, so rows of one phone keep their file order.)
    let mut order: Vec<usize> = (0..step.users.len()).collect();
    order.sort_by(|a, b| step.users[*a].1.phone.cmp(&step.users[*b].1.phone));
    let rows = order.iter().map(|i| &step.users[*i].1);
    // A dry run does the same work inside a savepoint and rolls it back, so what
    // it reports is exactly what the import would do.
    if step.dry_run {
        tx.execute_batch("SAVEPOINT dry_run").map_err(db)?;
    }
    let upserted = crate::users::upsert(tx, lease.org_id, rows, now)?;
    if step.dry_run {
        tx.execute_batch("ROLLBACK TO dry_run; RELEASE dry_run")
            .map_err(db)?;
    }
    for (i, outcome) in order.into_iter().zip(upserted) {
        let row = step.users[i].0;
        let (count, outcome) = match outcome {
            UpsertOutcome::Created => (&mut counts.created, RowOutcome::Created),
            UpsertOutcome::Updated => (&mut counts.updated, RowOutcome::Updated),
            UpsertOutcome::Unchanged => (&mut counts.unchanged, RowOutcome::Unchanged),
        };
        *count += 1;
        if let Some(slot) = outcomes.get_mut(row.wrapping_sub(step.first_row) as usize) {
            *slot = outcome;
        }
    }
    for e in &step.errors {
        if let Some(slot) = outcomes.get_mut(e.row.wrapping_sub(step.first_row) as usize) {
            *slot = RowOutcome::Failed;
        }
    }
    counts.failed += insert_row_notes(tx, lease, &step.errors, "error")?;
    insert_row_notes(tx, lease, &step.repairs, "repair")?;
    insert_outcomes(tx, lease, step.first_row, &outcomes)?;
    let saved = JobCheckpoint {
        counts,
        ..checkpoint.clone()
    };
    // Last: if the lease was lost this fails and the whole step rolls back.
    save_checkpoint(tx, lease, &saved)?;
    Ok(counts)
}
