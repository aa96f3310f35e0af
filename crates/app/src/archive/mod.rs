//! The tenant archive: one zip holding a CSV file per kind of an org's data (and the
//! attachments' files), read from one consistent snapshot, with a `manifest.json`
//! that lists every file's rows, bytes and SHA-256 and says what was left out and why.
//!
//! [`write_archive`] streams: one thread reads the snapshot and writes CSV while the
//! calling thread deflates and writes the zip, so memory stays flat in the tenant's
//! size and both cores work. [`verify_archive`] checks a zip against its manifest.
//! The export job decides who may ask for an archive; this module takes an org id.

mod verify;
mod write;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_domain::{OrgId, PhoneNumber};

pub use steward_store::ArchiveKind;
pub use verify::{Mismatch, VerifiedFile, VerifyReport, verify_archive};
pub use write::{DEFLATE_LEVEL, write_archive};

use crate::{AppError, FieldError};

/// The version of the archive layout `manifest.json` describes.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's name in the zip; it is written last.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The folder of the attachments' files in the zip.
pub const ATTACHMENTS_DIR: &str = "attachments/";

/// What an archive holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchiveScope {
    /// The kinds of data, one file each.
    pub kinds: BTreeSet<ArchiveKind>,
    /// Content and records made at or after this time (see [`ArchiveKind::dated`]).
    pub since: Option<DateTime<Utc>>,
    /// Content and records made before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only what this person made or what is about them.
    pub user: Option<PhoneNumber>,
    /// The attachments' files under `attachments/` (their metadata is the
    /// `attachments` kind).
    pub attachments: bool,
}

impl ArchiveScope {
    /// Every kind, all the time, everyone, with the attachments' files.
    pub fn everything() -> Self {
        ArchiveScope {
            kinds: ArchiveKind::ALL.into_iter().collect(),
            since: None,
            until: None,
            user: None,
            attachments: true,
        }
    }

    /// Reads a list of kinds separated by commas (or spaces), e.g.
    /// `users,messages,audit`; `all` is every kind.
    pub fn parse_kinds(list: &str) -> Result<BTreeSet<ArchiveKind>, FieldError> {
        let names: Vec<&str> = list
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if names.is_empty() {
            return Err(FieldError::new("kinds", "name at least one kind of data"));
        }
        let mut kinds = BTreeSet::new();
        for name in names {
            if name.eq_ignore_ascii_case("all") {
                kinds.extend(ArchiveKind::ALL);
                continue;
            }
            let kind = ArchiveKind::parse(&name.to_ascii_lowercase()).ok_or_else(|| {
                FieldError::new(
                    "kinds",
                    format!(
                        "{:?} is not a kind of data; the kinds are all, {}",
                        steward_domain::text::display_safe(name),
                        ArchiveKind::ALL.map(ArchiveKind::as_str).join(", ")
                    ),
                )
            })?;
            kinds.insert(kind);
        }
        Ok(kinds)
    }

    /// Refuses a scope that can hold nothing: no kinds, or an empty date range.
    pub fn validate(&self) -> Result<(), AppError> {
        let mut errors = Vec::new();
        if self.kinds.is_empty() {
            errors.push(FieldError::new("kinds", "name at least one kind of data"));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since >= until
        {
            errors.push(FieldError::new("until", "must be after since"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(errors))
        }
    }
}

/// Why [`write_archive`]'s progress callback stopped it (the job was canceled or lost
/// its lease); the archive returns this error.
#[derive(Debug)]
pub struct ArchiveStop(pub AppError);

impl From<AppError> for ArchiveStop {
    fn from(e: AppError) -> Self {
        ArchiveStop(e)
    }
}

/// `manifest.json`: what the archive is and what each of its files holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub org: OrgId,
    pub scope: ArchiveScope,
    /// When the archive was written.
    pub generated_at: DateTime<Utc>,
    /// The moment the data reflects: every file shows the org as committed then.
    pub snapshot_at: DateTime<Utc>,
    /// How `jobs.csv` relates to the snapshot, and other facts about the reading.
    pub notes: Vec<String>,
    /// Every file of the zip but the manifest, in the zip's order.
    pub files: Vec<ManifestFile>,
    /// What the archive leaves out, and why.
    pub not_included: Vec<NotIncluded>,
}

/// One file of the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    /// The kind of data of a CSV file; none for an attachment's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ArchiveKind>,
    /// Data rows of a CSV file (the header not counted); none for an attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Length of the file as extracted.
    pub bytes: u64,
    /// SHA-256 of the file as extracted, lowercase hex.
    pub sha256: String,
}

/// Something the archive does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotIncluded {
    /// A kind of data, a file, or a description of rows.
    pub what: String,
    pub reason: String,
}
