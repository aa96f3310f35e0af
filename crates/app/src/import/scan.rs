//! The file scan: before any row is written, the whole file is read once to count its
//! rows, find rows that are not text, and collect every phone, so that a phone on two
//! rows is refused on both and a manager may be anyone in the file.

use std::collections::{HashMap, HashSet};

use steward_domain::{PhoneNumber, Region};

use super::columns::{Columns, parse_phone};
use super::input::{RowLimit, SAVE_AS_UTF8, csv_problem};

/// What the scan learned about the whole file.
pub(crate) struct Scan {
    pub(crate) rows: u64,
    /// Every valid phone of the file as a number (its E.164 digits), sorted; kept only
    /// when the file has a manager column.
    phones: Vec<u64>,
    /// Phones on more than one row, with those rows.
    pub(crate) duplicates: HashMap<u64, Vec<u64>>,
}

impl Scan {
    pub(crate) fn in_file(&self, phone: &PhoneNumber) -> bool {
        self.phones.binary_search(&phone_key(phone)).is_ok()
    }
}

pub(crate) fn phone_key(phone: &PhoneNumber) -> u64 {
    // E.164 has at most 15 digits after the `+`, so it always fits.
    phone.as_str()[1..].parse().unwrap_or(0)
}

/// Reads every row once, before any is written: counts them, checks every row is
/// readable text, and collects the phones.
pub(crate) fn scan(
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

pub(crate) fn read_byte_record(
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
pub(crate) fn row_of(record: &csv::ByteRecord) -> u64 {
    record.position().map_or(0, |p| p.record() + 1)
}
