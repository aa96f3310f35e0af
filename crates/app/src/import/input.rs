//! CSV input: an upload opened from the blob store as CSV (a workbook through the CSV
//! of its first sheet, see [`super::xlsx`]), its dialect sniffed from the header line
//! (comma, semicolon or tab; not UTF-16, not binary), and a row-length limit so a quote
//! that never closes fails the job instead of filling memory.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use steward_store::{BlobKey, BlobReader, BlobStore};

use super::xlsx::{Format, ensure_sheet_csv, format_of_blob};
use crate::{App, AppResult};

/// The longest row accepted. Longer means a quote that never closes swallowed the rest
/// of the file, or a file that is not a list of people.
pub const MAX_ROW_BYTES: u64 = 1 << 20;

pub(crate) const SAVE_AS_UTF8: &str =
    "in Excel use File > Save As > \"CSV UTF-8 (Comma delimited)\" and upload that file";

/// Opens an upload as CSV: checks it is text we can read, and picks its delimiter. A
/// workbook is read through the CSV of its first sheet, made the first time.
pub(crate) fn open_csv(app: &App, blob: &str) -> Result<csv::Reader<RowLimit>, String> {
    let upload = BlobKey::parse(blob).map_err(|e| e.to_string())?;
    let key = match format_of_blob(app, &upload).map_err(|e| e.to_string())?? {
        Format::Csv => upload,
        Format::Xlsx => ensure_sheet_csv(app, &upload)?,
    };
    let mut head = app.blobs.open(&key).map_err(|e| e.to_string())?;
    let delimiter = sniff_file(&mut head)?;
    let file = BlobFile::open(app, &key).map_err(|e| e.to_string())?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(RowLimit {
            file,
            row_start: Arc::new(AtomicU64::new(0)),
        }))
}

/// A blob read as a file that can seek: a blob is a stream, so a seek to another
/// offset opens the blob again there.
pub(crate) struct BlobFile {
    blobs: Arc<dyn BlobStore>,
    key: BlobKey,
    file: BlobReader,
    /// The offset of the next byte `file` gives.
    at: u64,
}

impl BlobFile {
    pub(crate) fn open(app: &App, key: &BlobKey) -> AppResult<BlobFile> {
        Ok(BlobFile {
            blobs: app.blobs.clone(),
            key: key.clone(),
            file: app.blobs.open(key)?,
            at: 0,
        })
    }
}

impl Read for BlobFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl Seek for BlobFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let out_of_range = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a seek before the start of the file",
            )
        };
        let at = match pos {
            SeekFrom::Start(at) => at,
            SeekFrom::Current(delta) => {
                self.at.checked_add_signed(delta).ok_or_else(out_of_range)?
            }
            SeekFrom::End(delta) => self
                .blobs
                .size(&self.key)
                .map_err(std::io::Error::other)?
                .checked_add_signed(delta)
                .ok_or_else(out_of_range)?,
        };
        if at != self.at {
            self.file = self
                .blobs
                .open_at(&self.key, at)
                .map_err(std::io::Error::other)?;
            self.at = at;
        }
        Ok(at)
    }
}

/// The blob under the CSV reader, refusing to read further when one row runs past
/// [`MAX_ROW_BYTES`], so a runaway quote fails the job instead of filling memory.
///
/// The CSV reader seeks (to read the rows again after the scan, and to resume at a
/// checkpoint).
pub(crate) struct RowLimit {
    file: BlobFile,
    /// The offset where the current row began.
    row_start: Arc<AtomicU64>,
}

impl RowLimit {
    /// Called after each record with the reader's byte position.
    pub(crate) fn row_ended(&self, at: u64) {
        self.row_start.store(at, Ordering::Relaxed);
    }
}

impl Read for RowLimit {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.file.at;
        if read - self.row_start.load(Ordering::Relaxed).min(read) > MAX_ROW_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                RowTooLong,
            ));
        }
        self.file.read(buf)
    }
}

impl Seek for RowLimit {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        if pos == SeekFrom::Current(0) {
            return Ok(self.file.at);
        }
        let at = self.file.seek(pos)?;
        self.row_start.store(at, Ordering::Relaxed);
        Ok(at)
    }
}

#[derive(Debug)]
pub(crate) struct RowTooLong;

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a row longer than {} MiB", MAX_ROW_BYTES >> 20)
    }
}

impl std::error::Error for RowTooLong {}

/// One sentence about a CSV reading problem.
pub(crate) fn csv_problem(e: &csv::Error) -> String {
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
pub(crate) fn sniff_file(file: &mut dyn Read) -> Result<u8, String> {
    let mut head = Vec::new();
    BufReader::new(file)
        .take(64 * 1024)
        .read_until(b'\n', &mut head)
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
