//! The one way to start Steward's server: open the storage backend, bind the listener,
//! start the job workers, then serve until told to stop.
//!
//! `steward serve` and the API tests both go through [`Application::build`], so the
//! tests run the server exactly as it runs in production, only on port 0, on a fresh
//! data directory and, where they need it, with a manual clock.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use steward_app::jobs::{self, Worker, WorkerConfig};
use steward_app::{App, Clock, Limits, SystemClock};
use steward_store::{BlobStore, LocalBlobStore, Store};
use steward_store_sqlite::SqliteStore;
use tokio::net::TcpListener;

use crate::Security;

/// Where the data lives: the embedded store's directory, or a database URL.
#[derive(Clone)]
pub struct StorageConfig {
    /// Data directory of the embedded store: its database file and `blobs/`.
    pub data: PathBuf,
    /// A PostgreSQL URL instead of the embedded store (refused: not supported yet).
    pub database_url: Option<String>,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A database URL can carry a password: never print it.
        f.debug_struct("StorageConfig")
            .field("data", &self.data)
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl StorageConfig {
    /// The embedded store in `data`.
    pub fn embedded(data: impl Into<PathBuf>) -> StorageConfig {
        StorageConfig {
            data: data.into(),
            database_url: None,
        }
    }
}

/// Opens the storage backend that `storage` names. The one place that chooses a
/// backend: the server and every CLI command open their store here.
pub fn open_backend(
    storage: &StorageConfig,
) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn BlobStore>)> {
    if storage.database_url.is_some() {
        bail!(
            "PostgreSQL is not supported yet; unset --database-url to use the embedded store in --data"
        );
    }
    let data = &storage.data;
    let store = SqliteStore::open_dir(data)
        .with_context(|| format!("while opening the store in {}", data.display()))?;
    let blobs = LocalBlobStore::open(data.join("blobs"))
        .with_context(|| format!("while opening the blob store in {}", data.display()))?;
    Ok((Arc::new(store), Arc::new(blobs)))
}

/// Everything the server needs to start.
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (see [`Application::local_addr`]).
    pub listen: String,
    pub storage: StorageConfig,
    /// Number of job workers; 0 runs no jobs in this process.
    pub workers: usize,
    pub worker: WorkerConfig,
    pub security: Security,
    /// The time every use case reads; tests pass a manual clock.
    pub clock: Arc<dyn Clock>,
    /// Per-org limits (attributes, groups, tokens, imports in flight, upload size).
    pub limits: Limits,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("storage", &self.storage)
            .field("workers", &self.workers)
            .field("worker", &self.worker)
            .field("security", &self.security)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// The defaults of `steward serve` on the embedded store in `data`.
    pub fn new(storage: StorageConfig) -> ServerConfig {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            storage,
            workers: 2,
            worker: WorkerConfig::default(),
            security: Security::default(),
            clock: Arc::new(SystemClock),
            limits: Limits::default(),
        }
    }
}

/// A server that is bound and whose job workers run; [`Application::run_until_stopped`]
/// serves requests.
#[derive(Debug)]
pub struct Application {
    app: App,
    security: Arc<Security>,
    listener: TcpListener,
    address: SocketAddr,
    workers: Vec<std::thread::JoinHandle<()>>,
    /// Stops the workers when the application ends, however it ends.
    stop: StopWorkers,
}

impl Application {
    /// Opens the backend, binds the listener and starts the job workers.
    pub async fn build(config: ServerConfig) -> anyhow::Result<Application> {
        let storage = config.storage;
        // Opening runs the migrations: blocking work, kept off the async executor.
        let (store, blobs) = tokio::task::spawn_blocking(move || open_backend(&storage))
            .await
            .context("while opening the store")??;
        let app = App::new(store, blobs, config.clock).with_limits(config.limits);
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("while binding {}", config.listen))?;
        let address = listener
            .local_addr()
            .context("while reading the bound address")?;
        let stop = StopWorkers(Arc::new(AtomicBool::new(false)));
        let registry = Arc::new(jobs::registry());
        let workers = (0..config.workers)
            .map(|_| {
                let worker = Worker::new(
                    app.clone(),
                    registry.clone(),
                    config.worker.clone(),
                    stop.0.clone(),
                );
                std::thread::spawn(move || worker.run())
            })
            .collect();
        Ok(Application {
            app,
            security: Arc::new(config.security),
            listener,
            address,
            workers,
            stop,
        })
    }

    /// The address the server listens on, with the port chosen when it asked for 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The use cases this server runs, for work at start-up (such as the demo org).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves the API until `shutdown` completes, then finishes the requests in flight
    /// and stops the job workers, which hand their running jobs back.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            app,
            security,
            listener,
            address: _,
            workers,
            stop,
        } = self;
        let served = axum::serve(
            listener,
            crate::router(app, security).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        drop(stop);
        // Joining waits for each worker's current step: blocking, so off the executor.
        tokio::task::spawn_blocking(move || {
            for worker in workers {
                if worker.join().is_err() {
                    tracing::error!("a job worker panicked");
                }
            }
        })
        .await
        .context("while stopping the job workers")?;
        served.context("while serving HTTP")
    }
}

/// Signals the job workers to stop when dropped: after a graceful shutdown, and also
/// when the application is dropped without running or its task is cancelled (as at the
/// end of a test), so no worker outlives its server.
#[derive(Debug)]
struct StopWorkers(Arc<AtomicBool>);

impl Drop for StopWorkers {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
