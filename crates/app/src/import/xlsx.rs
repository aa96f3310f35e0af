//! Excel workbooks: an `.xlsx` upload, recognized by its content (a zip archive), is
//! read once, cell by cell, into a CSV blob beside the upload, and the import then
//! reads that CSV like any other: same header rules, same row checks, same resume
//! positions and result file.
//!
//! The first sheet is read. Its first filled row must be row 1 (the header). Rows keep
//! the numbers Excel shows: an empty row in the middle becomes an empty CSV row (it is
//! counted blank), empty rows at the end are dropped. Cells become the text a person
//! typed: whole numbers without `.0` and never in scientific notation (a phone Excel
//! turned into the number 919876543210 reads as `919876543210`), other numbers to 15
//! significant digits as Excel shows them, dates and times as the date-time attribute's
//! text (RFC 3339, UTC, to the millisecond), booleans as Yes or No, error cells as
//! their code (`#N/A`).
//!
//! Memory stays bounded: the sheet is streamed, and only the workbook's shared strings
//! (the text of its text cells) and styles are held, which is why a workbook whose
//! shared strings and styles unpack to more than [`Limits::xlsx_in_memory_bytes`]
//! (128 MiB), or whose parts together unpack to more than
//! [`Limits::xlsx_unpacked_bytes`] (4 GiB), is refused when it is uploaded (413), and by
//! the job if it gets one anyway.

use std::io::{BufReader, Read, Seek, Write};
use std::sync::mpsc;

use calamine::{DataRef, Reader, Xlsx};
use steward_domain::AttributeValue;
use steward_store::BlobKey;

use super::input::BlobFile;
use crate::limits::describe_bytes;
use crate::{App, AppError, AppResult, Limits};

/// The media type of an `.xlsx` workbook.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The parts of a workbook held in memory while its sheet is read.
const HELD_PARTS: [&str; 2] = ["xl/sharedStrings.xml", "xl/styles.xml"];

/// The first bytes of a zip archive (an `.xlsx` is one).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// The first bytes of an OLE compound file: an Excel 97-2003 `.xls`, or an `.xlsx`
/// saved with a password (encrypted).
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// What an upload is, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Xlsx,
}

pub(crate) fn format_of(head: &[u8]) -> Result<Format, String> {
    if head.starts_with(ZIP_MAGIC) {
        Ok(Format::Xlsx)
    } else if head.starts_with(OLE_MAGIC) {
        Err("the file is an Excel 97-2003 workbook (.xls) or a workbook saved with a password; in Excel use File > Save As > \"Excel Workbook (.xlsx)\" without a password, or \"CSV UTF-8 (Comma delimited)\", and upload that file".into())
    } else {
        Ok(Format::Csv)
    }
}

/// The format of a stored upload.
pub(crate) fn format_of_blob(app: &App, key: &BlobKey) -> AppResult<Result<Format, String>> {
    let mut head = Vec::with_capacity(OLE_MAGIC.len());
    app.blobs
        .open(key)?
        .take(OLE_MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| AppError::Internal(format!("cannot read the upload: {e}")))?;
    Ok(format_of(&head))
}

/// The key of the CSV a workbook upload is read into.
pub(crate) fn sheet_key(upload: &BlobKey) -> AppResult<BlobKey> {
    Ok(BlobKey::parse(&format!("{}.sheet.csv", upload.as_str()))?)
}

/// Refuses, when it is uploaded, a workbook that could not be read in bounded memory.
/// A workbook that is not readable at all is left to the job, which fails with the
/// reason like for any unreadable file.
pub(crate) fn check_size(app: &App, key: &BlobKey) -> AppResult<()> {
    match sizes(app, key) {
        Ok(Some(problem)) => Err(AppError::TooLarge(problem)),
        Ok(None) | Err(_) => Ok(()),
    }
}

