//! Writing an archive: a reader thread turns the snapshot into CSV (and streams the
//! attachments' files), hashing each file as it goes; the calling thread deflates and
//! writes the zip. Between them a short queue of 1 MiB chunks bounds the memory.

use std::cell::Cell as Counter;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Timelike, Utc};
use sha2::{Digest, Sha256};
use steward_domain::text::neutralize_formula;
use steward_domain::{AttributeDef, AttributeType, AttributeValue, OrgId};
use steward_store::{
    ArchiveKind, BlobError, BlobKey, BlobStore, Cell, OrgSnapshot, RowFilter, StoreError, hex,
};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::{
    ATTACHMENTS_DIR, ArchiveScope, ArchiveStop, FORMAT_VERSION, MANIFEST_NAME, Manifest,
    ManifestFile, NotIncluded,
};
use crate::{App, AppError, AppResult};

/// The deflate level of the archive's files: the fastest, which on CSV gives a file
/// about a fifth larger than level 6 in a fraction of the time (see the export
/// benchmark).
pub const DEFLATE_LEVEL: i64 = 1;
/// The size of the chunks the reader hands to the writer.
const CHUNK: usize = 1 << 20;
/// How many chunks may wait between the two threads.
const QUEUE: usize = 4;
/// How often progress is reported, at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Each CSV starts with a byte-order mark, so spreadsheets read it as UTF-8.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// What the reader hands to the writer, in order.
enum Piece {
    /// A new file of the zip.
    Start {
        name: String,
        kind: Option<ArchiveKind>,
        deflate: bool,
    },
    /// The next bytes of the current file; `done` counts the rows and files read so far.
    Data { bytes: Vec<u8>, done: u64 },
    /// The current file is complete.
    End {
        rows: Option<u64>,
        bytes: u64,
        sha256: String,
    },
    /// A file that could not be included.
    Missing(NotIncluded),
}

/// Writes the whole archive (zip with `manifest.json` last) to `out`, from one
/// consistent snapshot of the org; calls `progress(done, total)` now and then (rows
/// and files) and stops with its error if it returns one; returns the manifest.
/// Another org's data never enters: the snapshot is of `org` alone. The caller
/// authorizes, and syncs `out` when it needs the file durable.
pub fn write_archive(
    app: &App,
    org: OrgId,
    scope: &ArchiveScope,
    out: &mut File,
    progress: &mut dyn FnMut(u64, u64) -> Result<(), ArchiveStop>,
) -> AppResult<Manifest> {
    scope.validate()?;
    let mut snapshot = app.store.open_snapshot(org).map_err(|e| match e {
        StoreError::NotFound => AppError::NotFound("org"),
        other => other.into(),
    })?;
    let snapshot_at = app.now();
    let filter = RowFilter {
        since: scope.since,
        until: scope.until,
        user: scope.user.clone(),
    };
    if scope.user.is_some() && snapshot.count(ArchiveKind::Users, &filter)? == 0 {
        return Err(AppError::NotFound("user"));
    }
    let defs = snapshot.attribute_defs()?;
    let kinds: Vec<ArchiveKind> = ArchiveKind::ALL
        .into_iter()
        .filter(|k| scope.kinds.contains(k))
        .collect();
    let with_files = scope.attachments && scope.kinds.contains(&ArchiveKind::Attachments);
    let mut total = 0;
    for kind in &kinds {
        total += snapshot.count(*kind, &filter)?;
    }
    if with_files {
        total += snapshot.count(ArchiveKind::Attachments, &filter)?;
    }

    let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 18, out));
    let stamp = zip_time(snapshot_at);
    let (files, missing) = std::thread::scope(|threads| {
        let (tx, rx) = sync_channel(QUEUE);
        let reader = Reader {
            tx,
            done: Counter::new(0),
            blobs: &*app.blobs,
        };
        let (kinds, filter, defs) = (&kinds, &filter, &defs);
        let reading = threads.spawn(move || {
            reader.run(&mut *snapshot, kinds, filter, defs, with_files)
            // The snapshot ends here, as soon as everything is read.
        });
        let written = write_pieces(rx, &mut zip, stamp, progress, total);
        let read = reading
            .join()
            .map_err(|_| AppError::Internal("the archive reader panicked".into()))?;
        // The writer's error comes first: when it stops, the reader only sees that.
        let written = written?;
        read?;
        Ok::<_, AppError>(written)
    })?;

    let mut not_included = left_out(scope);
    not_included.extend(missing);
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        org,
        scope: scope.clone(),
        generated_at: app.now(),
        snapshot_at,
        notes: notes(),
        files,
        not_included,
    };
    zip.start_file(MANIFEST_NAME, options(true, stamp))
        .map_err(zip_problem)?;
    serde_json::to_writer_pretty(&mut zip, &manifest)
        .map_err(|e| AppError::Internal(format!("cannot write the manifest: {e}")))?;
    zip.finish()
        .map_err(zip_problem)?
        .flush()
        .map_err(io_problem)?;
    Ok(manifest)
}

