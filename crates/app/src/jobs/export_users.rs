//! The users export job: every user the filter matches, in phone order, as a CSV with
//! exactly the import template's columns (so the file imports again as all
//! unchanged) or as an Excel workbook with typed cells.
//!
//! CSV cells a spreadsheet would run as a formula are neutralized as in the import's
//! result files, and the importer reads them back to the original value. In the
//! workbook, phones are text cells (Excel never turns `+919876543210` into
//! `9.19877E+11`), numbers are numbers, date-times are date cells and yes/no are the
//! words `Yes` and `No`; no cell of it is a formula.
//!
//! The file is written whole to a temporary file, then published (see
//! [`crate::exports::publish`]): a run that stops part-way leaves nothing, and the
//! next run writes the file from the start.

use std::fs::File;
use std::io::{BufWriter, Write};

use steward_domain::text::neutralize_formula;
use steward_domain::{AttributeDef, AttributeType, AttributeValue, JobKind, JobStatus, User};
use steward_store::{JobCheckpoint, RowError};

use super::publish::publish;
use super::runner::{BackgroundJob, JobContext, JobStop, checkpoint_of};
use crate::directory::user_query;
use crate::export::{EXPORTED, ExportUsers, UsersFormat, WARNINGS, published};
use crate::import::template_header;

/// Users read per page of the store.
const PAGE: u32 = 5000;
/// The most rows an errors.csv lists; the count goes on past it.
const MAX_NOTES: usize = 10_000;
/// The rows of one Excel sheet, header included.
const XLSX_MAX_ROWS: u64 = 1_048_576;

impl BackgroundJob for ExportUsers {
    const KIND: JobKind = JobKind::ExportUsers;

    fn run(self, ctx: &JobContext<'_>) -> Result<JobCheckpoint, JobStop> {
        let job = ctx.job();
        let committed = checkpoint_of(job);
        if published(&committed) {
            return Ok(committed);
        }
        let fail = |message: String| JobStop::Failed {
            message,
            checkpoint: checkpoint_of(job),
        };
        let store = |e| JobStop::from_store(e, &committed);
        let defs = ctx.app.store.attribute_defs(job.org_id).map_err(store)?;
        // The schema may have changed since the export was asked for.
        let (mut query, _) = user_query(&defs, &self.filter)
            .map_err(|e| fail(format!("the export's filter no longer fits the org: {e}")))?;
        query.limit = PAGE;

        let mut file = tempfile::tempfile().map_err(|e| {
            tracing::error!(error = %e, "cannot create a temporary file for an export");
            fail("the export could not create its temporary file; see the server log".into())
        })?;
        let mut sheet: Box<dyn Sheet> = match self.format {
            UsersFormat::Csv => Box::new(CsvSheet::start(&file, &defs).map_err(&fail)?),
            UsersFormat::Xlsx => Box::new(XlsxSheet::start(&defs).map_err(&fail)?),
        };
        let mut progress = JobCheckpoint {
            counts: steward_domain::Counts::zero(&[EXPORTED, WARNINGS]),
            ..committed.clone()
        };
        progress.progress.done = 0;
        let mut notes = Vec::new();
        let mut row = 1u64;
        loop {
            ctx.check(&committed)?;
            let page = ctx
                .app
                .store
                .list_users(job.org_id, &query)
                .map_err(store)?;
            if row == 1 {
                progress.progress.total = page.total;
                if self.format == UsersFormat::Xlsx && page.total >= XLSX_MAX_ROWS {
                    return Err(fail(format!(
                        "{} users do not fit one Excel sheet (at most {}); export them as CSV, or filter them",
                        page.total,
                        XLSX_MAX_ROWS - 1
                    )));
                }
            }
            for user in &page.items {
                row += 1;
                sheet.row(row, user).map_err(&fail)?;
                let before = notes.len();
                check_reimport(&defs, user, row, &mut notes);
                if notes.len() > before {
                    progress.counts.add(WARNINGS, 1);
                }
                progress.counts.add(EXPORTED, 1);
            }
            progress.progress.done += page.items.len() as u64;
            ctx.app
                .store
                .checkpoint_job(ctx.lease(), &progress)
                .map_err(store)?;
            match page.next_cursor {
                Some(cursor) if !page.items.is_empty() => query.after = Some(cursor),
                _ => break,
            }
        }
        sheet.finish(&mut file).map_err(&fail)?;
        notes.truncate(MAX_NOTES);
        publish(
            ctx,
            &mut file,
            self.options.retention_days,
            &notes,
            progress,
        )
    }

    fn status_for(checkpoint: &JobCheckpoint) -> JobStatus {
        if checkpoint.counts.get(WARNINGS) > 0 {
            JobStatus::CompletedWithErrors
        } else {
            JobStatus::Completed
        }
    }
}

/// Notes a row that the import would refuse as it is: a mandatory attribute with no
/// value (the schema made it mandatory after the user was stored).
fn check_reimport(defs: &[AttributeDef], user: &User, row: u64, notes: &mut Vec<RowError>) {
    for def in defs.iter().filter(|d| d.mandatory) {
        if !user.attributes.contains_key(&def.key) && notes.len() < MAX_NOTES {
            notes.push(RowError {
                row,
                column: def.name.clone(),
                value: String::new(),
                reason: format!(
                    "{} is mandatory but {} has no value: fill it in before importing this row again",
                    def.name,
                    user.phone.as_str()
                ),
            });
        }
    }
}

