//! Runs the store conformance suite against SQLite, each test on a fresh database file
//! in its own temporary directory, removed when the test ends.

use steward_store_sqlite::SqliteStore;
use tempfile::TempDir;

fn fresh_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open_dir(dir.path()).expect("open store");
    (store, dir)
}

steward_store_conformance::conformance_tests!(fresh_store);