/// A sentence if the workbook's parts are over the limits; an error if it is not a
/// readable zip archive.
fn sizes(app: &App, key: &BlobKey) -> Result<Option<String>, String> {
    let file = BlobFile::open(app, key).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(BufReader::with_capacity(64 << 10, file))
        .map_err(|e| unreadable(&e))?;
    let limits: &Limits = app.limits();
    let (mut unpacked, mut held) = (0u64, 0u64);
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| e.to_string())?;
        unpacked = unpacked.saturating_add(entry.size());
        let name = entry.name().map_err(|e| e.to_string())?;
        if HELD_PARTS.contains(&name.as_ref()) {
            held = held.saturating_add(entry.size());
        }
    }
    if held > limits.xlsx_in_memory_bytes {
        return Ok(Some(format!(
            "the workbook's text cells and styles unpack to {}, more than the {} an import holds in memory; save the sheet as CSV UTF-8 and upload that file",
            in_mib(held),
            describe_bytes(limits.xlsx_in_memory_bytes)
        )));
    }
    if unpacked > limits.xlsx_unpacked_bytes {
        return Ok(Some(format!(
            "the workbook unpacks to {}, more than the {} an import reads from a workbook; save the sheet as CSV UTF-8 and upload that file",
            in_mib(unpacked),
            describe_bytes(limits.xlsx_unpacked_bytes)
        )));
    }
    Ok(None)
}

/// A measured size in MiB, to a tenth.
fn in_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// Makes sure the CSV of a workbook upload exists, reading the first sheet into it
/// the first time. `Err(sentence)` when the workbook cannot be read.
pub(crate) fn ensure_sheet_csv(app: &App, upload: &BlobKey) -> Result<BlobKey, String> {
    let internal = |e: AppError| {
        tracing::error!(error = %e, "cannot read a workbook upload");
        "the upload could not be read; see the server log".to_owned()
    };
    let sheet = sheet_key(upload).map_err(internal)?;
    if app.blobs.size(&sheet).is_ok() {
        return Ok(sheet);
    }
    if let Some(problem) = sizes(app, upload)? {
        return Err(problem);
    }
    let file = BlobFile::open(app, upload).map_err(internal)?;
    let (send, chunks) = mpsc::sync_channel(4);
    std::thread::scope(|scope| {
        let converting = scope.spawn(move || {
            let mut out = ChunkWriter {
                buf: Vec::with_capacity(CHUNK),
                send: send.clone(),
            };
            let result = sheet_to_csv(BufReader::with_capacity(64 << 10, file), &mut out)
                .and_then(|()| out.flush().map_err(|e| e.to_string()));
            // Tell the reader how it ended: a store never keeps a sheet cut short.
            let _ = send.send(match &result {
                Ok(()) => Chunk::Done,
                Err(problem) => Chunk::Failed(problem.clone()),
            });
            result
        });
        let stored = app.blobs.put(
            &sheet,
            &mut ChunkReader {
                chunks,
                current: Vec::new(),
                at: 0,
            },
        );
        let converted = converting
            .join()
            .unwrap_or_else(|_| Err("the workbook could not be read".into()));
        match (converted, stored) {
            (Ok(()), Ok(_)) => Ok(sheet),
            // The store stopped reading first: its failure is the cause.
            (Err(problem), Err(e)) if problem.contains(READER_STOPPED) => Err(internal(e.into())),
            (Err(problem), _) => Err(problem),
            (Ok(()), Err(e)) => Err(internal(e.into())),
        }
    })
}

/// Writes the first sheet of a workbook as CSV (see the module's doc for the rules).
pub(crate) fn sheet_to_csv<R: Read + Seek>(file: R, out: &mut dyn Write) -> Result<(), String> {
    let mut workbook = Xlsx::new(file).map_err(|e| workbook_problem(&e))?;
    let first = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or("the workbook has no sheet")?;
    let mut cells = workbook
        .worksheet_cells_reader(&first)
        .map_err(|e| workbook_problem(&e))?;
    let mut writer = csv::Writer::from_writer(out);
    let mut rows = RowWriter {
        writer: &mut writer,
        width: None,
        next_row: 0,
    };
    let mut row: Vec<String> = Vec::new();
    let mut current = None;
    while let Some(cell) = cells.next_cell().map_err(|e| workbook_problem(&e))? {
        let (r, c) = cell.get_position();
        if current != Some(r) {
            if let Some(done) = current {
                rows.write(done, &mut row)?;
            }
            current = Some(r);
        }
        let text = cell_text(cell.get_value());
        if !text.is_empty() {
            let c = c as usize;
            if row.len() <= c {
                row.resize(c + 1, String::new());
            }
            row[c] = text;
        }
    }
    if let Some(done) = current {
        rows.write(done, &mut row)?;
    }
    if rows.width.is_none() {
        return Err(format!(
            "the first sheet ({first:?}) is empty: it needs a header row and one row per user"
        ));
    }
    writer.flush().map_err(|e| e.to_string())
}

