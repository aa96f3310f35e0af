//! Column mapping: which header of an upload goes to which field (phone, name, an
//! attribute, or ignored), the built-in and JSON column mappings, and reading one row's
//! cells into a user through that map.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use steward_domain::text::restore_formula;
use steward_domain::{
    AttributeChanges, AttributeDef, AttributeValue, PersonName, PhoneNumber, Region, UserSource,
    UserUpsert,
};
use steward_store::RowError;

use crate::directory::MANAGER;
use crate::{AppError, AppResult, FieldError};

/// Headers accepted for the phone column, normalized (see [`normalize_header`]).
const PHONE_HEADERS: &[&str] = &["phonenumber", "phone", "mobile", "mobilephone"];
const NAME_HEADERS: &[&str] = &["name"];

const NO_PHONE_COLUMN: &str =
    "the file has no Phone Number column (also accepted: Phone, Mobile, Mobile Phone)";

/// The phone column of a file that needs nothing else (a list of users to delete):
/// the first header an import would read as the phone.
pub(crate) fn phone_column(headers: &csv::StringRecord) -> Result<usize, String> {
    headers
        .iter()
        .position(|h| PHONE_HEADERS.contains(&normalize_header(h).as_str()))
        .ok_or_else(|| NO_PHONE_COLUMN.to_owned())
}

/// The columns a result file adds; they are ignored when it is uploaded again.
pub const RESULT_HEADERS: [&str; 2] = ["Import Status", "Import Message"];

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
            AppError::Invalid(vec![FieldError::new(
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
            None => Err(AppError::Invalid(vec![FieldError::new(
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

/// Reads a phone cell, repairing what spreadsheets do to phone numbers.
pub(crate) fn parse_phone(
    raw: &str,
    region: Region,
) -> Result<(PhoneNumber, Vec<String>), steward_domain::PhoneError> {
    let (phone, repairs) = PhoneNumber::parse_repairing(raw, region)?;
    Ok((phone, repairs.iter().map(ToString::to_string).collect()))
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
pub(crate) struct Columns {
    pub(crate) phone: (usize, String),
    pub(crate) name: (usize, String),
    pub(crate) attributes: Vec<(usize, String, AttributeDef)>,
    width: usize,
}

pub(crate) enum Parsed {
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
    pub(crate) fn map(
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
        let phone = phone.ok_or(NO_PHONE_COLUMN)?;
        let name = name.ok_or("the file has no Name column")?;
        Ok(Columns {
            phone,
            name,
            attributes,
            width: headers.len(),
        })
    }

    pub(crate) fn has_manager(&self) -> bool {
        self.attributes
            .iter()
            .any(|(_, _, def)| def.key.as_str() == MANAGER)
    }

    pub(crate) fn parse(&self, record: &csv::StringRecord, row: u64, region: Region) -> Parsed {
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
