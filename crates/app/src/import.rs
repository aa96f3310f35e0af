//! Bulk user import: a CSV file in the blob store, read by a background job in steps.
//!
//! Each step parses a batch of rows into domain values, then commits the valid rows,
//! the row errors and the resume position in one store transaction. A run that
//! crashes resumes from the last committed position, so every row is applied once.
//!
//! Semantics: users are matched by normalized phone; a row equal to what is stored is
//! counted unchanged and not rewritten. An attribute column present in the file sets
//! the value, and an empty cell clears it; an attribute the file has no column for is
//! left as it is. A bad row is skipped with its reasons in the error log; the rest of
//! the file still imports. Problems with the file as a whole (empty, not UTF-8, no
//! phone or name column, unknown columns) fail the job before any row is written.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};
use steward_domain::{
    AttributeChanges, AttributeDef, AttributeValue, Counts, Job, JobId, JobKind, JobStatus, OrgId,
    PersonName, PhoneNumber, Progress, Region, UserSource, UserUpsert,
};
use steward_store::{BlobKey, JobCheckpoint, RowError};

use crate::worker::{BackgroundJob, JobContext, JobStop, checkpoint_of};
use crate::{App, AppError, AppResult};

/// Rows committed per step: large enough that a step's fixed cost is small, small
/// enough that a step holds the write lock for only milliseconds.
const BATCH_ROWS: usize = 2000;

/// Headers accepted for the phone column, normalized (see [`normalize_header`]).
const PHONE_HEADERS: &[&str] = &["phonenumber", "phone", "mobile", "mobilephone"];
const NAME_HEADERS: &[&str] = &["name"];

/// The payload of an import job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportUsers {
    /// The uploaded file in the blob store.
    pub blob: String,
}

/// Where a resumed run continues: the CSV reader's position after the last committed
/// row.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct ResumeAt {
    byte: u64,
    line: u64,
    record: u64,
}

/// Stores the upload and queues its import job.
pub fn enqueue(
    app: &App,
    org: OrgId,
    file_name: &str,
    created_by: &str,
    data: &mut dyn Read,
) -> AppResult<Job> {
    app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
    let id = JobId::new();
    let blob = format!("orgs/{org}/imports/{id}/original.csv");
    let key = BlobKey::parse(&blob)?;
    app.blobs.put(&key, data)?;
    let job = Job {
        id,
        org_id: org,
        kind: JobKind::ImportUsers,
        status: JobStatus::Queued,
        file_name: Some(file_name.to_owned()),
        created_by: created_by.to_owned(),
        created_at: app.clock.now(),
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::default(),
        payload: serde_json::to_value(ImportUsers { blob })
            .map_err(|e| AppError::Conflict(e.to_string()))?,
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    app.store.enqueue_job(&job)?;
    Ok(job)
}

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
        let key = BlobKey::parse(&self.blob).map_err(|e| fail(e.to_string()))?;
        let mut file = ctx.app.blobs.open(&key).map_err(|e| fail(e.to_string()))?;

        let delimiter = sniff_file(&mut file).map_err(fail)?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(file);
        let headers = reader.headers().map_err(|e| fail(csv_problem(&e)))?.clone();
        let columns = Columns::map(&headers, &defs).map_err(fail)?;
        let data_start = reader.position().clone();

        match &committed.state {
            Some(state) => {
                let at: ResumeAt = serde_json::from_value(state.clone())
                    .map_err(|e| fail(format!("the job's resume position is unreadable: {e}")))?;
                let mut pos = csv::Position::new();
                pos.set_byte(at.byte)
                    .set_line(at.line)
                    .set_record(at.record);
                reader.seek(pos).map_err(|e| fail(csv_problem(&e)))?;
            }
            None => {
                // A first pass counts the rows for progress, and finds a file that is
                // not UTF-8 before a single row is written.
                committed.progress.total = count_rows(&mut reader).map_err(fail)?;
                reader.seek(data_start).map_err(|e| fail(csv_problem(&e)))?;
            }
        }

        let mut record = csv::StringRecord::new();
        loop {
            ctx.check(&committed)?;
            let mut rows = Vec::with_capacity(BATCH_ROWS);
            let mut errors = Vec::new();
            let mut read = 0;
            while read < BATCH_ROWS {
                let more = reader
                    .read_record(&mut record)
                    .map_err(|e| fail(csv_problem(&e)))?;
                if !more {
                    break;
                }
                read += 1;
                let row = record.position().map_or(0, |p| p.record() + 1);
                match columns.parse(&record, row, org.region) {
                    Parsed::User(user) => rows.push(user),
                    Parsed::Errors(mut row_errors) => errors.append(&mut row_errors),
                    Parsed::Blank => {}
                }
            }
            if read == 0 {
                return Ok(committed);
            }
            let pos = reader.position();
            let at = ResumeAt {
                byte: pos.byte(),
                line: pos.line(),
                record: pos.record(),
            };
            let next = JobCheckpoint {
                progress: Progress {
                    done: committed.progress.done + read as u64,
                    total: committed.progress.total,
                },
                counts: committed.counts,
                state: Some(serde_json::to_value(at).map_err(|e| fail(e.to_string()))?),
            };
            let now = ctx.app.clock.now();
            let counts = ctx
                .app
                .store
                .import_users_step(ctx.lease(), &rows, &errors, &next, now)
                .map_err(|e| store_stop(e, &committed))?;
            committed = JobCheckpoint { counts, ..next };
        }
    }
}

