//! Bulk user import: a CSV file in the blob store, read by a background job in steps.
//!
//! A job first reads the whole file once (the scan): it counts the rows for progress,
//! finds a file that cannot be read (not UTF-8, an unclosed quote that runs on) before
//! a single row is written, and collects every phone so that a phone on two rows is
//! refused on both and a manager may be anyone in the file. Then one thread parses
//! batches of rows into domain values while the job's thread commits the previous
//! batch: the valid rows, the row errors, repairs and outcomes and the resume position
//! go into one store transaction. A run that crashes resumes from the last committed
//! position, so every row is applied once.
//!
//! Semantics: users are matched by normalized phone; a row equal to what is stored is
//! counted unchanged and not rewritten. An attribute column present in the file sets
//! the value, and an empty cell clears it; an attribute the file has no column for is
//! left as it is. A bad row is skipped with its reasons in the error log; the rest of
//! the file still imports. Problems with the file as a whole (empty, not UTF-8, no
//! phone or name column, unknown columns) fail the job before any row is written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use steward_domain::text::{neutralize_formula, restore_formula};
use steward_domain::{
    AttributeChanges, AttributeDef, AttributeValue, Counts, Job, JobId, JobKind, JobStatus, OrgId,
    PersonName, PhoneNumber, Progress, Region, UserSource, UserUpsert,
};
use steward_store::{BlobKey, ImportStep, JobCheckpoint, OutcomeRun, RowError, RowOutcome};

use crate::directory::MANAGER;
use crate::worker::{BackgroundJob, JobContext, JobStop, checkpoint_of};
use crate::{App, AppError, AppResult};

/// Rows committed per step. Each commit rewrites every index page its rows touch, so
/// larger steps write far less; a step still holds the write lock well under a second
/// (readers never wait: the store runs in WAL mode).
const BATCH_ROWS: usize = 50_000;

/// The longest row accepted. Longer means a quote that never closes swallowed the rest
/// of the file, or a file that is not a list of people.
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// Headers accepted for the phone column, normalized (see [`normalize_header`]).
const PHONE_HEADERS: &[&str] = &["phonenumber", "phone", "mobile", "mobilephone"];
const NAME_HEADERS: &[&str] = &["name"];

/// The columns a result file adds; they are ignored when it is uploaded again.
pub const RESULT_HEADERS: [&str; 2] = ["Import Status", "Import Message"];

const SAVE_AS_UTF8: &str =
    "in Excel use File > Save As > \"CSV UTF-8 (Comma delimited)\" and upload that file";

/// How to read the columns of one upload: which header goes to which field.
///
/// `columns` maps a header (matched like any header) to `phone`, `name`, `ignore`, or
/// an attribute's key or display name. Headers it does not name are matched as usual;
/// with `ignore_other_columns` they are skipped instead of refused when unknown. With
/// `skip_undefined_attributes`, a target attribute the org does not define is ignored
/// rather than an error (the built-in presets use it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    pub columns: BTreeMap<String, String>,
    #[serde(default)]
    pub ignore_other_columns: bool,
    #[serde(default)]
    pub skip_undefined_attributes: bool,
}

impl ColumnMapping {
    /// The names of the built-in mappings.
    pub const PRESETS: [&str; 1] = ["m365"];

    /// A built-in mapping by name: `m365` reads the Microsoft 365 admin center's "add
    /// multiple users" template (Mobile Phone, Display Name, and Job Title and
    /// Department where the org defines them; the rest ignored).
    pub fn preset(name: &str) -> Option<ColumnMapping> {
        match name {
            "m365" => Some(ColumnMapping {
                columns: [
                    ("Mobile Phone", "phone"),
                    ("Display Name", "name"),
                    ("Job Title", "job_title"),
                    ("Department", "department"),
                ]
                .into_iter()
                .map(|(h, t)| (h.to_owned(), t.to_owned()))
                .collect(),
                ignore_other_columns: true,
                skip_undefined_attributes: true,
            }),
            _ => None,
        }
    }

