//! The files an import leaves for people: the CSV template of the org, the original
//! upload, the error log, and the result file (the original rows with each row's
//! status and message).

use std::io::Write;

use steward_domain::text::{neutralize_formula, restore_formula};
use steward_domain::{AttributeDef, Job, JobId, JobKind, OrgId};
use steward_store::{BlobKey, BlobReader, OutcomeRun, RowError, RowOutcome};

use super::columns::{RESULT_HEADERS, normalize_header};
use super::enqueue::ImportUsers;
use super::input::{RowTooLong, csv_problem, open_csv};
use super::xlsx::{Format, XLSX_MEDIA_TYPE, format_of_blob};
use crate::{App, AppError, AppResult};

/// An import job of the org, or not found.
pub fn find_import(app: &App, org: OrgId, id: JobId) -> AppResult<Job> {
    app.store
        .get_job(org, id)?
        .filter(|job| job.kind == JobKind::ImportUsers)
        .ok_or(AppError::NotFound("import"))
}

/// A job of the org that reads an uploaded CSV row by row and keeps its original,
/// error log and result file (an import, a bulk user deletion), or not found.
pub fn find_row_job(app: &App, org: OrgId, id: JobId) -> AppResult<Job> {
    app.store
        .get_job(org, id)?
        .filter(|job| matches!(job.kind, JobKind::ImportUsers | JobKind::DeleteUsers))
        .ok_or(AppError::NotFound("job"))
}

/// The CSV template of the org: the header row an upload needs, from the attribute
/// schema, with a BOM so Excel reads it as UTF-8. It imports as is.
pub fn write_template_csv(app: &App, org: OrgId, out: &mut dyn Write) -> AppResult<()> {
    let defs = app.store.attribute_defs(org)?;
    out.write_all("\u{feff}".as_bytes())
        .map_err(write_problem)?;
    let mut writer = csv::Writer::from_writer(out);
    writer
        .write_record(template_header(&defs))
        .map_err(csv_write_problem)?;
    writer.flush().map_err(write_problem)?;
    Ok(())
}

/// The template's columns: `Phone Number`, `Name`, then each attribute's display
/// name in schema order. A users export has exactly these.
pub fn template_header(defs: &[AttributeDef]) -> Vec<&str> {
    ["Phone Number", "Name"]
        .into_iter()
        .chain(defs.iter().map(|d| d.name.as_str()))
        .collect()
}

/// The uploaded file as it was received, and its media type (a CSV or a workbook, by
/// its content).
pub fn open_original(
    app: &App,
    org: OrgId,
    id: JobId,
) -> AppResult<(Job, BlobReader, &'static str)> {
    let job = find_row_job(app, org, id)?;
    let payload = ImportUsers::of(&job)?;
    let key = BlobKey::parse(&payload.blob)?;
    let media_type = match format_of_blob(app, &key)? {
        Ok(Format::Xlsx) => XLSX_MEDIA_TYPE,
        _ => "text/csv; charset=utf-8",
    };
    Ok((job, app.blobs.open(&key)?, media_type))
}

/// Writes a job's error log as CSV: row, column, value, reason.
pub fn write_errors_csv(app: &App, org: OrgId, job: JobId, out: &mut dyn Write) -> AppResult<()> {
    find_row_job(app, org, job)?;
    write_notes_csv(app, org, job, out)
}

/// Writes the row errors any job of the org recorded as CSV: row, column, value,
/// reason (the caller has checked the job is one it may show).
pub fn write_notes_csv(app: &App, org: OrgId, job: JobId, out: &mut dyn Write) -> AppResult<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer
        .write_record(["Row", "Column", "Value", "Reason"])
        .map_err(csv_write_problem)?;
    let mut errors = NoteCursor::new(Box::new(move |after| {
        app.store.job_errors(org, job, after, NOTE_PAGE)
    }));
    while let Some(e) = errors.next()? {
        writer
            .write_record([
                e.row.to_string().as_str(),
                &neutralize_formula(&e.column),
                &neutralize_formula(&e.value),
                &neutralize_formula(&e.reason),
            ])
            .map_err(csv_write_problem)?;
    }
    writer.flush().map_err(write_problem)?;
    Ok(())
}