/// Counts data rows to the end, checking every row is readable text.
fn count_rows<R: Read + Seek>(reader: &mut csv::Reader<R>) -> Result<u64, String> {
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_problem(&e))?
    {
        rows += 1;
        if std::str::from_utf8(record.as_slice()).is_err() {
            let row = record.position().map_or(0, |p| p.record() + 1);
            return Err(format!(
                "row {row} is not UTF-8 text; in Excel use File > Save As > \"CSV UTF-8 (Comma delimited)\" and upload that file"
            ));
        }
    }
    Ok(rows)
}

/// One sentence about a CSV reading problem.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "row {} is not UTF-8 text; in Excel use File > Save As > \"CSV UTF-8 (Comma delimited)\" and upload that file",
            pos.as_ref().map_or(0, |p| p.record() + 1)
        ),
        csv::ErrorKind::Io(io) => format!("the file could not be read: {io}"),
        _ => format!("the file is not valid CSV: {e}"),
    }
}

/// Checks the file is text we can read and picks its delimiter from the header line:
/// comma, semicolon (Excel in many European locales) or tab.
fn sniff_file(file: &mut File) -> Result<u8, String> {
    let mut head = Vec::new();
    BufReader::new(&mut *file)
        .take(64 * 1024)
        .read_until(b'\n', &mut head)
        .map_err(|e| format!("the file could not be read: {e}"))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| format!("the file could not be read: {e}"))?;
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err("the file is empty: it needs a header row and one row per user".into());
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err("the file is UTF-16 text; in Excel use File > Save As > \"CSV UTF-8 (Comma delimited)\" and upload that file".into());
    }
    let (mut commas, mut semicolons, mut tabs, mut quoted) = (0, 0, 0, false);
    for &b in &head {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    Ok(if semicolons > commas && semicolons >= tabs {
        b';'
    } else if tabs > commas {
        b'\t'
    } else {
        b','
    })
}

