//! Runs the store conformance suite against SQLite, each test on a fresh database file.

use steward_store_sqlite::SqliteStore;

fn fresh_store() -> SqliteStore {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The directory must outlive the store: leak it for the length of the test run.
    let path = dir.keep();
    SqliteStore::open_dir(&path).expect("open store")
}

steward_store_conformance::conformance_tests!(fresh_store);