    /// A mapping written as JSON, e.g.
    /// `{"columns": {"Mobile": "phone", "Full name": "name", "Dept": "department",
    /// "Notes": "ignore"}, "ignore_other_columns": false}`.
    pub fn from_json(text: &str) -> AppResult<ColumnMapping> {
        serde_json::from_str(text).map_err(|e| {
            AppError::Invalid(vec![crate::FieldError::new(
                "mapping",
                format!("the column mapping is not valid: {e}"),
            )])
        })
    }

    /// A preset's name or a mapping's JSON text.
    pub fn named_or_json(text: &str) -> AppResult<ColumnMapping> {
        match ColumnMapping::preset(text.trim()) {
            Some(preset) => Ok(preset),
            None if text.trim_start().starts_with('{') => ColumnMapping::from_json(text),
            None => Err(AppError::Invalid(vec![crate::FieldError::new(
                "mapping",
                format!(
                    "there is no built-in mapping {:?}; use one of {} or a JSON mapping",
                    text.trim(),
                    ColumnMapping::PRESETS.join(", ")
                ),
            )])),
        }
    }
}

/// How an upload is to be imported.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Validate and count what would happen; write no user.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub mapping: Option<ColumnMapping>,
}

/// An upload to enqueue.
#[derive(Clone, Debug, Default)]
pub struct NewImport {
    pub file_name: String,
    pub created_by: String,
    pub options: ImportOptions,
    /// The same key with the same file gives back the first upload's job.
    pub idempotency_key: Option<String>,
}

/// The payload of an import job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportUsers {
    /// The uploaded file in the blob store.
    pub blob: String,
    /// The file's SHA-256, hex.
    #[serde(default)]
    pub sha256: String,
    #[serde(flatten)]
    pub options: ImportOptions,
}

impl ImportUsers {
    pub fn of(job: &Job) -> AppResult<ImportUsers> {
        serde_json::from_value(job.payload.clone()).map_err(|e| {
            AppError::Conflict(format!("the import's stored input is unreadable: {e}"))
        })
    }
}

/// Where a resumed run continues: the CSV reader's position after the last committed
/// row.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct ResumeAt {
    byte: u64,
    line: u64,
    record: u64,
}

/// Stores the upload and queues its import job. With an idempotency key already used
/// for the same file, gives back that job (and keeps no second copy); used for another
/// file, it is a conflict.
pub fn enqueue(app: &App, org: OrgId, new: NewImport, data: &mut dyn Read) -> AppResult<Job> {
    app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
    let id = JobId::new();
    let blob = format!("orgs/{org}/imports/{id}/original.csv");
    let key = BlobKey::parse(&blob)?;
    let mut hashing = HashingReader {
        inner: data,
        hash: Sha256::new(),
    };
    app.blobs.put(&key, &mut hashing)?;
    let sha256 = hex(&hashing.hash.finalize());
    let payload = ImportUsers {
        blob,
        sha256: sha256.clone(),
        options: new.options,
    };
    let job = Job {
        id,
        org_id: org,
        kind: JobKind::ImportUsers,
        status: JobStatus::Queued,
        file_name: Some(new.file_name),
        created_by: new.created_by,
        created_at: app.clock.now(),
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::default(),
        payload: serde_json::to_value(&payload).map_err(|e| AppError::Conflict(e.to_string()))?,
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    let Some(idempotency_key) = new.idempotency_key else {
        app.store.enqueue_job(&job)?;
        return Ok(job);
    };
    let held = app.store.enqueue_job_once(&job, &idempotency_key)?;
    if held.id == job.id {
        return Ok(job);
    }
    app.blobs.delete(&key)?;
    if ImportUsers::of(&held)?.sha256 == sha256 {
        Ok(held)
    } else {
        Err(AppError::Conflict(format!(
            "the Idempotency-Key {idempotency_key:?} was already used for another file (import {}); use a new key for a new upload",
            held.id
        )))
    }
}

struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    hash: Sha256,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One parsed batch, ready to commit.
struct Batch {
    step: ImportStep,
    read: u64,
    resume_at: ResumeAt,
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
        };
        let dry_run = self.options.dry_run;
        std::thread::scope(|scope| {
            // The parser runs one batch ahead of the commits, on the other core.
            let (send, batches) = mpsc::sync_channel::<Result<Batch, String>>(0);
            scope.spawn(move || rows.send_batches(reader, dry_run, send));
            for batch in batches {
                ctx.check(&committed)?;
                let batch = batch.map_err(&fail)?;
                let next = JobCheckpoint {
                    progress: Progress {
                        done: committed.progress.done + batch.read,
                        total: committed.progress.total,
                    },
                    counts: committed.counts,
                    state: Some(
                        serde_json::to_value(batch.resume_at).map_err(|e| fail(e.to_string()))?,
                    ),
                };
                let now = ctx.app.clock.now();
                let counts = ctx
                    .app
                    .store
                    .import_users_step(ctx.lease(), &batch.step, &next, now)
                    .map_err(|e| store_stop(e, &committed))?;
                committed = JobCheckpoint { counts, ..next };
            }
            Ok(committed)
        })
    }
}