/// The reading side: one thread, holding the snapshot.
struct Reader<'a> {
    tx: SyncSender<Piece>,
    /// Rows and files read so far, for progress.
    done: Counter<u64>,
    blobs: &'a dyn BlobStore,
}

impl Reader<'_> {
    fn run(
        &self,
        snapshot: &mut dyn OrgSnapshot,
        kinds: &[ArchiveKind],
        filter: &RowFilter,
        defs: &[AttributeDef],
        with_files: bool,
    ) -> AppResult<()> {
        for kind in kinds {
            self.csv_file(snapshot, *kind, filter, defs)?;
        }
        if with_files {
            self.attachment_files(snapshot, filter)?;
        }
        Ok(())
    }

    fn send(&self, piece: Piece) -> Result<(), StoreError> {
        self.tx.send(piece).map_err(|_| stopped())
    }

    /// One kind's rows as a CSV file.
    fn csv_file(
        &self,
        snapshot: &mut dyn OrgSnapshot,
        kind: ArchiveKind,
        filter: &RowFilter,
        defs: &[AttributeDef],
    ) -> AppResult<()> {
        self.send(Piece::Start {
            name: format!("{}.csv", kind.as_str()),
            kind: Some(kind),
            deflate: true,
        })?;
        let mut sink = Chunks::new(self);
        sink.write_all(BOM).map_err(io_problem)?;
        let mut csv = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(sink);
        csv.write_record(header(kind, defs)).map_err(csv_problem)?;
        let mut scratch = String::new();
        let rows = snapshot.rows(kind, filter, &mut |cells| {
            write_row(&mut csv, kind, defs, cells, &mut scratch)
                .map_err(|e| StoreError::Backend(format!("cannot write a CSV row: {e}")))?;
            self.done.set(self.done.get() + 1);
            Ok(())
        })?;
        let sink = csv.into_inner().map_err(|e| io_problem(e.into_error()))?;
        let (bytes, sha256) = sink.finish()?;
        self.send(Piece::End {
            rows: Some(rows),
            bytes,
            sha256,
        })?;
        Ok(())
    }

    /// The attachments' files, each as `attachments/<id>/<file name>`.
    fn attachment_files(
        &self,
        snapshot: &mut dyn OrgSnapshot,
        filter: &RowFilter,
    ) -> AppResult<()> {
        snapshot.rows(ArchiveKind::Attachments, filter, &mut |cells| {
            let [
                Cell::Text(id),
                _,
                Cell::Text(file_name),
                Cell::Text(content_type),
                _,
                Cell::Text(blob_key),
                ..,
            ] = cells
            else {
                return Err(StoreError::Corrupt("an attachment row".into()));
            };
            let name = format!("{ATTACHMENTS_DIR}{id}/{}", safe_file_name(file_name));
            let opened = BlobKey::parse(blob_key).and_then(|key| self.blobs.open(&key));
            match opened {
                Ok(mut blob) => {
                    self.send(Piece::Start {
                        name: name.clone(),
                        kind: None,
                        deflate: compressible(content_type),
                    })?;
                    let mut sink = Chunks::new(self);
                    io::copy(&mut blob, &mut sink)
                        .map_err(|e| StoreError::Backend(format!("cannot read {name:?}: {e}")))?;
                    let (bytes, sha256) = sink.finish()?;
                    self.send(Piece::End {
                        rows: None,
                        bytes,
                        sha256,
                    })?;
                }
                Err(BlobError::NotFound(_) | BlobError::BadKey(_)) => {
                    self.send(Piece::Missing(NotIncluded {
                        what: name,
                        reason: "the file is missing from storage".into(),
                    }))?;
                }
                Err(e) => return Err(StoreError::Backend(e.to_string())),
            }
            self.done.set(self.done.get() + 1);
            Ok(())
        })?;
        Ok(())
    }
}

