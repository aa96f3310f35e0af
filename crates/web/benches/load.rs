//! Load benchmark: concurrent API clients reading and writing while a large import runs.
//!
//! Starts the real server (`Application::build`, port 0, a fresh data directory) with
//! two orgs carrying the synthetic attribute schema, then:
//! 1. runs the client mix on the idle server (the clients' baseline), in the first org;
//! 2. imports `ROWS` synthetic users (uploaded through the API) into the second org with
//!    no clients running (the import's baseline: its time and rate);
//! 3. imports the same file into the first org while the clients run again.
//!
//! Both imports go into an org that already has users, as an org's imports usually do
//! (an import into an empty org takes the store's bulk path instead). Each client
//! loops: four list reads (a filtered, searched or sorted page of users) for every write
//! (create a user, then rename one). Prints, per phase, reads and writes with
//! p50/p99/max latency and error counts, each import's time and rate and their ratio,
//! and the process's RSS (server and clients share the process): before the import
//! with clients, its peak during it, right after it and `IDLE_SECS` (65) later, when
//! the org's idle connections have closed.
//!
//! `cargo bench -p steward-web --bench load` (1M rows, 16 clients);
//! `ROWS=100000 CLIENTS=8 BASELINE_SECS=5 IDLE_SECS=5 cargo bench -p steward-web --bench
//! load` for a quick run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use steward_app::audit::AuditContext;
use steward_app::{Caller, directory, orgs, synthetic, tokens};
use steward_domain::Role;
use steward_web::{Application, ServerConfig, StorageConfig};

mod support;
use support::{Phase, env_u64, run_clients};

/// A line of `/proc/self/status` in MiB: `VmHWM` (peak RSS) or `VmRSS` (RSS now).
fn status_mib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn peak_rss_mib() -> u64 {
    status_mib("VmHWM:")
}

/// Starts a new peak: `VmHWM` restarts from the RSS now.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn rss_mib() -> u64 {
    status_mib("VmRSS:")
}

struct Target {
    client: reqwest::Client,
    /// The org's API root, `.../api/v1/orgs/{org}`.
    org: String,
    users: String,
    token: String,
}

impl Target {
    /// An org with the synthetic schema, one user (so an import takes the usual path,
    /// not the bulk path of an empty org) and an admin token.
    async fn org(app: &steward_app::App, base: &str, name: &str) -> Target {
        let org = orgs::create_org(app, &AuditContext::cli(), name, "IN").expect("an org");
        let operator = Caller::operator(app, org.id).expect("the operator");
        directory::save_schema(app, &operator, synthetic::attribute_defs(), false)
            .expect("the schema");
        let (_, token) =
            tokens::create_token(app, org.id, Role::OrgAdmin, "load", None).expect("a token");
        let org = format!("{base}/api/v1/orgs/{}", org.id);
        let target = Target {
            client: reqwest::Client::new(),
            users: format!("{org}/users"),
            org,
            token,
        };
        let first = target
            .client
            .post(&target.users)
            .bearer_auth(&target.token)
            .json(&json!({"phone": "+14153000000", "name": "First User",
                "attributes": {"employee_id": "L-0"}}))
            .send()
            .await
            .expect("the first user");
        assert!(
            first.status().is_success(),
            "the first user: {}",
            first.status()
        );
        target
    }

    /// Uploads the CSV as an import and waits for the job to finish: the finished job.
    async fn import(&self, csv: &std::path::Path) -> Value {
        let body = tokio::fs::read(csv).await.expect("the CSV bytes");
        let job: Value = self
            .client
            .post(format!("{}/imports?file_name=users.csv", self.org))
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .expect("the upload")
            .json()
            .await
            .expect("the job");
        let url = format!(
            "{}/imports/{}",
            self.org,
            job["id"].as_str().expect("a job id")
        );
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let job: Value = match self.client.get(&url).bearer_auth(&self.token).send().await {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            if !job["finished_at"].is_null() {
                return job;
            }
        }
    }
}