/// What the scan learned about the whole file.
struct Scan {
    rows: u64,
    /// Every valid phone of the file as a number (its E.164 digits), sorted; kept only
    /// when the file has a manager column.
    phones: Vec<u64>,
    /// Phones on more than one row, with those rows.
    duplicates: HashMap<u64, Vec<u64>>,
}

impl Scan {
    fn in_file(&self, phone: &PhoneNumber) -> bool {
        self.phones.binary_search(&phone_key(phone)).is_ok()
    }
}

fn phone_key(phone: &PhoneNumber) -> u64 {
    // E.164 has at most 15 digits after the `+`, so it always fits.
    phone.as_str()[1..].parse().unwrap_or(0)
}

/// Reads every row once, before any is written: counts them, checks every row is
/// readable text, and collects the phones.
fn scan(
    reader: &mut csv::Reader<RowLimit>,
    columns: &Columns,
    region: Region,
) -> Result<Scan, String> {
    let data_start = reader.position().clone();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    let mut phones = Vec::new();
    while read_byte_record(reader, &mut record)? {
        rows += 1;
        if std::str::from_utf8(record.as_slice()).is_err() {
            return Err(format!(
                "row {} is not UTF-8 text; {SAVE_AS_UTF8}",
                row_of(&record)
            ));
        }
        if let Some(phone) = record
            .get(columns.phone.0)
            .and_then(|cell| parse_phone(std::str::from_utf8(cell).unwrap_or(""), region).ok())
        {
            phones.push(phone_key(&phone.0));
        }
    }
    phones.sort_unstable();
    let repeated: HashSet<u64> = phones
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    phones.dedup();
    if !columns.has_manager() {
        // Only the manager check needs them past this point: free the memory (8 bytes
        // a row) before the rows are read, so a file without managers imports in the
        // same memory whatever its size.
        phones = Vec::new();
    }
    let mut duplicates: HashMap<u64, Vec<u64>> = HashMap::new();
    if !repeated.is_empty() {
        reader.seek(data_start).map_err(|e| csv_problem(&e))?;
        while read_byte_record(reader, &mut record)? {
            let cell = record.get(columns.phone.0).unwrap_or(b"");
            if let Ok((phone, _)) = parse_phone(std::str::from_utf8(cell).unwrap_or(""), region) {
                let key = phone_key(&phone);
                if repeated.contains(&key) {
                    duplicates.entry(key).or_default().push(row_of(&record));
                }
            }
        }
    }
    Ok(Scan {
        rows,
        phones,
        duplicates,
    })
}