/// A file of users being written, one row at a time.
trait Sheet {
    fn row(&mut self, row: u64, user: &User) -> Result<(), String>;
    /// Writes what is left into `file`.
    fn finish(self: Box<Self>, file: &mut File) -> Result<(), String>;
}

fn write_problem(e: impl std::fmt::Display) -> String {
    tracing::error!(error = %e, "cannot write an export file");
    "the export file could not be written; see the server log".into()
}

/// The CSV: a BOM (Excel then reads it as UTF-8), the template's header, and one row
/// per user with every cell neutralized.
struct CsvSheet {
    writer: csv::Writer<BufWriter<File>>,
    defs: Vec<AttributeDef>,
}

impl CsvSheet {
    /// Writes through its own handle on `file` (the same open file).
    fn start(file: &File, defs: &[AttributeDef]) -> Result<CsvSheet, String> {
        let file = file.try_clone().map_err(write_problem)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.write_all("\u{feff}".as_bytes())
            .map_err(write_problem)?;
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record(template_header(defs))
            .map_err(write_problem)?;
        Ok(CsvSheet {
            writer,
            defs: defs.to_vec(),
        })
    }
}

impl Sheet for CsvSheet {
    fn row(&mut self, _row: u64, user: &User) -> Result<(), String> {
        let attributes = self.defs.iter().map(|d| {
            user.attributes
                .get(&d.key)
                .map(AttributeValue::to_text)
                .unwrap_or_default()
        });
        for cell in [
            user.phone.as_str().to_owned(),
            user.name.as_str().to_owned(),
        ]
        .into_iter()
        .chain(attributes)
        {
            self.writer
                .write_field(neutralize_formula(&cell).as_bytes())
                .map_err(write_problem)?;
        }
        self.writer
            .write_record(None::<&[u8]>)
            .map_err(write_problem)
    }

    fn finish(self: Box<Self>, _file: &mut File) -> Result<(), String> {
        let mut out = self.writer.into_inner().map_err(write_problem)?;
        out.flush().map_err(write_problem)
    }
}

/// The workbook: one sheet in constant-memory mode (rows go to a temporary file as
/// they are written), the template's header in bold, typed cells.
struct XlsxSheet {
    workbook: rust_xlsxwriter::Workbook,
    defs: Vec<AttributeDef>,
    date: rust_xlsxwriter::Format,
}

fn xlsx_problem(e: rust_xlsxwriter::XlsxError) -> String {
    write_problem(e)
}

impl XlsxSheet {
    fn start(defs: &[AttributeDef]) -> Result<XlsxSheet, String> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_problem)?;
        sheet.set_name("Users").map_err(xlsx_problem)?;
        for (col, name) in template_header(defs).into_iter().enumerate() {
            sheet
                .write_string_with_format(0, col as u16, name, &bold)
                .map_err(xlsx_problem)?;
        }
        Ok(XlsxSheet {
            workbook,
            defs: defs.to_vec(),
            date: rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        })
    }
}

impl Sheet for XlsxSheet {
    fn row(&mut self, row: u64, user: &User) -> Result<(), String> {
        let r = u32::try_from(row - 1).map_err(|_| "too many rows for a sheet".to_owned())?;
        let sheet = self
            .workbook
            .worksheet_from_index(0)
            .map_err(xlsx_problem)?;
        sheet
            .write_string(r, 0, user.phone.as_str())
            .map_err(xlsx_problem)?;
        sheet
            .write_string(r, 1, user.name.as_str())
            .map_err(xlsx_problem)?;
        for (i, def) in self.defs.iter().enumerate() {
            let col = (i + 2) as u16;
            let Some(value) = user.attributes.get(&def.key) else {
                continue;
            };
            match (def.ty, value) {
                (AttributeType::Number, AttributeValue::Number(n)) => {
                    sheet.write_number(r, col, *n).map_err(xlsx_problem)?;
                }
                (AttributeType::DateTime, AttributeValue::DateTime(at)) => {
                    // Excel's serial date: days since 1899-12-30, to the millisecond. A
                    // date Excel cannot hold (before 1900) stays text.
                    let serial = 25_569.0 + at.timestamp_millis() as f64 / 86_400_000.0;
                    match rust_xlsxwriter::ExcelDateTime::from_serial_datetime(serial) {
                        Ok(cell) if serial >= 1.0 => sheet
                            .write_datetime_with_format(r, col, &cell, &self.date)
                            .map_err(xlsx_problem)?,
                        _ => sheet
                            .write_string(r, col, value.to_text())
                            .map_err(xlsx_problem)?,
                    };
                }
                // Text, and yes/no as the words Yes and No.
                (_, value) => {
                    sheet
                        .write_string(r, col, value.to_text())
                        .map_err(xlsx_problem)?;
                }
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, file: &mut File) -> Result<(), String> {
        self.workbook
            .save_to_writer(&mut *file)
            .map_err(xlsx_problem)
    }
}