/// One client: four reads per write until `stop`; `next_phone` hands out new numbers.
async fn client_loop(
    target: Arc<Target>,
    n: u64,
    stop: Arc<AtomicBool>,
    next_phone: Arc<AtomicU64>,
) -> Phase {
    let mut phase = Phase::default();
    let reads = [
        "?limit=50",
        "?limit=50&filter.department=Sales",
        "?limit=50&q=%2B9198",
        "?limit=50&sort=name",
    ];
    let mut i = n;
    let mut mine: Vec<String> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let started = Instant::now();
        let (samples, ok) = if i.is_multiple_of(5) {
            let phone = format!(
                "+14152{:06}",
                next_phone.fetch_add(1, Ordering::Relaxed) % 1_000_000
            );
            let response = if mine.len() < 20 || i.is_multiple_of(2) {
                let body = json!({"phone": phone, "name": "Load Test",
                    "attributes": {"employee_id": format!("L-{i}")}});
                mine.push(phone);
                target
                    .client
                    .post(&target.users)
                    .bearer_auth(&target.token)
                    .json(&body)
                    .send()
                    .await
            } else {
                let who = &mine[(i as usize) % mine.len()];
                target
                    .client
                    .patch(format!("{}/{}", target.users, who))
                    .bearer_auth(&target.token)
                    .json(&json!({"name": format!("Load Test {i}")}))
                    .send()
                    .await
            };
            (
                &mut phase.writes,
                response.is_ok_and(|r| r.status().is_success()),
            )
        } else {
            let query = reads[(i as usize) % reads.len()];
            let response = target
                .client
                .get(format!("{}{query}", target.users))
                .bearer_auth(&target.token)
                .send()
                .await;
            let ok = match response {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            (&mut phase.reads, ok)
        };
        samples.record(started, ok);
    }
    phase
}

fn main() {
    let rows = env_u64("ROWS", 1_000_000);
    let clients = env_u64("CLIENTS", 16);
    let baseline_secs = env_u64("BASELINE_SECS", 10);
    let idle_secs = env_u64("IDLE_SECS", 65);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a data directory");
        let csv = dir.path().join("users.csv");
        let file = std::fs::File::create(&csv).expect("the CSV file");
        synthetic::write_users_csv(rows, 7, std::io::BufWriter::new(file)).expect("the CSV");
        let csv_mib = std::fs::metadata(&csv).expect("the CSV").len() >> 20;

        let config = ServerConfig {
            listen: "127.0.0.1:0".into(),
            ..ServerConfig::new(StorageConfig::embedded(dir.path().join("data")))
        };
        let server = Application::build(config).await.expect("the server");
        let app = server.app().clone();
        let base = format!("http://127.0.0.1:{}", server.port());
        let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let target = Arc::new(Target::org(&app, &base, "Load").await);
        let alone = Target::org(&app, &base, "Alone").await;
        let next_phone = Arc::new(AtomicU64::new(0));

        println!(
            "Load: {clients} clients (4 reads : 1 write), imports of {rows} users \
             ({csv_mib} MiB of CSV); {} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let mut idle = run_clients(
            clients,
            |n, stop| client_loop(target.clone(), n, stop, next_phone.clone()),
            tokio::time::sleep(Duration::from_secs(baseline_secs)),
        )
        .await;
        println!("Idle server ({baseline_secs} s):");
        println!("  {}", idle.reads.report("reads"));
        println!("  {}", idle.writes.report("writes"));

        let started = Instant::now();
        let job = alone.import(&csv).await;
        let alone_secs = started.elapsed().as_secs_f64();
        println!(
            "Import alone: {alone_secs:.1} s, {:.0} rows/s, {} {}",
            rows as f64 / alone_secs,
            job["status"].as_str().unwrap_or("?"),
            job["counts"]
        );

        let before = rss_mib();
        reset_peak_rss();
        let started = Instant::now();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Value>();
        let importer = {
            let target = target.clone();
            let csv = csv.clone();
            tokio::spawn(async move {
                let _ = done_tx.send(target.import(&csv).await);
            })
        };
        let finished = Arc::new(tokio::sync::Mutex::new(Value::Null));
        let slot = finished.clone();
        let mut busy = run_clients(
            clients,
            |n, stop| client_loop(target.clone(), n, stop, next_phone.clone()),
            async move {
                *slot.lock().await = done_rx.await.unwrap_or(Value::Null);
            },
        )
        .await;
        let secs = started.elapsed().as_secs_f64();
        let _ = importer.await;
        let job = finished.lock().await.clone();
        println!(
            "During the import ({secs:.1} s, {:.0} rows/s, {:.2}x the import alone, {} {}):",
            rows as f64 / secs,
            secs / alone_secs,
            job["status"].as_str().unwrap_or("?"),
            job["counts"]
        );
        println!("  {}", busy.reads.report("reads"));
        println!("  {}", busy.writes.report("writes"));
        let peak = peak_rss_mib();
        let after = rss_mib();
        tokio::time::sleep(Duration::from_secs(idle_secs)).await;
        println!(
            "RSS of the process (server and clients): before the import with clients \
             {before} MiB, peak during it {peak} MiB, right after {after} MiB, {idle_secs} s \
             idle later {} MiB",
            rss_mib()
        );
        let _ = stop_server.send(());
        let _ = serving.await;
    });
}
