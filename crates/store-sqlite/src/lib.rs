//! Steward's embedded default store on SQLite.
//!
//! One database file in the data directory, in WAL mode so readers never wait for the
//! writer and several processes (the server and the CLI) can share it. Every write is
//! one `BEGIN IMMEDIATE` transaction: it takes the write lock up front, so two writers
//! queue on the busy timeout instead of failing on a lock upgrade. Migrations are
//! embedded and run when the store opens.
//!
//! This module opens the store; each area's queries live in their own module
//! (`orgs`, `sessions`, `users`, `groups`, `content`, `audit`, `jobs`).

mod audit;
mod content;
mod convert;
mod groups;
mod jobs;
mod orgs;
mod schema;
mod sessions;
mod users;

use std::path::Path;
use std::time::Duration;

use r2d2::PooledConnection;
use r2d2_sqlite::SqliteConnectionManager;
use r2d2_sqlite::rusqlite::{self, TransactionBehavior};
use steward_store::{Store, StoreError, StoreResult};

use crate::convert::db;

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "steward.db";

type Conn = PooledConnection<SqliteConnectionManager>;

/// The SQLite store: a small pool of connections to one database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl SqliteStore {
    /// Opens (creating if needed) `DIR/steward.db` and brings its schema up to date.
    pub fn open_dir(dir: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        SqliteStore::open(&dir.join(DATABASE_FILE))
    }

    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        /// Puts the database file in WAL mode (WAL lets readers run beside the one writer),
        /// once, on a single connection, before the pool opens its connections.
        ///
        /// The switch needs an exclusive lock, and SQLite answers `SQLITE_BUSY` at once,
        /// without waiting on the busy timeout, to a connection that holds a shared lock
        /// and asks for one while another does the same (it would deadlock otherwise). A
        /// pool opening its connections together on a fresh file, each switching, therefore
        /// logged "database is locked". Another process opening the same fresh file at
        /// the same moment can still lose that race here, so a busy answer is retried.
        fn switch_to_wal(path: &Path) -> StoreResult<()> {
            let cannot = |e: rusqlite::Error| {
                StoreError::Backend(format!("cannot open {}: {e}", path.display()))
            };
            let conn = rusqlite::Connection::open(path).map_err(cannot)?;
            conn.busy_timeout(Duration::from_secs(30)).map_err(cannot)?;
            let mut attempts = 0;
            loop {
                match conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
                    row.get::<_, String>(0)
                }) {
                    Ok(_) => return Ok(()),
                    Err(e)
                        if attempts < 100
                            && e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) =>
                    {
                        attempts += 1;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => return Err(cannot(e)),
                }
            }
        }
        switch_to_wal(path)?;
        let manager = SqliteConnectionManager::file(path).with_init(|conn| {
            conn.busy_timeout(Duration::from_secs(30))?;
            // The file is already in WAL mode (see `switch_to_wal`), and the mode is
            // kept in the file, so the pool's connections, opened together, touch no
            // lock here. NORMAL sync is durable at each checkpoint of the WAL and
            // safe against corruption on power loss. A small page cache per
            // connection (16 MiB; eight connections) keeps memory bounded: pages are
            // shared through the OS cache, and a 1M-row import measured no slower
            // than with 64 MiB. A step of a large import writes gigabytes of WAL;
            // once the WAL restarts, the file is cut back to 64 MiB instead of
            // keeping that size on disk.
            conn.execute_batch(
                "PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA cache_size = -16384;
                 PRAGMA journal_size_limit = 67108864;",
            )
        });
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(30))
            .build(manager)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        let store = SqliteStore { pool };
        schema::migrate(&mut *store.conn()?)?;
        Ok(store)
    }

    fn conn(&self) -> StoreResult<Conn> {
        self.pool
            .get()
            .map_err(|e| StoreError::Backend(format!("no database connection: {e}")))
    }

    /// Runs `work` in one write transaction, committed only if it returns `Ok`.
    fn write<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let value = work(&tx)?;
        tx.commit().map_err(db)?;
        Ok(value)
    }
}

impl Store for SqliteStore {
    fn ping(&self) -> StoreResult<()> {
        self.conn()?
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(db)
    }
}