fn read_byte_record(
    reader: &mut csv::Reader<RowLimit>,
    record: &mut csv::ByteRecord,
) -> Result<bool, String> {
    let more = reader
        .read_byte_record(record)
        .map_err(|e| csv_problem(&e))?;
    reader.get_ref().row_ended(reader.position().byte());
    Ok(more)
}

/// The row number of a record: its 1-based line in the file when no cell spans lines,
/// counting the header as row 1.
fn row_of(record: &csv::ByteRecord) -> u64 {
    record.position().map_or(0, |p| p.record() + 1)
}

/// Reads rows into batches and sends them, until the file ends or the receiver goes.
struct RowReader<'a> {
    app: &'a App,
    org: OrgId,
    region: Region,
    columns: &'a Columns,
    scan: &'a Scan,
    /// Managers already looked up in the store: whether they are users of the org.
    managers: HashMap<PhoneNumber, bool>,
}

impl RowReader<'_> {
    fn send_batches(
        mut self,
        mut reader: csv::Reader<RowLimit>,
        dry_run: bool,
        send: mpsc::SyncSender<Result<Batch, String>>,
    ) {
        let mut record = csv::ByteRecord::new();
        loop {
            let mut step = ImportStep {
                first_row: reader.position().record() + 1,
                dry_run,
                ..ImportStep::default()
            };
            let mut read = 0;
            while read < BATCH_ROWS as u64 {
                match read_byte_record(&mut reader, &mut record) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(message) => {
                        let _ = send.send(Err(message));
                        return;
                    }
                }
                read += 1;
                let row = row_of(&record);
                match self.parse(&mut record, row) {
                    Ok(Parsed::User(user, repairs)) => {
                        step.users.push((row, user));
                        step.repairs.extend(repairs);
                    }
                    Ok(Parsed::Errors(errors)) => step.errors.extend(errors),
                    Ok(Parsed::Blank) => {}
                    Err(message) => {
                        let _ = send.send(Err(message));
                        return;
                    }
                }
            }
            if read == 0 {
                return;
            }
            step.row_count = read;
            let pos = reader.position();
            let resume_at = ResumeAt {
                byte: pos.byte(),
                line: pos.line(),
                record: pos.record(),
            };
            if send
                .send(Ok(Batch {
                    step,
                    read,
                    resume_at,
                }))
                .is_err()
            {
                return;
            }
        }
    }

    /// Parses one row; `bytes` is lent as the row's text and handed back for reuse.
    fn parse(&mut self, bytes: &mut csv::ByteRecord, row: u64) -> Result<Parsed, String> {
        let record = csv::StringRecord::from_byte_record(std::mem::take(bytes))
            .map_err(|_| format!("row {row} is not UTF-8 text; {SAVE_AS_UTF8}"))?;
        let parsed = self.parse_text(&record, row);
        *bytes = record.into_byte_record();
        parsed
    }

    fn parse_text(&mut self, record: &csv::StringRecord, row: u64) -> Result<Parsed, String> {
        let mut parsed = self.columns.parse(record, row, self.region);
        if let Parsed::User(user, _) = &mut parsed {
            let mut errors = Vec::new();
            let phone_cell = record.get(self.columns.phone.0).unwrap_or("");
            if let Some(rows) = self.scan.duplicates.get(&phone_key(&user.phone)) {
                let others: Vec<String> = rows
                    .iter()
                    .filter(|r| **r != row)
                    .map(u64::to_string)
                    .collect();
                errors.push(RowError {
                    row,
                    column: self.columns.phone.1.clone(),
                    value: phone_cell.to_owned(),
                    reason: format!(
                        "{} is also on row{} {} of this file; keep one row per person",
                        user.phone,
                        if others.len() > 1 { "s" } else { "" },
                        others.join(", ")
                    ),
                });
            }
            if let Some(error) = self.check_manager(user, record, row)? {
                errors.push(error);
            }
            if !errors.is_empty() {
                return Ok(Parsed::Errors(errors));
            }
        }
        Ok(parsed)
    }

    /// A manager must be a user of the org or a person of this file; the value is
    /// stored as their E.164 phone.
    fn check_manager(
        &mut self,
        user: &mut UserUpsert,
        record: &csv::StringRecord,
        row: u64,
    ) -> Result<Option<RowError>, String> {
        let Some((i, header, _)) = self
            .columns
            .attributes
            .iter()
            .find(|(_, _, def)| def.key.as_str() == MANAGER)
        else {
            return Ok(None);
        };
        let Some((key, Some(AttributeValue::String(raw)))) = user
            .attributes
            .iter_mut()
            .find(|(k, _)| k.as_str() == MANAGER)
        else {
            return Ok(None);
        };
        let error = |reason: String| RowError {
            row,
            column: header.clone(),
            value: record.get(*i).unwrap_or("").to_owned(),
            reason,
        };
        let phone = match parse_phone(raw, self.region) {
            Ok((phone, _)) => phone,
            Err(e) => {
                return Ok(Some(error(format!(
                    "the manager is given by phone number: {e}"
                ))));
            }
        };
        let known = if self.scan.in_file(&phone) {
            true
        } else if let Some(known) = self.managers.get(&phone) {
            *known
        } else {
            let known = self
                .app
                .store
                .get_user(self.org, &phone)
                .map_err(|e| {
                    tracing::error!(error = %e, "import could not look up a manager");
                    "the job could not read the store; see the server log".to_owned()
                })?
                .is_some();
            self.managers.insert(phone.clone(), known);
            known
        };
        if !known {
            return Ok(Some(error(format!(
                "{phone} ({key}) is not a user of this org nor a row of this file; add the manager first"
            ))));
        }
        *raw = phone.as_str().to_owned();
        Ok(None)
    }
}

