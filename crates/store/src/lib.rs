//! The storage interface of Steward: one trait per area (orgs and credentials, sessions
//! and codes, users, groups, content, audit), the [`Store`] that gathers them with the
//! jobs, and the blob store for large files.
//!
//! The web and app layers only ever see [`Store`] and [`BlobStore`] (with
//! `use steward_store::prelude::*;` for the area traits' methods); every backend
//! (SQLite embedded by default, PostgreSQL later) implements them and passes the same
//! conformance suite. Every method that touches tenant data takes the `OrgId` and the
//! backend filters by it, so one org can never read or change another's rows.

mod archive;
mod audit;
mod blob;
mod content;
mod deletion;
mod groups;
mod jobs;
mod lifecycle;
mod orgs;
mod sessions;
mod users;

use serde::Serialize;

pub use archive::{ArchiveKind, ArchiveStore, Cell, OTHER_ACTOR, OrgSnapshot, RowFilter, RowSink};
pub use audit::{AuditQuery, AuditStore};
pub use blob::{
    BlobError, BlobInfo, BlobKey, BlobReader, BlobStore, LocalBlobStore, blob_info_of, hex,
};
pub use content::{
    ContentStore, DataCounts, DataKind, GroupReport, Publishable, PublishableId, PublishableKind,
};
pub use deletion::{
    ConsumerDataStore, DeletionEvent, OrgDeletion, OrgDeletionStore, OrgPhone, ThrottleKeys,
};
pub use groups::GroupStore;
pub use jobs::{
    FilesExpiry, Heartbeat, JobCheckpoint, JobEnd, JobLease, JobOutput, JobQuery, JobStore, JobTx,
    NoteKind, OutcomeRun, RowError, RowOutcome, StepWork,
};
pub use lifecycle::{LifecycleStore, PurgeAttachment, PurgeKind, PurgedUser};
pub use orgs::OrgStore;
pub use sessions::SessionStore;
pub use users::{AttributeRewrite, UserQuery, UserSort, UserStore};

/// Every area's trait, so that `use steward_store::prelude::*;` brings all of a
/// store's methods into scope.
pub mod prelude {
    pub use crate::{
        ArchiveStore, AuditStore, ConsumerDataStore, ContentStore, GroupStore, JobStore,
        LifecycleStore, OrgDeletionStore, OrgStore, SessionStore, Store, UserStore,
    };
}

/// What can go wrong in a store. Backend details stay in `Backend` for logs; callers
/// decide what a person sees.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The worker no longer holds the job (its lease ran out and another worker took
    /// it, or the job was finished): its work must not be committed.
    #[error("the job's lease was lost")]
    LeaseLost,
    /// Data in the store could not be read back into domain values.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// Why a write clashed with what is stored. The store says what clashed; the use
/// cases word the message for a person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A row with the same unique key exists (a phone in the org, an email, a key).
    #[error("a row with the same key exists")]
    Duplicate,
    /// The write names a row that does not exist in the org.
    #[error("the write refers to a row that does not exist")]
    MissingReference,
    /// Another rule of the store refused the write, e.g. a change to an append-only
    /// row or a state a job cannot move to.
    #[error("{0}")]
    Rule(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a list, with an opaque cursor for the next page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

/// A token as found by its secret's hash.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenHash(pub [u8; 32]);

/// The storage interface: every area's methods, and the jobs. Methods are shaped like
/// use cases; each is one transaction.
pub trait Store:
    OrgStore
    + SessionStore
    + UserStore
    + GroupStore
    + ContentStore
    + AuditStore
    + JobStore
    + LifecycleStore
    + ArchiveStore
    + OrgDeletionStore
    + ConsumerDataStore
    + Send
    + Sync
    + 'static
{
    /// Checks the store answers (for `/readyz`).
    fn ping(&self) -> StoreResult<()>;
}
