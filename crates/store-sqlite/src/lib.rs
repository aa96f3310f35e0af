//! Steward's embedded default store on SQLite.
//!
//! The data directory holds one shared database, `steward.db`, and one database per
//! org, `orgs/<org-id>.db`. The shared file keeps what spans orgs or has no org: the
//! orgs, admin accounts, API tokens, sessions, one-time codes, the SMS outbox, the jobs
//! (queue, leases, status, mirrored checkpoints) and `phone_orgs`, the phone -> orgs
//! lookup member sign-in needs. Everything else an org owns (users, attribute schema
//! and filter indexes, groups, content, audit, what its jobs leave about their rows and
//! their authoritative checkpoints) lives in the org's own file, so the cost of one
//! org's writes and reads does not depend on other orgs' schemas or sizes, and saving
//! a schema runs DDL on that org's file alone. Org files are opened lazily, through a
//! small bounded cache of connection pools (see `tenants`); an org that is not in the
//! shared `orgs` table opens no file.
//!
//! Every file is in WAL mode, so readers never wait for the writer and several
//! processes (the server and the CLI) can share them. Every write is one
//! `BEGIN IMMEDIATE` transaction: it takes the write lock up front, so two writers
//! queue on the busy timeout instead of failing on a lock upgrade; within this
//! process they first take turns at the file's write gate (see `gate`). Migrations are
//! embedded and run when a file opens; a data directory of the single-file layout is
//! split into org files once, on start-up (see `split`).
//!
//! This module opens the store; each area's queries live in their own module
//! (`orgs`, `sessions`, `users`, `groups`, `content`, `audit`, `jobs`).

mod archive;
mod audit;
mod content;
mod convert;
mod deletion;
mod gate;
mod groups;
mod jobs;
mod lifecycle;
mod orgs;
mod schema;
mod sessions;
mod split;
mod tenants;
mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use r2d2::PooledConnection;
use r2d2_sqlite::SqliteConnectionManager;
use r2d2_sqlite::rusqlite::{self, Connection, Transaction, TransactionBehavior};
use scheduled_thread_pool::ScheduledThreadPool;
use steward_domain::OrgId;
use steward_store::{Store, StoreError, StoreResult};

use crate::convert::db;
use crate::tenants::Tenants;

/// The file name of the shared database inside the data directory.
pub const DATABASE_FILE: &str = "steward.db";
/// The directory, inside the data directory, of the org databases (`<org-id>.db`).
pub const ORGS_DIR: &str = "orgs";

type Pool = r2d2::Pool<SqliteConnectionManager>;
type Conn = PooledConnection<SqliteConnectionManager>;

/// The SQLite store: a pool of connections to the shared file and the cache of org
/// files' pools.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: Pool,
    tenants: Arc<Tenants>,
}

/// How a pool is sized and how much page cache each of its connections may keep.
struct PoolShape {
    max_size: u32,
    /// Connections kept open while idle; `None` keeps `max_size`.
    min_idle: Option<u32>,
    /// How long an idle connection beyond `min_idle` stays open.
    idle_timeout: Option<Duration>,
    /// `PRAGMA cache_size` in KiB per connection.
    cache_kib: u32,
}

impl SqliteStore {
    /// Opens (creating if needed) `DIR/steward.db` and `DIR/orgs/`, brings the schema
    /// up to date and, the first time, splits a single-file data directory into org
    /// files.
    pub fn open_dir(dir: &Path) -> StoreResult<SqliteStore> {
        let orgs_dir = dir.join(ORGS_DIR);
        std::fs::create_dir_all(&orgs_dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data directory {}: {e}",
                orgs_dir.display()
            ))
        })?;
        let path = dir.join(DATABASE_FILE);
        // One thread pool for every org pool's housekeeping (r2d2 would start three
        // threads per pool otherwise).
        let threads = Arc::new(
            ScheduledThreadPool::builder()
                .num_threads(1)
                .thread_name_pattern("steward-sqlite-{}")
                .build(),
        );
        // A small page cache per connection (16 MiB; eight connections) keeps memory
        // bounded: pages are shared through the OS cache, and a 1M-row import
        // measured no slower than with 64 MiB. Connections beyond two close after a
        // minute unused, and their caches with them (see also `SQLITE_HEAP_SOFT_LIMIT`).
        let shape = PoolShape {
            max_size: 8,
            min_idle: Some(2),
            idle_timeout: Some(Duration::from_secs(60)),
            cache_kib: 16384,
        };
        let pool = open_pool(&path, &shape, threads.clone())?;
        schema::migrate(&mut *conn_of(&pool)?, &path, &orgs_dir)?;
        let tenants = Arc::new(Tenants::new(orgs_dir, threads));
        Ok(SqliteStore { pool, tenants })
    }

    /// Where the org files are (for tests and tools that look at the layout).
    pub fn orgs_dir(&self) -> PathBuf {
        self.tenants.dir().to_path_buf()
    }

    /// How many org files are open now (bounded by the cache).
    pub fn open_org_files(&self) -> usize {
        self.tenants.open_count()
    }

    fn conn(&self) -> StoreResult<Conn> {
        conn_of(&self.pool)
    }

    /// Runs `work` in one write transaction on the shared file, committed only if it
    /// returns `Ok`.
    fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        write_on(&mut *self.conn()?, work)
    }

    /// The org's file, or `None` for an org that does not exist (no file is opened
    /// or created for it).
    fn tenant(&self, org: OrgId) -> StoreResult<Option<Pool>> {
        self.tenants.get(org, || {
            let conn = self.conn()?;
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM orgs WHERE id = ?1)",
                [org.to_string()],
                |r| r.get::<_, bool>(0),
            )
            .map_err(db)
        })
    }

    /// Reads from the org's file; an unknown org answers `empty()`.
    fn read_org<T>(
        &self,
        org: OrgId,
        empty: impl FnOnce() -> T,
        read: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        match self.tenant(org)? {
            Some(pool) => read(&*conn_of(&pool)?),
            None => Ok(empty()),
        }
    }

    /// One write transaction on the org's file; an unknown org is `NotFound`.
    fn write_org<T>(
        &self,
        org: OrgId,
        work: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let pool = self.tenant(org)?.ok_or(StoreError::NotFound)?;
        write_on(&mut *conn_of(&pool)?, work)
    }

    /// One write transaction on the org's file; an unknown org answers `missing`.
    fn write_org_or<T>(
        &self,
        org: OrgId,
        missing: T,
        work: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        match self.tenant(org)? {
            Some(pool) => write_on(&mut *conn_of(&pool)?, work),
            None => Ok(missing),
        }
    }
}