/// Reads a phone cell, repairing what spreadsheets do to phone numbers.
fn parse_phone(
    raw: &str,
    region: Region,
) -> Result<(PhoneNumber, Vec<String>), steward_domain::PhoneError> {
    let (phone, repairs) = PhoneNumber::parse_repairing(raw, region)?;
    Ok((phone, repairs.iter().map(ToString::to_string).collect()))
}

/// Opens an upload as CSV: checks it is text we can read, and picks its delimiter.
fn open_csv(app: &App, blob: &str) -> Result<csv::Reader<RowLimit>, String> {
    let key = BlobKey::parse(blob).map_err(|e| e.to_string())?;
    let mut file = app.blobs.open(&key).map_err(|e| e.to_string())?;
    let delimiter = sniff_file(&mut file)?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(RowLimit::new(file)))
}

/// The file under the CSV reader, refusing to read further when one row runs past
/// [`MAX_ROW_BYTES`], so a runaway quote fails the job instead of filling memory.
struct RowLimit {
    file: File,
    /// Bytes handed to the reader so far, and the offset where the current row began.
    read: u64,
    row_start: Arc<AtomicU64>,
}

impl RowLimit {
    fn new(file: File) -> RowLimit {
        RowLimit {
            file,
            read: 0,
            row_start: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Called after each record with the reader's byte position.
    fn row_ended(&self, at: u64) {
        self.row_start.store(at, Ordering::Relaxed);
    }
}

impl Read for RowLimit {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read - self.row_start.load(Ordering::Relaxed).min(self.read) > MAX_ROW_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                RowTooLong,
            ));
        }
        let n = self.file.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl Seek for RowLimit {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let at = self.file.seek(pos)?;
        self.read = at;
        self.row_start.store(at, Ordering::Relaxed);
        Ok(at)
    }
}

#[derive(Debug)]
struct RowTooLong;

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a row longer than {} MiB", MAX_ROW_BYTES >> 20)
    }
}

impl std::error::Error for RowTooLong {}