/// The reader's error when the writer has stopped (the writer says why).
fn stopped() -> StoreError {
    StoreError::Backend("the archive writer stopped".into())
}

/// Collects one file's bytes into chunks for the writer, hashing and counting them.
struct Chunks<'r, 'a> {
    reader: &'r Reader<'a>,
    buf: Vec<u8>,
    hash: Sha256,
    bytes: u64,
}

impl<'r, 'a> Chunks<'r, 'a> {
    fn new(reader: &'r Reader<'a>) -> Self {
        Chunks {
            reader,
            buf: Vec::with_capacity(CHUNK),
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    fn ship(&mut self) -> io::Result<()> {
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.hash.update(&bytes);
        self.bytes += bytes.len() as u64;
        let done = self.reader.done.get();
        self.reader
            .tx
            .send(Piece::Data { bytes, done })
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the archive writer stopped"))
    }

    /// Ships what is left; the file's length and SHA-256.
    fn finish(mut self) -> Result<(u64, String), StoreError> {
        if !self.buf.is_empty() {
            self.ship().map_err(|_| stopped())?;
        }
        Ok((self.bytes, hex(&self.hash.finalize())))
    }
}

impl Write for Chunks<'_, '_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.ship()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The writing side, on the calling thread: every piece into the zip, in order.
fn write_pieces<W: Write + io::Seek>(
    pieces: Receiver<Piece>,
    zip: &mut ZipWriter<W>,
    stamp: zip::DateTime,
    progress: &mut dyn FnMut(u64, u64) -> Result<(), ArchiveStop>,
    total: u64,
) -> AppResult<(Vec<ManifestFile>, Vec<NotIncluded>)> {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut current: Option<(String, Option<ArchiveKind>)> = None;
    let mut reported = Instant::now();
    progress(0, total).map_err(|stop| stop.0)?;
    for piece in pieces {
        match piece {
            Piece::Start {
                name,
                kind,
                deflate,
            } => {
                zip.start_file(name.as_str(), options(deflate, stamp))
                    .map_err(zip_problem)?;
                current = Some((name, kind));
            }
            Piece::Data { bytes, done } => {
                zip.write_all(&bytes).map_err(io_problem)?;
                if reported.elapsed() >= PROGRESS_EVERY {
                    progress(done.min(total), total).map_err(|stop| stop.0)?;
                    reported = Instant::now();
                }
            }
            Piece::End {
                rows,
                bytes,
                sha256,
            } => {
                let (name, kind) = current
                    .take()
                    .ok_or_else(|| AppError::Internal("a file ended that never began".into()))?;
                files.push(ManifestFile {
                    name,
                    kind,
                    rows,
                    bytes,
                    sha256,
                });
            }
            Piece::Missing(what) => missing.push(what),
        }
    }
    progress(total, total).map_err(|stop| stop.0)?;
    Ok((files, missing))
}

fn options(deflate: bool, stamp: zip::DateTime) -> SimpleFileOptions {
    let options = SimpleFileOptions::default()
        .last_modified_time(stamp)
        .unix_permissions(0o644)
        .large_file(true);
    if deflate {
        options
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
    } else {
        options.compression_method(CompressionMethod::Stored)
    }
}

/// The snapshot's time as a zip entry's time (which has two-second steps and no zone:
/// UTC here).
fn zip_time(at: DateTime<Utc>) -> zip::DateTime {
    let field = |v: u32| u8::try_from(v).unwrap_or(0);
    u16::try_from(at.year())
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                field(at.month()),
                field(at.day()),
                field(at.hour()),
                field(at.minute()),
                field(at.second()),
            )
            .ok()
        })
        .unwrap_or_default()
}

