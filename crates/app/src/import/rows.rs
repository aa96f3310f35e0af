//! Row reading: the rows of an upload parsed into users and row notes, in batches of
//! [`CHUNK_ROWS`], each with the position to resume from after it; a job joins
//! consecutive batches into steps of up to [`BATCH_ROWS`] and commits them one at a
//! time.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use steward_domain::{OrgId, PhoneNumber, Region, UserUpsert};
use steward_store::RowError;

use super::columns::{Columns, Parsed, parse_phone};
use super::input::{RowLimit, SAVE_AS_UTF8};
use super::scan::{Scan, phone_key, read_byte_record, row_of};
use crate::App;
use crate::directory::{MANAGER, ManagerProblem, resolve_manager};
use crate::lifecycle::deleted_phone_message;

/// One step of an import: a run of consecutive file rows, the valid ones to write and
/// the notes of the others. Rows of the run that are neither in `users` nor in
/// `errors` were blank.
#[derive(Clone, Debug, Default)]
pub(crate) struct ImportStep {
    /// Row numbers `first_row .. first_row + row_count` (see [`RowError::row`]).
    pub(crate) first_row: u64,
    pub(crate) row_count: u64,
    /// The valid rows, by row number, in file order.
    pub(crate) users: Vec<(u64, UserUpsert)>,
    /// Problems that skip their row.
    pub(crate) errors: Vec<RowError>,
    /// Cells that were repaired and imported (`reason` says what was done).
    pub(crate) repairs: Vec<RowError>,
}

/// Rows committed per step at most. Each commit rewrites every index page its rows
/// touch, so larger steps write less; but a step holds the org file's write lock, and
/// other writers (API requests) wait for it, so the job sizes its steps by time (see
/// `jobs::import_users`) within this bound. Readers never wait: the store runs in WAL
/// mode.
pub(crate) const BATCH_ROWS: usize = 50_000;

/// Rows parsed per batch: the grain of a step's size.
pub(crate) const CHUNK_ROWS: usize = 200;

/// Where a resumed run continues: the CSV reader's position after the last committed
/// row.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct ResumeAt {
    pub(crate) byte: u64,
    pub(crate) line: u64,
    pub(crate) record: u64,
}

/// One parsed batch, ready to commit.
pub(crate) struct Batch {
    pub(crate) step: ImportStep,
    pub(crate) read: u64,
    pub(crate) resume_at: ResumeAt,
}

impl Batch {
    /// Adds the batch read next: one step of both runs of rows.
    pub(crate) fn append(&mut self, next: Batch) {
        self.step.row_count += next.step.row_count;
        self.step.users.extend(next.step.users);
        self.step.errors.extend(next.step.errors);
        self.step.repairs.extend(next.step.repairs);
        self.read += next.read;
        self.resume_at = next.resume_at;
    }
}

/// Reads rows into batches and sends them, until the file ends or the receiver goes.
pub(crate) struct RowReader<'a> {
    pub(crate) app: &'a App,
    pub(crate) org: OrgId,
    pub(crate) region: Region,
    pub(crate) columns: &'a Columns,
    pub(crate) scan: &'a Scan,
    /// Managers already looked up in the store: whether they are users of the org.
    pub(crate) managers: HashMap<PhoneNumber, bool>,
    /// Phones of the org's deleted users not yet purged: their rows are refused.
    pub(crate) deleted: HashSet<PhoneNumber>,
}

impl RowReader<'_> {
    pub(crate) fn send_batches(
        mut self,
        mut reader: csv::Reader<RowLimit>,
        send: mpsc::SyncSender<Result<Batch, String>>,
    ) {
        let mut record = csv::ByteRecord::new();
        loop {
            let mut step = ImportStep {
                first_row: reader.position().record() + 1,
                ..ImportStep::default()
            };
            let mut read = 0;
            while read < CHUNK_ROWS as u64 {
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
            if self.deleted.contains(&user.phone) {
                errors.push(RowError {
                    row,
                    column: self.columns.phone.1.clone(),
                    value: phone_cell.to_owned(),
                    reason: format!("row {row}: {}", deleted_phone_message(&user.phone)),
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

    /// A manager must be a user of the org or a person of this file (the rule is
    /// [`resolve_manager`]); the store is asked once per manager.
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
        let region = self.region;
        let (app, org, scan, managers) = (self.app, self.org, self.scan, &mut self.managers);
        let resolved = resolve_manager(
            &mut user.attributes,
            |raw| parse_phone(raw, region).map(|(phone, _)| phone),
            |phone| {
                if scan.in_file(phone) {
                    return Ok::<_, String>(true);
                }
                if let Some(known) = managers.get(phone) {
                    return Ok(*known);
                }
                let known = app
                    .store
                    .get_user(org, phone)
                    .map_err(|e| {
                        tracing::error!(error = %e, "import could not look up a manager");
                        "the job could not read the store; see the server log".to_owned()
                    })?
                    .is_some();
                managers.insert(phone.clone(), known);
                Ok(known)
            },
        )?;
        let reason = match resolved {
            Ok(()) => return Ok(None),
            Err(ManagerProblem::Unknown { key, phone }) => format!(
                "{phone} ({key}) is not a user of this org nor a row of this file; add the manager first"
            ),
            Err(problem) => problem.to_string(),
        };
        Ok(Some(RowError {
            row,
            column: header.clone(),
            value: record.get(*i).unwrap_or("").to_owned(),
            reason,
        }))
    }
}
