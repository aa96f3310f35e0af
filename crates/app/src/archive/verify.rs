//! Checking an archive against its manifest: every listed file is there with the rows,
//! bytes and SHA-256 the manifest gives, and nothing else is.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};
use steward_store::hex;
use zip::ZipArchive;
use zip::result::ZipError;

use super::{MANIFEST_NAME, Manifest};
use crate::AppError;

/// What [`verify_archive`] found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyReport {
    pub manifest: Manifest,
    /// Every listed file that could be read, as measured.
    pub files: Vec<VerifiedFile>,
    /// Every difference from the manifest; none when the archive is intact.
    pub mismatches: Vec<Mismatch>,
}

impl VerifyReport {
    /// True when every file matches the manifest and nothing is missing or extra.
    pub fn is_intact(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// A file as measured from the zip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedFile {
    pub name: String,
    pub rows: Option<u64>,
    pub bytes: u64,
    pub sha256: String,
}

/// One difference between the archive and its manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub name: String,
    pub problem: String,
}

/// Reads `manifest.json` from the zip at `path`, then reads every file it lists,
/// recomputing its rows (data rows of a CSV file), bytes and SHA-256, and reports each
/// difference, each listed file that is missing and each file the manifest does not
/// list. A file that is not a readable archive with a manifest is `Invalid`.
pub fn verify_archive(path: &Path) -> Result<VerifyReport, AppError> {
    let file = File::open(path)
        .map_err(|e| AppError::invalid("file", format!("cannot open {}: {e}", path.display())))?;
    let mut zip = ZipArchive::new(BufReader::new(file))
        .map_err(|e| AppError::invalid("file", format!("not a zip archive: {e}")))?;
    let manifest: Manifest = {
        let entry = zip.by_name(MANIFEST_NAME).map_err(|e| {
            AppError::invalid(
                "file",
                format!("not a Steward archive: no {MANIFEST_NAME} ({e})"),
            )
        })?;
        serde_json::from_reader(entry).map_err(|e| {
            AppError::invalid("file", format!("{MANIFEST_NAME} cannot be read: {e}"))
        })?
    };

    let mut files = Vec::new();
    let mut mismatches = Vec::new();
    let mut problem = |name: &str, problem: String| {
        mismatches.push(Mismatch {
            name: name.to_owned(),
            problem,
        })
    };
    let mut listed = HashSet::new();
    for expected in &manifest.files {
        if !listed.insert(expected.name.as_str()) {
            problem(&expected.name, "listed twice in the manifest".into());
            continue;
        }
        let entry = match zip.by_name(&expected.name) {
            Ok(entry) => entry,
            Err(ZipError::FileNotFound) => {
                problem(&expected.name, "missing from the archive".into());
                continue;
            }
            Err(e) => {
                problem(&expected.name, format!("cannot be read: {e}"));
                continue;
            }
        };
        let found = match measure(entry, expected.rows.is_some()) {
            Ok(found) => found,
            Err(e) => {
                problem(&expected.name, format!("cannot be read: {e}"));
                continue;
            }
        };
        if found.sha256 != expected.sha256 {
            problem(
                &expected.name,
                format!(
                    "SHA-256 is {}, the manifest says {}",
                    found.sha256, expected.sha256
                ),
            );
        }
        if found.bytes != expected.bytes {
            problem(
                &expected.name,
                format!(
                    "{} bytes, the manifest says {}",
                    found.bytes, expected.bytes
                ),
            );
        }
        if let (Some(rows), Some(want)) = (found.rows, expected.rows)
            && rows != want
        {
            problem(
                &expected.name,
                format!("{rows} rows, the manifest says {want}"),
            );
        }
        files.push(VerifiedFile {
            name: expected.name.clone(),
            ..found
        });
    }
    let mut extra = Vec::new();
    for name in zip.file_names() {
        let name = name.map_err(|e| {
            AppError::invalid("file", format!("an entry's name cannot be read: {e}"))
        })?;
        if name != MANIFEST_NAME && !name.ends_with('/') && !listed.contains(name.as_ref()) {
            extra.push(name.into_owned());
        }
    }
    for name in extra {
        problem(&name, "not listed in the manifest".into());
    }
    Ok(VerifyReport {
        manifest,
        files,
        mismatches,
    })
}

/// Reads a file to its end: its length, SHA-256 and, for a CSV file, its data rows.
/// The zip reader also checks the entry's CRC-32 at the end.
fn measure(entry: impl Read, csv: bool) -> io::Result<VerifiedFile> {
    let mut hashing = Hashing {
        inner: entry,
        hash: Sha256::new(),
        bytes: 0,
    };
    let rows = if csv {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(&mut hashing);
        let mut record = csv::ByteRecord::new();
        let mut rows = 0;
        while reader
            .read_byte_record(&mut record)
            .map_err(io::Error::other)?
        {
            rows += 1;
        }
        Some(rows)
    } else {
        None
    };
    io::copy(&mut hashing, &mut io::sink())?;
    Ok(VerifiedFile {
        name: String::new(),
        rows,
        bytes: hashing.bytes,
        sha256: hex(&hashing.hash.finalize()),
    })
}

struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}