const NOTE_PAGE: u32 = 1000;

type NotePage<'a> = Box<dyn FnMut(u64) -> Result<Vec<RowError>, steward_store::StoreError> + 'a>;

/// The result file: the original rows with two columns added, `Import Status`
/// (created, updated, unchanged, failed, or what a dry run would do) and `Import
/// Message` (the row's errors, and the repairs made to it). Uploading it again, after
/// fixing the failed rows, imports them (the two columns are ignored).
pub fn write_result_csv(app: &App, org: OrgId, id: JobId, out: &mut dyn Write) -> AppResult<()> {
    let job = find_row_job(app, org, id)?;
    let payload = ImportUsers::of(&job)?;
    // The job read this file already: failing to read it back is ours, not the file's.
    let mut reader = open_csv(app, &payload.blob).map_err(AppError::Internal)?;
    let headers = reader.headers().map_err(read_problem)?.clone();
    // Columns of an earlier result file are replaced, not repeated.
    let keep: Vec<usize> = (0..headers.len())
        .filter(|i| {
            let h = normalize_header(&headers[*i]);
            !RESULT_HEADERS.iter().any(|r| normalize_header(r) == h)
        })
        .collect();
    out.write_all("\u{feff}".as_bytes())
        .map_err(write_problem)?;
    let mut writer = csv::Writer::from_writer(out);
    let header: Vec<&str> = keep
        .iter()
        .map(|i| headers[*i].trim_start_matches('\u{feff}'))
        .chain(RESULT_HEADERS)
        .collect();
    writer.write_record(&header).map_err(csv_write_problem)?;

    let mut outcomes = OutcomeCursor::new(app, org, id);
    let mut errors = NoteCursor::new(Box::new(move |after| {
        app.store.job_errors(org, id, after, NOTE_PAGE)
    }));
    let mut repairs = NoteCursor::new(Box::new(move |after| {
        app.store.job_repairs(org, id, after, NOTE_PAGE)
    }));
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(read_problem)? {
        let row = record.position().map_or(0, |p| p.record() + 1);
        let outcome = outcomes.at(row)?;
        let mut message: Vec<String> = errors
            .take(row)?
            .into_iter()
            .chain(repairs.take(row)?)
            .map(|n| {
                if n.column.is_empty() {
                    n.reason
                } else {
                    format!("{}: {}", n.column, n.reason)
                }
            })
            .collect();
        message.dedup();
        let status = status_word(job.kind, outcome, payload.options.dry_run);
        let message = message.join("; ");
        // Each cell as the import read it (a mark of an earlier neutralization taken
        // off), neutralized again: a result file goes round any number of times.
        let cells: Vec<std::borrow::Cow<'_, str>> = keep
            .iter()
            .map(|i| neutralize_formula(restore_formula(record.get(*i).unwrap_or(""))))
            .chain([status.into(), neutralize_formula(&message)])
            .collect();
        writer
            .write_record(cells.iter().map(|c| c.as_ref()))
            .map_err(csv_write_problem)?;
    }
    writer.flush().map_err(write_problem)?;
    Ok(())
}

fn status_word(kind: JobKind, outcome: Option<RowOutcome>, dry_run: bool) -> &'static str {
    if kind == JobKind::DeleteUsers {
        // A deletion records a deleted user as updated, one deleted before as unchanged.
        return match (outcome, dry_run) {
            (Some(RowOutcome::Updated), false) => "deleted",
            (Some(RowOutcome::Updated), true) => "would delete",
            (Some(RowOutcome::Unchanged), _) => "already deleted",
            (Some(RowOutcome::Failed), _) => "failed",
            (Some(RowOutcome::Created | RowOutcome::Blank), _) => "",
            (None, _) => "not processed",
        };
    }
    match (outcome, dry_run) {
        (Some(RowOutcome::Created), false) => "created",
        (Some(RowOutcome::Created), true) => "would create",
        (Some(RowOutcome::Updated), false) => "updated",
        (Some(RowOutcome::Updated), true) => "would update",
        (Some(RowOutcome::Unchanged), _) => "unchanged",
        (Some(RowOutcome::Failed), _) => "failed",
        (Some(RowOutcome::Blank), _) => "",
        (None, _) => "not imported",
    }
}

