//! The blob store: large files (uploads, error logs, export archives, attachments)
//! kept outside the database, behind a small interface.
//!
//! The local implementation writes atomically: to a temporary file in the same
//! directory, fsync, rename, fsync the directory. A reader sees the whole old file, the
//! whole new file, or none, never a partial one, even across a crash.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// A blob's name: slash-separated segments of letters, digits, `.`, `_` and `-`, so a
/// key can never leave the store's directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(raw: &str) -> Result<BlobKey, BlobError> {
        let valid_segment = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        if raw.len() > 512 || !raw.split('/').all(valid_segment) {
            return Err(BlobError::BadKey(raw.to_owned()));
        }
        Ok(BlobKey(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key {0:?}")]
    BadKey(String),
    #[error("blob {0:?} not found")]
    NotFound(String),
    #[error("blob I/O error on {key:?}: {source}")]
    Io { key: String, source: io::Error },
}

/// Large files by key.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores everything `data` yields under `key`, replacing any old blob atomically.
    /// Returns the number of bytes written.
    fn put(&self, key: &BlobKey, data: &mut dyn Read) -> Result<u64, BlobError>;
    fn open(&self, key: &BlobKey) -> Result<File, BlobError>;
    fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;
}

/// Blobs as files under one directory.
#[derive(Clone, Debug)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> io::Result<LocalBlobStore> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(LocalBlobStore { root })
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

impl BlobStore for LocalBlobStore {
    fn put(&self, key: &BlobKey, data: &mut dyn Read) -> Result<u64, BlobError> {
        let io_err = |source| BlobError::Io {
            key: key.as_str().to_owned(),
            source,
        };
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(io_err)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .map_err(io_err)?;
        let written = io::copy(data, &mut tmp).map_err(io_err)?;
        tmp.flush().map_err(io_err)?;
        tmp.as_file().sync_all().map_err(io_err)?;
        tmp.persist(&path).map_err(|e| io_err(e.error))?;
        sync_dir(dir).map_err(io_err)?;
        Ok(written)
    }

    fn open(&self, key: &BlobKey) -> Result<File, BlobError> {
        File::open(self.path(key)).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => BlobError::NotFound(key.as_str().to_owned()),
            _ => BlobError::Io {
                key: key.as_str().to_owned(),
                source,
            },
        })
    }

    fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(BlobError::Io {
                key: key.as_str().to_owned(),
                source,
            }),
        }
    }
}

/// Makes a rename durable: the directory entry itself must reach the disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_store_directory() {
        for bad in [
            "../etc/passwd",
            "/abs",
            "a//b",
            "a/../b",
            ".hidden",
            "a b",
            "",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad}");
        }
        assert!(BlobKey::parse("orgs/0190-ab/imports/x.csv").is_ok());
    }

    #[test]
    fn a_blob_reads_back_whole_and_is_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let key = BlobKey::parse("a/b/file.csv").unwrap();
        assert_eq!(store.put(&key, &mut &b"first"[..]).unwrap(), 5);
        store.put(&key, &mut &b"second version"[..]).unwrap();
        let mut text = String::new();
        store.open(&key).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "second version");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("a/b")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        store.delete(&key).unwrap();
        assert!(matches!(store.open(&key), Err(BlobError::NotFound(_))));
    }
}
