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
//!
//! The import is split by what each part does: [`enqueue`] stores the upload and
//! queues the job; `input` opens the upload as CSV and sniffs its dialect; [`xlsx`]
//! reads an Excel workbook's first sheet into a CSV the rest reads like any upload; `columns`
//! maps headers to fields and reads a row; `scan` reads the whole file once before any
//! write; `rows` reads rows into steps; [`files`] writes the template, error log and
//! result file. The job that runs the steps is [`crate::jobs::import_users`].

mod columns;
mod enqueue;
pub mod files;
mod input;
pub(crate) mod rows;
pub(crate) mod scan;
pub mod xlsx;

pub use columns::{ColumnMapping, RESULT_HEADERS, normalize_header};
pub(crate) use columns::{Columns, phone_column};
pub use enqueue::{
    COUNTS, CREATED, FAILED, ImportOptions, ImportUsers, NewImport, UNCHANGED, UPDATED, enqueue,
    enqueue_as,
};
pub use files::{
    find_import, find_row_job, open_original, template_header, write_errors_csv, write_notes_csv,
    write_result_csv, write_template_csv,
};
pub use input::MAX_ROW_BYTES;
pub(crate) use input::{csv_problem, open_csv};