/// One sentence about a CSV reading problem.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "row {} is not UTF-8 text; {SAVE_AS_UTF8}",
            pos.as_ref().map_or(0, |p| p.record() + 1)
        ),
        csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|e| e.is::<RowTooLong>()) => format!(
            "a row runs on for more than {} MiB; a cell probably opens a quote (\") that is never closed",
            MAX_ROW_BYTES >> 20
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
        return Err(format!(
            "the file is UTF-16 text (Excel's \"Unicode Text\"); {SAVE_AS_UTF8}"
        ));
    }
    if head.contains(&0) {
        return Err(format!(
            "the file is not text (it holds zero bytes); if it is a spreadsheet, {SAVE_AS_UTF8}"
        ));
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
    /// A valid row, with the repairs made to its cells.
    User(UserUpsert, Vec<RowError>),
    Errors(Vec<RowError>),
    Blank,
}

/// Where a column goes.
enum Target {
    Phone,
    Name,
    Attribute(AttributeDef),
    Ignore,
}

fn find_def<'a>(defs: &'a [AttributeDef], normalized: &str) -> Option<&'a AttributeDef> {
    defs.iter().find(|d| {
        normalize_header(&d.name) == normalized || normalize_header(d.key.as_str()) == normalized
    })
}

impl Columns {
    fn map(
        headers: &csv::StringRecord,
        defs: &[AttributeDef],
        mapping: Option<&ColumnMapping>,
    ) -> Result<Columns, String> {
        let mapped: HashMap<String, &String> = mapping
            .map(|m| {
                m.columns
                    .iter()
                    .map(|(header, target)| (normalize_header(header), target))
                    .collect()
            })
            .unwrap_or_default();
        let mut phone = None;
        let mut name = None;
        let mut attributes = Vec::new();
        let mut unknown = Vec::new();
        let mut seen = HashSet::new();
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
            let target = match mapped.get(&header) {
                Some(target) => match normalize_header(target).as_str() {
                    "phone" => Target::Phone,
                    "name" => Target::Name,
                    "ignore" => Target::Ignore,
                    other => match find_def(defs, other) {
                        Some(def) => Target::Attribute(def.clone()),
                        None if mapping.is_some_and(|m| m.skip_undefined_attributes) => {
                            Target::Ignore
                        }
                        None => {
                            return Err(format!(
                                "the column mapping sends {shown:?} to {target:?}, which is not phone, name, ignore or an attribute of this org"
                            ));
                        }
                    },
                },
                None if PHONE_HEADERS.contains(&header.as_str()) => Target::Phone,
                None if NAME_HEADERS.contains(&header.as_str()) => Target::Name,
                None if RESULT_HEADERS.iter().any(|h| normalize_header(h) == header) => {
                    Target::Ignore
                }
                None => match find_def(defs, &header) {
                    Some(def) => Target::Attribute(def.clone()),
                    None if mapping.is_some_and(|m| m.ignore_other_columns) => Target::Ignore,
                    None => {
                        unknown.push(shown);
                        continue;
                    }
                },
            };
            let twice = |what: &str| {
                format!(
                    "two columns hold the {what}: pick one with a column mapping, or remove the other"
                )
            };
            match target {
                Target::Phone if phone.is_some() => return Err(twice("phone number")),
                Target::Phone => phone = Some((i, shown)),
                Target::Name if name.is_some() => return Err(twice("name")),
                Target::Name => name = Some((i, shown)),
                Target::Attribute(def) => {
                    if attributes
                        .iter()
                        .any(|(_, _, d): &(_, _, AttributeDef)| d.key == def.key)
                    {
                        return Err(twice(&def.name));
                    }
                    attributes.push((i, shown, def));
                }
                Target::Ignore => {}
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
            let attributes = match &known[2..] {
                [] => "it has none".to_owned(),
                names => names.join(", "),
            };
            return Err(format!(
                "unknown column{} {}: the columns must be Phone Number, Name and the org's attributes ({attributes}); to skip columns, upload with a column mapping",
                if unknown.len() > 1 { "s" } else { "" },
                described.join(", "),
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

    fn has_manager(&self) -> bool {
        self.attributes
            .iter()
            .any(|(_, _, def)| def.key.as_str() == MANAGER)
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
        let cell = |i: usize| restore_formula(record.get(i).unwrap_or(""));
        // A `'+91...` this program wrote (a neutralized cell) reads back silently; the
        // phone repair handles any other apostrophe.
        let phone_raw = restore_formula(record.get(self.phone.0).unwrap_or(""));
        let mut repairs = Vec::new();
        let phone = match parse_phone(phone_raw, region) {
            Ok((phone, made)) => {
                repairs = made
                    .into_iter()
                    .map(|reason| RowError {
                        row,
                        column: self.phone.1.clone(),
                        value: phone_raw.to_owned(),
                        reason,
                    })
                    .collect();
                Some(phone)
            }
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
            (Some(phone), Some(name)) if errors.is_empty() => Parsed::User(
                UserUpsert {
                    phone,
                    name,
                    source: UserSource::Upload,
                    attributes,
                },
                repairs,
            ),
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

/// An import job of the org, or not found.
pub fn find_import(app: &App, org: OrgId, id: JobId) -> AppResult<Job> {
    app.store
        .get_job(org, id)?
        .filter(|job| job.kind == JobKind::ImportUsers)
        .ok_or(AppError::NotFound("import"))
}

/// The CSV template of the org: the header row an upload needs, from the attribute
/// schema, with a BOM so Excel reads it as UTF-8. It imports as is.
pub fn write_template_csv(app: &App, org: OrgId, out: &mut dyn Write) -> AppResult<()> {
    let defs = app.store.attribute_defs(org)?;
    out.write_all("\u{feff}".as_bytes())
        .map_err(write_problem)?;
    let mut writer = csv::Writer::from_writer(out);
    let header = ["Phone Number", "Name"]
        .into_iter()
        .chain(defs.iter().map(|d| d.name.as_str()));
    writer.write_record(header).map_err(csv_write_problem)?;
    writer.flush().map_err(write_problem)?;
    Ok(())
}

/// The uploaded file as it was received.
pub fn open_original(app: &App, org: OrgId, id: JobId) -> AppResult<(Job, File)> {
    let job = find_import(app, org, id)?;
    let payload = ImportUsers::of(&job)?;
    let file = app.blobs.open(&BlobKey::parse(&payload.blob)?)?;
    Ok((job, file))
}

/// Writes a job's error log as CSV: row, column, value, reason.
pub fn write_errors_csv(app: &App, org: OrgId, job: JobId, out: &mut dyn Write) -> AppResult<()> {
    find_import(app, org, job)?;
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
    let job = find_import(app, org, id)?;
    let payload = ImportUsers::of(&job)?;
    let mut reader = open_csv(app, &payload.blob).map_err(AppError::Conflict)?;
    let headers = reader
        .headers()
        .map_err(|e| AppError::Conflict(csv_problem(&e)))?
        .clone();
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
    while reader
        .read_record(&mut record)
        .map_err(|e| AppError::Conflict(csv_problem(&e)))?
    {
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
        let status = status_word(outcome, payload.options.dry_run);
        let message = message.join("; ");
        let cells: Vec<std::borrow::Cow<'_, str>> = keep
            .iter()
            .map(|i| neutralize_formula(record.get(*i).unwrap_or("")))
            .chain([status.into(), neutralize_formula(&message)])
            .collect();
        writer
            .write_record(cells.iter().map(|c| c.as_ref()))
            .map_err(csv_write_problem)?;
    }
    writer.flush().map_err(write_problem)?;
    Ok(())
}

fn status_word(outcome: Option<RowOutcome>, dry_run: bool) -> &'static str {
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

fn write_problem(e: std::io::Error) -> AppError {
    AppError::Conflict(format!("cannot write the file: {e}"))
}

fn csv_write_problem(e: csv::Error) -> AppError {
    AppError::Conflict(format!("cannot write the file: {e}"))
}