fn conn_of(pool: &Pool) -> StoreResult<Conn> {
    pool.get()
        .map_err(|e| StoreError::Backend(format!("no database connection: {e}")))
}

fn write_on<T>(
    conn: &mut Connection,
    work: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let turn = gate::turn(conn);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let value = work(&tx)?;
    tx.commit().map_err(db)?;
    drop(turn);
    checkpoint_past(conn, WAL_KEEP_BYTES)?;
    Ok(value)
}

/// The size a write-ahead log is cut back to once it restarts (`journal_size_limit`),
/// and past which a writer copies it into the database after its commit.
const WAL_KEEP_BYTES: u64 = 64 << 20;

/// The size of the connection's database's write-ahead log now (0 if none).
fn wal_bytes(conn: &Connection) -> u64 {
    conn.path()
        .and_then(|path| std::fs::metadata(format!("{path}-wal")).ok())
        .map_or(0, |m| m.len())
}

/// Copies the WAL into the database when it has grown past `bytes`, so that the next
/// writer starts it over. Every writer calls it after its commit with
/// [`WAL_KEEP_BYTES`]; a job's step with half of that, so that during a job the job
/// pays for the copy, not an API request. SQLite's own automatic checkpoint is off
/// (see `open_pool`): it runs inside the commit that makes the WAL long, with the
/// write lock still held, so the next writers (API requests behind an import's step)
/// would wait for it to copy and sync a step's pages. This one runs after the commit,
/// holding no lock (passive: frames a reader still uses are left for the next time),
/// and only once the WAL is long, so its sync is paid once per tens of MiB, not per
/// step.
fn checkpoint_past(conn: &Connection, bytes: u64) -> StoreResult<()> {
    if wal_bytes(conn) > bytes {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(db)?;
    }
    Ok(())
}

/// How much memory SQLite keeps in all (page caches of every connection to every
/// file, statements, schemas) before connections reuse their caches' pages instead of
/// growing them: `PRAGMA soft_heap_limit`, one limit for the process. Without it the
/// page caches could hold their sum (eight shared connections at 16 MiB, eight per
/// open org file at 8 MiB); a server that had served clients during a 1M-row import
/// measured about 650 MiB RSS, idle, before this limit.
const SQLITE_HEAP_SOFT_LIMIT: u64 = 64 << 20;

/// Opens a pool on one database file, switched to WAL first.
fn open_pool(
    path: &Path,
    shape: &PoolShape,
    threads: Arc<ScheduledThreadPool>,
) -> StoreResult<Pool> {
    switch_to_wal(path)?;
    let cache = format!("PRAGMA cache_size = -{};", shape.cache_kib);
    let manager = SqliteConnectionManager::file(path).with_init(move |conn| {
        conn.busy_timeout(Duration::from_secs(30))?;
        // The file is already in WAL mode (see `switch_to_wal`), and the mode is
        // kept in the file, so the pool's connections, opened together, touch no
        // lock here. NORMAL sync is durable at each checkpoint of the WAL and safe
        // against corruption on power loss. A step of a large import writes
        // gigabytes of WAL; once the WAL restarts, the file is cut back to 64 MiB
        // instead of keeping that size on disk. Secure delete overwrites what a
        // delete frees with zeros, so a purged user's text stays in no free page.
        // Writers checkpoint the WAL themselves, after their commit (see
        // `checkpoint_past`).
        conn.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON;
             {cache}
             PRAGMA journal_size_limit = {WAL_KEEP_BYTES};
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA soft_heap_limit = {SQLITE_HEAP_SOFT_LIMIT};"
        ))
    });
    r2d2::Pool::builder()
        .max_size(shape.max_size)
        .min_idle(shape.min_idle)
        .idle_timeout(shape.idle_timeout)
        .thread_pool(threads)
        .connection_timeout(Duration::from_secs(30))
        .build(manager)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))
}

/// Puts the database file in WAL mode (WAL lets readers run beside the one writer),
/// once, on a single connection, before a pool opens its connections.
///
/// The switch needs an exclusive lock, and SQLite answers `SQLITE_BUSY` at once,
/// without waiting on the busy timeout, to a connection that holds a shared lock and
/// asks for one while another does the same (it would deadlock otherwise). A pool
/// opening its connections together on a fresh file, each switching, therefore logged
/// "database is locked". Another process opening the same fresh file at the same
/// moment can still lose that race here, so a busy answer is retried.
fn switch_to_wal(path: &Path) -> StoreResult<()> {
    let cannot =
        |e: rusqlite::Error| StoreError::Backend(format!("cannot open {}: {e}", path.display()));
    let conn = Connection::open(path).map_err(cannot)?;
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

impl Store for SqliteStore {
    fn ping(&self) -> StoreResult<()> {
        self.conn()?
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(db)
    }
}
