//! Steward's use cases and background jobs.
//!
//! Each use case follows the same path: check who asks, validate the input into domain
//! values, write to the store, and enqueue background work where it is long. The web
//! layer and the CLI both call these functions; neither sees SQL.

pub mod archive;
pub mod audit;
pub mod caller;
pub mod clock;
pub mod content;
pub mod demo;
pub mod directory;
pub mod error;
pub mod export;
pub mod exports;
pub mod groups;
pub mod history;
pub mod import;
pub mod imports;
pub mod jobs;
pub mod lifecycle;
pub mod limits;
pub mod me;
pub mod org_deletion;
pub mod orgs;
pub mod plans;
pub mod security;
pub mod synthetic;
pub mod tokens;
pub mod user_deletions;

use std::sync::Arc;

use steward_store::{BlobStore, Store};

pub use caller::Caller;
pub use clock::{Clock, SystemClock};
pub use error::{AppError, AppResult, FieldError};
pub use limits::Limits;

/// Everything a use case needs: the store, the blob store and the clock. Its parts
/// are private to this crate: the web layer and the CLI reach them only through use
/// cases, so every rule lives here once.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: Arc<Limits>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl App {
    /// The time on the app's clock (injectable, so tests move it).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Whether the store answers (for readiness checks).
    pub fn ping(&self) -> AppResult<()> {
        Ok(self.store.ping()?)
    }

    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> App {
        App {
            store,
            blobs,
            clock,
            limits: Arc::new(Limits::default()),
        }
    }

    /// The same app with other per-org limits (tests use small ones).
    pub fn with_limits(self, limits: Limits) -> App {
        App {
            limits: Arc::new(limits),
            ..self
        }
    }

    /// The per-org limits the use cases enforce.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}
