//! The blob store: large files (uploads, error logs, export archives, attachments)
//! kept outside the database, behind a small interface of streams, so an object-store
//! backend can implement it as well as a local directory.
//!
//! Every blob is written whole or not at all: the local implementation writes to a
//! temporary file in the same directory, fsyncs, renames, and fsyncs the directory. A
//! reader sees the whole old blob, the whole new one, or none, never a partial one,
//! even across a crash. A large output (an export) is written in numbered parts that
//! survive a restart, then composed into its blob in one step.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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

/// What a stored blob is: its length and its SHA-256 (lowercase hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub size: u64,
    pub sha256: String,
}

/// A blob being read, from its start or from an offset.
pub type BlobReader = Box<dyn Read + Send>;

/// Large files by key, read and written as streams.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores everything `data` yields under `key`, replacing any old blob atomically.
    fn put(&self, key: &BlobKey, data: &mut dyn Read) -> Result<BlobInfo, BlobError>;
    /// Reads a blob from its start.
    fn open(&self, key: &BlobKey) -> Result<BlobReader, BlobError> {
        self.open_at(key, 0)
    }
    /// Reads a blob from byte `offset` (a job resuming part-way through its input).
    fn open_at(&self, key: &BlobKey, offset: u64) -> Result<BlobReader, BlobError>;
    /// A blob's length in bytes.
    fn size(&self, key: &BlobKey) -> Result<u64, BlobError>;
    /// Removes a blob, and any parts written for it; removing a missing blob is fine.
    fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;
    /// Stores part `n` (from 0) of a blob written in parts. Parts outlive a restart and a
    /// part written again replaces the old one, so a resumed job rewrites only the part
    /// it had not checkpointed. Nothing is visible under `key` until [`compose`].
    ///
    /// [`compose`]: BlobStore::compose
    fn put_part(&self, key: &BlobKey, n: u32, data: &mut dyn Read) -> Result<BlobInfo, BlobError>;
    /// Joins parts `0..parts` into the blob under `key`, atomically, and removes the
    /// parts. A missing part is `NotFound`; the blob is not written then.
    fn compose(&self, key: &BlobKey, parts: u32) -> Result<BlobInfo, BlobError>;
    /// Removes up to `limit` files under `prefix/`: blobs, their parts, and parts or
    /// temporary files a crash left behind. Answers how many files and bytes it
    /// removed; `(0, 0)` once nothing is left under the prefix (then its directories
    /// are gone too). Called again until then, so a large prefix goes in bounded steps.
    fn delete_under(&self, prefix: &BlobKey, limit: usize) -> Result<(u64, u64), BlobError>;
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

    /// Where the parts of `key` wait: under a directory no key can name (a key segment
    /// never starts with a dot).
    fn parts_dir(&self, key: &BlobKey) -> PathBuf {
        self.root.join(".parts").join(key.as_str())
    }

    fn part_path(&self, key: &BlobKey, n: u32) -> PathBuf {
        self.parts_dir(key).join(format!("{n:08}"))
    }

    fn open_file(&self, key: &BlobKey, path: &Path) -> Result<File, BlobError> {
        File::open(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => BlobError::NotFound(key.as_str().to_owned()),
            _ => io_error(key, source),
        })
    }
}

fn io_error(key: &BlobKey, source: io::Error) -> BlobError {
    BlobError::Io {
        key: key.as_str().to_owned(),
        source,
    }
}

/// Hashes what passes through it.
struct Hashing<'a> {
    inner: &'a mut dyn Read,
    hash: Sha256,
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// What [`BlobStore::put`] would record for these bytes (size and SHA-256), without
/// storing them: to recognise a file already stored.
pub fn blob_info_of(data: &mut dyn Read) -> io::Result<BlobInfo> {
    let mut hashing = Hashing {
        inner: data,
        hash: Sha256::new(),
    };
    let size = io::copy(&mut hashing, &mut io::sink())?;
    Ok(BlobInfo {
        size,
        sha256: hex(&hashing.hash.finalize()),
    })
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes everything `data` yields to `path` atomically: temporary file beside it,
/// fsync, rename, fsync of the directory.
fn write_atomically(path: &Path, data: &mut dyn Read) -> io::Result<BlobInfo> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a blob path has a directory"))?;
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    let mut hashing = Hashing {
        inner: data,
        hash: Sha256::new(),
    };
    let size = io::copy(&mut hashing, &mut tmp)?;
    tmp.flush()?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)?;
    Ok(BlobInfo {
        size,
        sha256: hex(&hashing.hash.finalize()),
    })
}

/// Reads the parts of a blob one after another.
struct Parts<'a> {
    store: &'a LocalBlobStore,
    key: &'a BlobKey,
    next: u32,
    count: u32,
    current: Option<File>,
}

impl Read for Parts<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(file) = &mut self.current {
                let n = file.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            if self.next == self.count {
                return Ok(0);
            }
            self.current = Some(File::open(self.store.part_path(self.key, self.next))?);
            self.next += 1;
        }
    }
}

impl BlobStore for LocalBlobStore {
    fn put(&self, key: &BlobKey, data: &mut dyn Read) -> Result<BlobInfo, BlobError> {
        write_atomically(&self.path(key), data).map_err(|e| io_error(key, e))
    }

