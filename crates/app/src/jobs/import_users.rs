//! The import job: reads an upload in steps and commits each step's users, row notes
//! and outcomes with its checkpoint; a run that stops resumes from the last committed
//! step, so every row is applied once. Reading the file is [`crate::import`]'s; this
//! module runs the steps and does the accounting (phone order, counts per outcome, dry
//! runs), so no store backend has to.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use steward_domain::{JobKind, JobStatus, Progress, UpsertOutcome, UserUpsert};
use steward_store::{JobCheckpoint, NoteKind, OutcomeRun, RowOutcome, StoreResult};

use super::runner::{BackgroundJob, JobContext, JobStop, checkpoint_of};
use crate::import::rows::{BATCH_ROWS, Batch, CHUNK_ROWS, ImportStep, ResumeAt, RowReader};
use crate::import::scan::scan;
use crate::import::{
    CREATED, Columns, FAILED, ImportUsers, UNCHANGED, UPDATED, csv_problem, open_csv,
};

impl BackgroundJob for ImportUsers {
    const KIND: JobKind = JobKind::ImportUsers;

    fn run(self, ctx: &JobContext<'_>) -> Result<JobCheckpoint, JobStop> {
        let job = ctx.job();
        let mut committed = checkpoint_of(job);
        let fail = |message: String| JobStop::Failed {
            message,
            checkpoint: checkpoint_of(job),
        };
        let store_stop = |e, cp: &JobCheckpoint| JobStop::from_store(e, cp);
        let dry_run = self.options.dry_run;

        let org = ctx
            .app
            .store
            .get_org(job.org_id)
            .map_err(|e| store_stop(e, &committed))?
            .ok_or_else(|| fail("the org no longer exists".into()))?;
        let defs = ctx
            .app
            .store
            .attribute_defs(org.id)
            .map_err(|e| store_stop(e, &committed))?;
        let mut reader = open_csv(ctx.app, &self.blob).map_err(&fail)?;
        let headers = reader.headers().map_err(|e| fail(csv_problem(&e)))?.clone();
        let columns =
            Columns::map(&headers, &defs, self.options.mapping.as_ref()).map_err(&fail)?;
        let data_start = reader.position().clone();
        let scan = scan(&mut reader, &columns, org.region).map_err(&fail)?;
        committed.progress.total = scan.rows;

        let start = match &committed.state {
            Some(state) => {
                let at: ResumeAt = serde_json::from_value(state.clone())
                    .map_err(|e| fail(format!("the job's resume position is unreadable: {e}")))?;
                let mut pos = csv::Position::new();
                pos.set_byte(at.byte)
                    .set_line(at.line)
                    .set_record(at.record);
                pos
            }
            None => data_start,
        };
        reader.seek(start).map_err(|e| fail(csv_problem(&e)))?;

        let rows = RowReader {
            app: ctx.app,
            org: org.id,
            region: org.region,
            columns: &columns,
            scan: &scan,
            managers: HashMap::new(),
            deleted: ctx
                .app
                .store
                .deleted_users(org.id)
                .map_err(|e| store_stop(e, &committed))?
                .into_iter()
                .map(|d| d.user.phone)
                .collect(),
        };
        // A first import into an empty org starts with a step large enough for the
        // store's bulk path (it defers the secondary indexes); others start small.
        let empty = ctx
            .app
            .store
            .count_users(org.id)
            .map_err(|e| store_stop(e, &committed))?
            == 0;
        let mut pace = Pace::new(if empty { BATCH_ROWS } else { CHUNK_ROWS });
        std::thread::scope(|scope| {
            // The parser runs up to a step ahead of the commits, on the other core.
            let (send, batches) =
                mpsc::sync_channel::<Result<Batch, String>>(BATCH_ROWS / CHUNK_ROWS);
            scope.spawn(move || rows.send_batches(reader, send));
            while let Ok(batch) = batches.recv() {
                ctx.check(&committed)?;
                let mut batch = batch.map_err(&fail)?;
                // Join the batches parsed since into one step of the pace's size; a
                // batch that failed to parse ends the job after the rows before it.
                let mut unreadable = None;
                while batch.read < pace.rows {
                    match batches.recv() {
                        Ok(Ok(more)) => batch.append(more),
                        Ok(Err(message)) => {
                            unreadable = Some(message);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let next = JobCheckpoint {
                    progress: Progress {
                        done: committed.progress.done + batch.read,
                        total: committed.progress.total,
                    },
                    counts: committed.counts.clone(),
                    state: Some(
                        serde_json::to_value(batch.resume_at).map_err(|e| fail(e.to_string()))?,
                    ),
                };
                let (saved, worked, waited) = commit_step(ctx, &batch.step, dry_run, next)
                    .map_err(|e| store_stop(e, &committed))?;
                committed = saved;
                pace.took(batch.read, worked, waited);
                if let Some(message) = unreadable {
                    return Err(fail(message));
                }
            }
            Ok(committed)
        })
    }

    fn status_for(checkpoint: &JobCheckpoint) -> JobStatus {
        if checkpoint.counts.get(FAILED) > 0 {
            JobStatus::CompletedWithErrors
        } else {
            JobStatus::Completed
        }
    }
}

/// How long a step may hold the org file's write lock while other writers (API
/// requests) wait their turn: the store lets each writer in, in arrival order, between
/// the job's steps, so a write waits for at most about one step. Shorter steps rewrite
/// more index pages per row, so when no one waited for the last step the job takes
/// [`LONG_STEP`]s. (Measured at 100k rows with 8 clients: 40 ms / 100 ms steps made the
/// import 4.9 times slower than alone for write p99 344 ms; 100 ms / 1 s, 3.2 times for
/// 533 ms.)
const SHORT_STEP: Duration = Duration::from_millis(100);
const LONG_STEP: Duration = Duration::from_millis(1000);

/// A job that waited this long for its turn to write found other writers before it.
const CONTENDED: Duration = Duration::from_millis(2);

/// The size of the next step, in rows: what the last step committed scaled to the time
/// a step may take, between [`CHUNK_ROWS`] and [`BATCH_ROWS`].
struct Pace {
    rows: u64,
}

impl Pace {
    fn new(first: usize) -> Pace {
        Pace { rows: first as u64 }
    }

    /// Learns from a step of `rows` whose transaction worked for `worked`, after the
    /// job waited `waited` for its turn: the next step aims at [`SHORT_STEP`] when
    /// others wrote in between, else at [`LONG_STEP`], growing at most twofold.
    fn took(&mut self, rows: u64, worked: Duration, waited: Duration) {
        let aim = if waited >= CONTENDED {
            SHORT_STEP
        } else {
            LONG_STEP
        };
        let fit = rows as f64 * aim.as_secs_f64() / worked.as_secs_f64().max(1e-6);
        self.rows = (fit as u64)
            .min(rows.max(CHUNK_ROWS as u64) * 2)
            .clamp(CHUNK_ROWS as u64, BATCH_ROWS as u64);
    }
}

/// Commits one step in one store transaction: writes the valid rows (or, in a dry
/// run, works out what writing them would do), records each row's outcome and notes,
/// and saves `next` with this step's counts added. `next` holds the counts before the
/// step. Answers the saved checkpoint, how long the transaction's work took and how
/// long the job waited for the transaction to begin.
fn commit_step(
    ctx: &JobContext<'_>,
    step: &ImportStep,
    dry_run: bool,
    next: JobCheckpoint,
) -> StoreResult<(JobCheckpoint, Duration, Duration)> {
    // Written in phone order: the phone-keyed indexes then take the rows in one sweep
    // instead of at random pages, which makes a step several times cheaper. (Stable, so
    // rows of one phone keep their file order.)
    let mut order: Vec<usize> = (0..step.users.len()).collect();
    order.sort_by(|a, b| step.users[*a].1.phone.cmp(&step.users[*b].1.phone));
    let rows: Vec<&UserUpsert> = order.iter().map(|i| &step.users[*i].1).collect();
    let now = ctx.app.clock.now();
    let mut worked = Duration::ZERO;
    let mut waited = Duration::ZERO;
    let called = Instant::now();
    let saved = ctx.app.store.job_step(ctx.lease(), &mut |tx| {
        let began = Instant::now();
        waited = began - called;
        // A dry run asks what each row would do and writes nothing; the file's phones
        // are distinct (a phone on two rows fails both), so the answer is exactly what
        // the import would do.
        let done = if dry_run {
            tx.classify_users(&rows)?
        } else {
            tx.upsert_users(&rows, now)?
        };
        let mut checkpoint = next.clone();
        let mut outcomes = vec![RowOutcome::Blank; step.row_count as usize];
        let mut mark = |row: u64, outcome| {
            if let Some(slot) = outcomes.get_mut(row.wrapping_sub(step.first_row) as usize) {
                *slot = outcome;
            }
        };
        for (i, outcome) in order.iter().zip(done) {
            let (name, outcome) = match outcome {
                UpsertOutcome::Created => (CREATED, RowOutcome::Created),
                UpsertOutcome::Updated => (UPDATED, RowOutcome::Updated),
                UpsertOutcome::Unchanged => (UNCHANGED, RowOutcome::Unchanged),
            };
            checkpoint.counts.add(name, 1);
            mark(step.users[*i].0, outcome);
        }
        let mut failed_rows = 0;
        let mut previous = None;
        for e in &step.errors {
            mark(e.row, RowOutcome::Failed);
            if previous != Some(e.row) {
                failed_rows += 1;
                previous = Some(e.row);
            }
        }
        checkpoint.counts.add(FAILED, failed_rows);
        tx.add_notes(NoteKind::Error, &step.errors)?;
        tx.add_notes(NoteKind::Repair, &step.repairs)?;
        tx.add_outcomes(&OutcomeRun {
            first_row: step.first_row,
            outcomes: outcomes.clone(),
        })?;
        worked = began.elapsed();
        Ok(checkpoint)
    })?;
    Ok((saved, worked, waited))
}