/// Walks a job's outcome runs in row order.
struct OutcomeCursor<'a> {
    app: &'a App,
    org: OrgId,
    job: JobId,
    runs: std::collections::VecDeque<OutcomeRun>,
    after: u64,
}

impl<'a> OutcomeCursor<'a> {
    fn new(app: &'a App, org: OrgId, job: JobId) -> Self {
        OutcomeCursor {
            app,
            org,
            job,
            runs: Default::default(),
            after: 0,
        }
    }

    /// The outcome of `row`; rows are asked for in increasing order.
    fn at(&mut self, row: u64) -> AppResult<Option<RowOutcome>> {
        loop {
            if let Some(run) = self.runs.front() {
                let end = run.first_row + run.outcomes.len() as u64;
                if row < run.first_row {
                    return Ok(None);
                }
                if row < end {
                    return Ok(Some(run.outcomes[(row - run.first_row) as usize]));
                }
                self.runs.pop_front();
                continue;
            }
            let page = self
                .app
                .store
                .job_outcomes(self.org, self.job, self.after, 100)?;
            let Some(last) = page.last() else {
                return Ok(None);
            };
            self.after = last.first_row;
            self.runs.extend(page);
        }
    }
}

/// Walks a job's row notes in row order, a page at a time.
struct NoteCursor<'a> {
    page_after: NotePage<'a>,
    notes: std::collections::VecDeque<RowError>,
    after: u64,
    done: bool,
}

impl<'a> NoteCursor<'a> {
    fn new(page_after: NotePage<'a>) -> Self {
        NoteCursor {
            page_after,
            notes: Default::default(),
            after: 0,
            done: false,
        }
    }

    fn peek(&mut self) -> AppResult<Option<&RowError>> {
        if self.notes.is_empty() && !self.done {
            let mut page = (self.page_after)(self.after)?;
            let Some(last_row) = page.last().map(|e| e.row) else {
                self.done = true;
                return Ok(None);
            };
            // A full page may end part-way through a row's notes: leave that row for
            // the next page, unless it fills the page alone.
            if page.len() == NOTE_PAGE as usize && page[0].row != last_row {
                page.retain(|e| e.row != last_row);
            }
            self.after = page.last().map_or(last_row, |e| e.row);
            self.notes.extend(page);
        }
        Ok(self.notes.front())
    }

    fn next(&mut self) -> AppResult<Option<RowError>> {
        self.peek()?;
        Ok(self.notes.pop_front())
    }

    /// The notes of `row`; rows are asked for in increasing order.
    fn take(&mut self, row: u64) -> AppResult<Vec<RowError>> {
        let mut taken = Vec::new();
        while let Some(note) = self.peek()? {
            if note.row > row {
                break;
            }
            let note = self.notes.pop_front();
            taken.extend(note.filter(|n| n.row == row));
        }
        Ok(taken)
    }
}

/// A failure to read the stored upload back: what is wrong with its content is said
/// (409); an I/O failure underneath is an internal error (500, details in the log).
fn read_problem(e: csv::Error) -> AppError {
    match e.kind() {
        csv::ErrorKind::Io(io) if !io.get_ref().is_some_and(|inner| inner.is::<RowTooLong>()) => {
            AppError::Internal(format!("cannot read the stored upload: {e}"))
        }
        _ => AppError::Conflict(csv_problem(&e)),
    }
}

fn write_problem(e: std::io::Error) -> AppError {
    AppError::Conflict(format!("cannot write the file: {e}"))
}

fn csv_write_problem(e: csv::Error) -> AppError {
    AppError::Conflict(format!("cannot write the file: {e}"))
}