    fn open_at(&self, key: &BlobKey, offset: u64) -> Result<BlobReader, BlobError> {
        let mut file = self.open_file(key, &self.path(key))?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| io_error(key, e))?;
        }
        Ok(Box::new(file))
    }

    fn size(&self, key: &BlobKey) -> Result<u64, BlobError> {
        let file = self.open_file(key, &self.path(key))?;
        Ok(file.metadata().map_err(|e| io_error(key, e))?.len())
    }

    fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_error(key, source)),
        }
        match fs::remove_dir_all(self.parts_dir(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(io_error(key, source)),
        }
    }

    fn put_part(&self, key: &BlobKey, n: u32, data: &mut dyn Read) -> Result<BlobInfo, BlobError> {
        write_atomically(&self.part_path(key, n), data).map_err(|e| io_error(key, e))
    }

    fn compose(&self, key: &BlobKey, parts: u32) -> Result<BlobInfo, BlobError> {
        for n in 0..parts {
            if !self.part_path(key, n).is_file() {
                return Err(BlobError::NotFound(format!("{} (part {n})", key.as_str())));
            }
        }
        let mut reader = Parts {
            store: self,
            key,
            next: 0,
            count: parts,
            current: None,
        };
        let info = write_atomically(&self.path(key), &mut reader).map_err(|e| io_error(key, e))?;
        match fs::remove_dir_all(self.parts_dir(key)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_error(key, source)),
        }
        Ok(info)
    }

    fn delete_under(&self, prefix: &BlobKey, limit: usize) -> Result<(u64, u64), BlobError> {
        let io = |source| io_error(prefix, source);
        let dirs = [self.path(prefix), self.parts_dir(prefix)];
        let mut found = Vec::new();
        for dir in &dirs {
            files_under(dir, limit.max(1), &mut found).map_err(io)?;
        }
        let (mut files, mut bytes) = (0, 0);
        for (path, size) in &found {
            match fs::remove_file(path) {
                Ok(()) => {
                    files += 1;
                    bytes += size;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(io(source)),
            }
        }
        if found.is_empty() {
            for dir in &dirs {
                match fs::remove_dir_all(dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => return Err(io(source)),
                }
            }
        }
        Ok((files, bytes))
    }
}

/// Up to `limit` files under `dir`, deepest first within each directory.
fn files_under(dir: &Path, limit: usize, found: &mut Vec<(PathBuf, u64)>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        if found.len() >= limit {
            break;
        }
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            files_under(&entry.path(), limit, found)?;
        } else {
            found.push((entry.path(), entry.metadata()?.len()));
        }
    }
    Ok(())
}

/// Makes a rename durable: the directory entry itself must reach the disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_under_a_prefix_goes_in_bounded_steps_and_touches_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let key = |raw: &str| BlobKey::parse(raw).unwrap();
        for n in 0..5 {
            let k = key(&format!("orgs/a/attachments/{n}"));
            store.put(&k, &mut &b"doomed"[..]).unwrap();
        }
        store
            .put_part(&key("orgs/a/exports/x.zip"), 0, &mut &b"part"[..])
            .unwrap();
        store.put(&key("orgs/ab/kept"), &mut &b"kept"[..]).unwrap();
        let prefix = key("orgs/a");
        assert_eq!(store.delete_under(&prefix, 4).unwrap(), (4, 24));
        assert_eq!(store.delete_under(&prefix, 4).unwrap(), (2, 10));
        assert_eq!(store.delete_under(&prefix, 4).unwrap(), (0, 0));
        assert!(!dir.path().join("orgs/a").exists());
        assert!(!dir.path().join(".parts/orgs/a").exists());
        let mut kept = String::new();
        store
            .open(&key("orgs/ab/kept"))
            .unwrap()
            .read_to_string(&mut kept)
            .unwrap();
        assert_eq!(kept, "kept");
    }

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
        assert_eq!(store.put(&key, &mut &b"first"[..]).unwrap().size, 5);
        let info = store.put(&key, &mut &b"second version"[..]).unwrap();
        assert_eq!(
            info.sha256,
            hex(&Sha256::digest(b"second version")),
            "the hash is of the bytes stored"
        );
        let mut text = String::new();
        store.open(&key).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "second version");
        assert_eq!(store.size(&key).unwrap(), 14);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("a/b")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        store.delete(&key).unwrap();
        assert!(matches!(store.open(&key), Err(BlobError::NotFound(_))));
    }

    #[test]
    fn a_blob_reads_from_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let key = BlobKey::parse("f.csv").unwrap();
        store.put(&key, &mut &b"header\nrow"[..]).unwrap();
        let mut rest = String::new();
        store
            .open_at(&key, 7)
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        assert_eq!(rest, "row");
    }

    #[test]
    fn parts_compose_into_one_blob_and_a_part_written_again_replaces_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let key = BlobKey::parse("exports/x.zip").unwrap();
        store.put_part(&key, 0, &mut &b"one,"[..]).unwrap();
        store.put_part(&key, 1, &mut &b"half"[..]).unwrap();
        // A resumed job writes its unfinished part again.
        store.put_part(&key, 1, &mut &b"two,"[..]).unwrap();
        assert!(matches!(store.open(&key), Err(BlobError::NotFound(_))));
        assert!(matches!(
            store.compose(&key, 3),
            Err(BlobError::NotFound(_))
        ));
        store.put_part(&key, 2, &mut &b"three"[..]).unwrap();
        let info = store.compose(&key, 3).unwrap();
        assert_eq!(info.size, 13);
        let mut text = String::new();
        store.open(&key).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "one,two,three");
        assert!(!dir.path().join(".parts/exports/x.zip").exists());
    }
}
