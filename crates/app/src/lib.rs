//! Steward's use cases and background jobs.
//!
//! Each use case follows the same path: check who asks, validate the input into domain
//! values, write to the store, and enqueue background work where it is long. The web
//! layer and the CLI both call these functions; neither sees SQL.

pub mod audit;
pub mod clock;
pub mod content;
pub mod demo;
pub mod directory;
pub mod error;
pub mod groups;
pub mod import;
pub mod jobs;
pub mod orgs;
pub mod security;
pub mod synthetic;
pub mod tokens;

use std::sync::Arc;

use steward_store::{BlobStore, Store};

pub use clock::{Clock, SystemClock};
pub use error::{AppError, AppResult, FieldError};

/// Everything a use case needs: the store, the blob store and the clock.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl App {
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> App {
        App {
            store,
            blobs,
            clock,
        }
    }
}
