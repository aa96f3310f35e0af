//! The cache of org databases: one small connection pool per org file, opened on first
//! use and closed when the cache evicts it.
//!
//! The cache bounds what thousands of orgs could otherwise cost: at most
//! [`CAPACITY`] org pools are open, each with at most [`POOL_SIZE`] connections
//! (file descriptors) and a bounded page cache per connection; idle connections
//! close after a minute, so an org that is only read now and then keeps no cache.
//! When a new org needs a place, the least recently used pool leaves the cache; a
//! request still holding one of its connections finishes with it, and the file
//! closes when the last connection is returned.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scheduled_thread_pool::ScheduledThreadPool;
use steward_domain::OrgId;
use steward_store::{StoreError, StoreResult};

use crate::{Pool, PoolShape, conn_of, open_pool, schema};

/// How many org files stay open at most.
pub const CAPACITY: usize = 32;
/// Connections per org file: writers (who take turns, see `gate`) and readers. Enough
/// that a write rarely waits for a connection behind reads; their page caches together
/// stay within `SQLITE_HEAP_SOFT_LIMIT`.
pub const POOL_SIZE: u32 = 8;
/// Page cache per org connection, in KiB. 8 MiB, half the shared file's: with 16 MiB
/// a 1M-row first import (writer, readers beside it, the shared file's connections)
/// peaked at 303 MiB, with 8 MiB at 225 MiB, in the same time (24-26 s); a page of
/// 1M users with its total took 23-31 ms either way (the OS cache holds the rest).
const CACHE_KIB: u32 = 8192;

/// The path of an org's database file.
pub fn org_file(dir: &Path, org: &str) -> PathBuf {
    dir.join(format!("{org}.db"))
}

pub struct Tenants {
    dir: PathBuf,
    threads: Arc<ScheduledThreadPool>,
    open: Mutex<Open>,
}

/// The open pools, each with the tick of its last use.
#[derive(Default)]
struct Open {
    tick: u64,
    pools: HashMap<OrgId, (Pool, u64)>,
}

impl fmt::Debug for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenants")
            .field("dir", &self.dir)
            .field("open", &self.open_count())
            .finish()
    }
}

impl Tenants {
    pub fn new(dir: PathBuf, threads: Arc<ScheduledThreadPool>) -> Tenants {
        Tenants {
            dir,
            threads,
            open: Mutex::new(Open::default()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn open_count(&self) -> usize {
        self.open.lock().map_or(0, |open| open.pools.len())
    }

    /// The org's pool, opening (and creating) its file if `exists` says the org does.
    /// The lock is held while a file opens, so two requests never open one file twice;
    /// opening is rare (a miss) and quick.
    pub fn get(
        &self,
        org: OrgId,
        exists: impl FnOnce() -> StoreResult<bool>,
    ) -> StoreResult<Option<Pool>> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| StoreError::Backend("the org file cache is poisoned".into()))?;
        open.tick += 1;
        let tick = open.tick;
        if let Some((pool, used)) = open.pools.get_mut(&org) {
            // Another process may have deleted the org and removed its file: then the
            // pool reads a file that no longer exists, and must go.
            if org_file(&self.dir, &org.to_string()).exists() {
                *used = tick;
                return Ok(Some(pool.clone()));
            }
            open.pools.remove(&org);
        }
        if !exists()? {
            return Ok(None);
        }
        if open.pools.len() >= CAPACITY {
            let oldest = open
                .pools
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(org, _)| *org);
            if let Some(oldest) = oldest {
                open.pools.remove(&oldest);
            }
        }
        let pool = self.open_file(org)?;
        open.pools.insert(org, (pool.clone(), tick));
        Ok(Some(pool))
    }

    /// Closes the org's pool in this process (its file closes when the last connection
    /// in use is returned); the next use opens the file again if the org exists.
    pub fn evict(&self, org: OrgId) -> StoreResult<()> {
        self.open
            .lock()
            .map_err(|_| StoreError::Backend("the org file cache is poisoned".into()))?
            .pools
            .remove(&org);
        Ok(())
    }

    fn open_file(&self, org: OrgId) -> StoreResult<Pool> {
        let shape = PoolShape {
            max_size: POOL_SIZE,
            min_idle: Some(0),
            idle_timeout: Some(Duration::from_secs(60)),
            cache_kib: CACHE_KIB,
        };
        let pool = open_pool(
            &org_file(&self.dir, &org.to_string()),
            &shape,
            self.threads.clone(),
        )?;
        schema::migrate_org(&mut *conn_of(&pool)?, None)?;
        Ok(pool)
    }
}