/// Writes the rows of a sheet in order, keeping Excel's row numbers: a gap becomes
/// empty rows, so the CSV's row n is the sheet's row n.
struct RowWriter<'a, W: Write> {
    writer: &'a mut csv::Writer<W>,
    /// The header's width, once the header is written.
    width: Option<usize>,
    /// The sheet row (from 0) the next CSV row stands for.
    next_row: u32,
}

impl<W: Write> RowWriter<'_, W> {
    /// Writes sheet row `r` (from 0) and empties `cells`; a row with no text is not
    /// written (a later row writes it as an empty one, and at the end none is needed).
    fn write(&mut self, r: u32, cells: &mut Vec<String>) -> Result<(), String> {
        if cells.is_empty() {
            return Ok(());
        }
        let problem = |e: csv::Error| format!("the sheet could not be converted: {e}");
        let width = match self.width {
            Some(width) => width,
            None if r > 0 => {
                return Err(format!(
                    "the header row must be row 1 of the first sheet, but row 1 is empty and the first filled row is row {}; delete the rows above the header",
                    r + 1
                ));
            }
            None => {
                self.width = Some(cells.len());
                self.writer.write_record(cells.iter()).map_err(problem)?;
                self.next_row = 1;
                cells.clear();
                return Ok(());
            }
        };
        let empty = vec![""; width];
        while self.next_row < r {
            self.writer.write_record(&empty).map_err(problem)?;
            self.next_row += 1;
        }
        if cells.len() < width {
            cells.resize(width, String::new());
        }
        self.writer.write_record(cells.iter()).map_err(problem)?;
        self.next_row = r + 1;
        cells.clear();
        Ok(())
    }
}

/// A cell as the text a person typed (see the module's doc).
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => AttributeValue::YesNo(*b).to_text(),
        DataRef::DateTime(dt) => match dt.as_datetime() {
            // Read to the millisecond (Excel keeps a time as a fraction of a day).
            Some(naive) if !dt.is_duration() => AttributeValue::DateTime(naive.and_utc()).to_text(),
            _ => number_text(dt.as_f64()),
        },
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    }
}

/// A number as Excel shows it: whole numbers as digits (no `.0`, no exponent), others
/// to 15 significant digits.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    // 15 significant digits, as Excel keeps them; Display then gives the shortest text
    // of that value, never in scientific notation.
    format!("{f:.14e}").parse::<f64>().unwrap_or(f).to_string()
}

fn workbook_problem(e: &calamine::XlsxError) -> String {
    unreadable(e)
}

/// One sentence about a zip that is not a workbook we can read.
fn unreadable(e: &dyn std::fmt::Display) -> String {
    format!(
        "the file is a zip archive but not a readable Excel workbook (.xlsx): {e}; open it in Excel and save it as \"Excel Workbook (.xlsx)\" or \"CSV UTF-8 (Comma delimited)\""
    )
}

const CHUNK: usize = 64 << 10;

/// Why converting stopped when the store stopped taking the sheet.
const READER_STOPPED: &str = "the sheet's reader stopped";

enum Chunk {
    Data(Vec<u8>),
    Done,
    Failed(String),
}

/// The converting thread's side: CSV bytes sent in chunks.
struct ChunkWriter {
    buf: Vec<u8>,
    send: mpsc::SyncSender<Chunk>,
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.send
            .send(Chunk::Data(chunk))
            .map_err(|_| std::io::Error::other(READER_STOPPED))
    }
}

/// The store's side: reads the chunks, and fails (so nothing is stored) unless the
/// converting thread said it finished.
struct ChunkReader {
    chunks: mpsc::Receiver<Chunk>,
    current: Vec<u8>,
    at: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.chunks.recv() {
                Ok(Chunk::Data(data)) => {
                    self.current = data;
                    self.at = 0;
                }
                Ok(Chunk::Done) => return Ok(0),
                Ok(Chunk::Failed(problem)) => return Err(std::io::Error::other(problem)),
                Err(_) => return Err(std::io::Error::other("the sheet was not read to its end")),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(number_text(919876543210.0), "919876543210");
        assert_eq!(number_text(3.0), "3");
        assert_eq!(number_text(-42.0), "-42");
        assert_eq!(number_text(2.5), "2.5");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(1e20), "100000000000000000000");
    }

    #[test]
    fn a_zip_is_a_workbook_and_an_ole_file_is_refused_with_how_to_save() {
        assert_eq!(format_of(b"PK\x03\x04rest"), Ok(Format::Xlsx));
        assert_eq!(format_of(b"Phone,Name\n"), Ok(Format::Csv));
        assert!(format_of(OLE_MAGIC).unwrap_err().contains(".xlsx"));
    }
}