/// A header as matched: case, spaces, underscores and surrounding whitespace ignored.
pub fn normalize_header(raw: &str) -> String {
    raw.trim_start_matches('\u{feff}')
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which column holds what.
struct Columns {
    phone: (usize, String),
    name: (usize, String),
    attributes: Vec<(usize, String, AttributeDef)>,
    width: usize,
}

enum Parsed {
    User(UserUpsert),
    Errors(Vec<RowError>),
    Blank,
}

impl Columns {
    fn map(headers: &csv::StringRecord, defs: &[AttributeDef]) -> Result<Columns, String> {
        let mut phone = None;
        let mut name = None;
        let mut attributes = Vec::new();
        let mut unknown = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, raw) in headers.iter().enumerate() {
            let header = normalize_header(raw);
            let shown = raw.trim_start_matches('\u{feff}').trim().to_owned();
            if header.is_empty() {
                continue;
            }
            if !seen.insert(header.clone()) {
                return Err(format!(
                    "the column {shown:?} appears twice in the header row"
                ));
            }
            if PHONE_HEADERS.contains(&header.as_str()) {
                phone = Some((i, shown));
            } else if NAME_HEADERS.contains(&header.as_str()) {
                name = Some((i, shown));
            } else if let Some(def) = defs.iter().find(|d| {
                normalize_header(&d.name) == header || normalize_header(d.key.as_str()) == header
            }) {
                attributes.push((i, shown, def.clone()));
            } else {
                unknown.push(shown);
            }
        }
        if !unknown.is_empty() {
            let known: Vec<String> = ["Phone Number", "Name"]
                .into_iter()
                .map(str::to_owned)
                .chain(defs.iter().map(|d| d.name.clone()))
                .collect();
            let described: Vec<String> = unknown
                .iter()
                .map(|u| match closest(u, &known) {
                    Some(k) => format!("{u:?} (did you mean {k:?}?)"),
                    None => format!("{u:?}"),
                })
                .collect();
            return Err(format!(
                "unknown column{} {}: the columns must be Phone Number, Name and the org's attributes ({})",
                if unknown.len() > 1 { "s" } else { "" },
                described.join(", "),
                known[2..].join(", ")
            ));
        }
        let phone = phone.ok_or(
            "the file has no Phone Number column (also accepted: Phone, Mobile, Mobile Phone)",
        )?;
        let name = name.ok_or("the file has no Name column")?;
        Ok(Columns {
            phone,
            name,
            attributes,
            width: headers.len(),
        })
    }

    fn parse(&self, record: &csv::StringRecord, row: u64, region: Region) -> Parsed {
        if record.iter().all(|cell| cell.trim().is_empty()) {
            return Parsed::Blank;
        }
        let mut errors = Vec::new();
        let mut error = |column: &str, value: &str, reason: String| {
            errors.push(RowError {
                row,
                column: column.to_owned(),
                value: value.to_owned(),
                reason,
            });
        };
        if record.len() != self.width {
            error(
                "",
                "",
                format!(
                    "the row has {} cells but the header has {}",
                    record.len(),
                    self.width
                ),
            );
        }
        let cell = |i: usize| record.get(i).unwrap_or("");
        let phone_raw = cell(self.phone.0);
        let phone = match PhoneNumber::parse(phone_raw, region) {
            Ok(p) => Some(p),
            Err(e) => {
                error(&self.phone.1, phone_raw, e.to_string());
                None
            }
        };
        let name_raw = cell(self.name.0);
        let name = match PersonName::parse(name_raw) {
            Ok(n) => Some(n),
            Err(e) => {
                error(&self.name.1, name_raw, e.to_string());
                None
            }
        };
        let mut attributes = AttributeChanges::new();
        for (i, header, def) in &self.attributes {
            let raw = cell(*i);
            match AttributeValue::parse(def.ty, raw) {
                Ok(None) if def.mandatory => {
                    error(header, raw, format!("{} is mandatory", def.name));
                }
                Ok(value) => {
                    attributes.insert(def.key.clone(), value);
                }
                Err(e) => error(header, raw, e.to_string()),
            }
        }
        match (phone, name) {
            (Some(phone), Some(name)) if errors.is_empty() => Parsed::User(UserUpsert {
                phone,
                name,
                source: UserSource::Upload,
                attributes,
            }),
            _ => Parsed::Errors(errors),
        }
    }
}

/// The known header closest to an unknown one, if it is close enough to be a typo.
fn closest<'a>(unknown: &str, known: &'a [String]) -> Option<&'a String> {
    let u = normalize_header(unknown);
    known
        .iter()
        .map(|k| (strsim::normalized_levenshtein(&u, &normalize_header(k)), k))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// Writes a job's error log as CSV: row, column, value, reason.
pub fn write_errors_csv(
    app: &App,
    org: OrgId,
    job: JobId,
    out: &mut dyn std::io::Write,
) -> AppResult<()> {
    app.store
        .get_job(org, job)?
        .ok_or(AppError::NotFound("job"))?;
    let mut writer = csv::Writer::from_writer(out);
    let io = |e: csv::Error| AppError::Conflict(format!("cannot write the error log: {e}"));
    writer
        .write_record(["Row", "Column", "Value", "Reason"])
        .map_err(io)?;
    const PAGE: u32 = 1000;
    let mut after = 0;
    loop {
        let mut page = app.store.job_errors(org, job, after, PAGE)?;
        let Some(last_row) = page.last().map(|e| e.row) else {
            break;
        };
        // A full page may end part-way through a row's errors: leave that row for the
        // next page, unless it fills the page alone.
        if page.len() == PAGE as usize && page[0].row != last_row {
            page.retain(|e| e.row != last_row);
        }
        after = page.last().map_or(last_row, |e| e.row);
        for e in &page {
            writer
                .write_record([&e.row.to_string(), &e.column, &e.value, &e.reason])
                .map_err(io)?;
        }
    }
    writer
        .flush()
        .map_err(|e| AppError::Conflict(format!("cannot write the error log: {e}")))?;
    Ok(())
}