/// The header of a kind's file: the store's column names, but for the users, whose
/// file starts with the import template's columns (Phone Number, Name, each
/// attribute's display name) so it imports as is, then the rest.
fn header(kind: ArchiveKind, defs: &[AttributeDef]) -> Vec<String> {
    if kind != ArchiveKind::Users {
        return kind.columns().iter().map(|c| (*c).to_owned()).collect();
    }
    ["Phone Number", "Name"]
        .into_iter()
        .map(str::to_owned)
        .chain(defs.iter().map(|d| d.name.clone()))
        .chain(USER_TAIL.iter().map(|(name, _)| (*name).to_owned()))
        .collect()
}

/// The users file's columns after the attributes, with the store column each is.
const USER_TAIL: [(&str, usize); 6] = [
    ("Status", 3),
    ("Source", 4),
    ("Created At", 5),
    ("Updated At", 6),
    ("Deleted At", 7),
    ("User ID", 0),
];
/// Where the store's users rows have the phone, the name and the first attribute.
const USER_PHONE: usize = 1;
const USER_NAME: usize = 2;
const USER_ATTRIBUTES: usize = 8;

fn write_row<W: Write>(
    csv: &mut csv::Writer<W>,
    kind: ArchiveKind,
    defs: &[AttributeDef],
    cells: &[Cell<'_>],
    scratch: &mut String,
) -> csv::Result<()> {
    if kind == ArchiveKind::Users {
        let at = |i: usize| cells.get(i).copied().unwrap_or(Cell::Null);
        write_cell(csv, at(USER_PHONE), scratch)?;
        write_cell(csv, at(USER_NAME), scratch)?;
        for (i, def) in defs.iter().enumerate() {
            write_attribute(csv, def.ty, at(USER_ATTRIBUTES + i), scratch)?;
        }
        for (_, column) in USER_TAIL {
            write_cell(csv, at(column), scratch)?;
        }
    } else {
        for cell in cells {
            write_cell(csv, *cell, scratch)?;
        }
    }
    csv.write_record(None::<&[u8]>)
}

/// A cell as text; text a spreadsheet would run as a formula is neutralized as in
/// every file Steward writes for people.
fn write_cell<W: Write>(
    csv: &mut csv::Writer<W>,
    cell: Cell<'_>,
    scratch: &mut String,
) -> csv::Result<()> {
    match cell {
        Cell::Null => csv.write_field(""),
        Cell::Text(text) => csv.write_field(neutralize_formula(text).as_bytes()),
        Cell::Int(i) => {
            scratch.clear();
            let _ = write!(scratch, "{i}");
            csv.write_field(scratch.as_bytes())
        }
        Cell::Real(f) => {
            scratch.clear();
            let _ = write!(scratch, "{f}");
            csv.write_field(scratch.as_bytes())
        }
    }
}

/// An attribute's stored value as the import reads it back (Yes/No, plain numbers,
/// ISO dates).
fn write_attribute<W: Write>(
    csv: &mut csv::Writer<W>,
    ty: AttributeType,
    cell: Cell<'_>,
    scratch: &mut String,
) -> csv::Result<()> {
    match (ty, cell) {
        (AttributeType::YesNo, Cell::Int(i)) => {
            csv.write_field(AttributeValue::YesNo(i != 0).to_text().as_bytes())
        }
        (_, Cell::Real(f)) => csv.write_field(AttributeValue::Number(f).to_text().as_bytes()),
        (_, other) => write_cell(csv, other, scratch),
    }
}

/// A file name safe inside the zip: no folders, no control characters, not hidden.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.');
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Whether deflating a file of this type is worth it (media and archives are
/// compressed already, and are stored as they are).
fn compressible(content_type: &str) -> bool {
    let ty = content_type.trim().to_ascii_lowercase();
    !(ty.starts_with("image/") && ty != "image/svg+xml"
        || ty.starts_with("video/")
        || ty.starts_with("audio/")
        || matches!(
            ty.as_str(),
            "application/zip"
                | "application/gzip"
                | "application/pdf"
                | "application/x-7z-compressed"
        ))
}

/// What the scope leaves out, and why.
fn left_out(scope: &ArchiveScope) -> Vec<NotIncluded> {
    let mut out: Vec<NotIncluded> = ArchiveKind::ALL
        .into_iter()
        .filter(|k| !scope.kinds.contains(k))
        .map(|k| NotIncluded {
            what: k.as_str().to_owned(),
            reason: "not among the requested kinds".into(),
        })
        .collect();
    if scope.kinds.contains(&ArchiveKind::Attachments) && !scope.attachments {
        out.push(NotIncluded {
            what: ATTACHMENTS_DIR.to_owned(),
            reason: "the attachments' files were not requested; attachments.csv lists them".into(),
        });
    }
    if let Some(user) = &scope.user {
        out.push(NotIncluded {
            what: "rows about other people".into(),
            reason: format!(
                "the archive is limited to {user}: what they made and what is about them, with the groups and actions their rows need; other people in audit rows are shown as someone else"
            ),
        });
        if scope.kinds.contains(&ArchiveKind::Jobs) {
            out.push(NotIncluded {
                what: ArchiveKind::Jobs.as_str().to_owned(),
                reason: "the org's import and export history is about no one person".into(),
            });
        }
    }
    if scope.since.is_some() || scope.until.is_some() {
        let dated: Vec<&str> = ArchiveKind::ALL
            .into_iter()
            .filter(|k| k.dated() && scope.kinds.contains(k))
            .map(ArchiveKind::as_str)
            .collect();
        if !dated.is_empty() {
            let range = match (scope.since, scope.until) {
                (Some(s), Some(u)) => {
                    format!("before {} or from {} on", s.to_rfc3339(), u.to_rfc3339())
                }
                (Some(s), None) => format!("before {}", s.to_rfc3339()),
                (None, Some(u)) => format!("from {} on", u.to_rfc3339()),
                (None, None) => String::new(),
            };
            out.push(NotIncluded {
                what: format!("rows of {} made {range}", dated.join(", ")),
                reason: "outside the requested date range (people, the schema, groups and memberships are read whole)".into(),
            });
        }
    }
    out
}

fn notes() -> Vec<String> {
    vec![
        "Every CSV file shows the org's data as committed at snapshot_at, read in one transaction: a write committed after it is in no file.".into(),
        "jobs.csv: the org's jobs are kept apart from its data and were read right after snapshot_at; each job shows its state at that moment (the export writing this archive shows as running).".into(),
        "attachments/: an attachment's file never changes once stored; the files of the attachments listed in attachments.csv are read while the archive is written.".into(),
        "CSV files are UTF-8 with a byte-order mark; a cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) starts with an apostrophe; times are RFC 3339 in UTC.".into(),
    ]
}

fn io_problem(e: io::Error) -> AppError {
    AppError::Internal(format!("cannot write the archive: {e}"))
}

fn zip_problem(e: zip::result::ZipError) -> AppError {
    AppError::Internal(format!("cannot write the archive: {e}"))
}

fn csv_problem(e: csv::Error) -> AppError {
    AppError::Internal(format!("cannot write the archive: {e}"))
}
