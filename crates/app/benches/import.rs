//! Bulk user import: time, rows per second and peak memory, against the `sqlite3` shell
//! importing the same file.
//!
//! `cargo bench -p steward-app --bench import` (1M rows; `ROWS=100000` for a quick run,
//! `ROWS=10000000` for the flat-memory check; `REPEAT=n` runs each phase n times and
//! reports the median, 3 by default up to 100k rows, else 1)
//!
//! One run writes `ROWS` synthetic users as a CSV (as `steward gen users` does), then
//! measures three phases:
//! - the baseline: the `sqlite3` shell `.import`s the file into a fresh table of TEXT
//!   columns with a unique index on the phone column (wall clock and peak RSS of the
//!   child process, through `/usr/bin/time -f %M`);
//! - Steward's first import into a fresh store: enqueue (which copies the file into the
//!   blob store, as an upload does) and the job run, while a reader thread lists a page
//!   of 50 users and gets one user every 20 ms, to show whether the import blocks reads;
//! - Steward's re-import of the same file into the same store (every row unchanged).
//!
//! Each Steward phase runs in a process of its own (this program again), as the CLI
//! would, so its peak RSS (`VmHWM`) is that phase's alone. The table ends with the ratios against the goals: first import no
//! slower than sqlite3, re-import at most 0.6 of the first, peak RSS at most 256 MiB.
//!
//! Then the isolation figure: a first import of `ISOLATION_ROWS` rows (100k by
//! default) into an org of a store where `NOISY_ORGS` other orgs (50) each define 20
//! attributes of their own and hold `NOISY_USERS` users (2,000) with values for them,
//! against the same import into a store holding only that org (goal: at most 1.2x).
//! `ISOLATION_ROWS=0` skips it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use steward_app::jobs::{self, Worker, WorkerConfig};
use steward_app::synthetic::{self, People};
use steward_app::{App, SystemClock, import, orgs};
use steward_domain::{
    AttributeDef, AttributeKey, AttributeType, AttributeValue, Job, OrgId, PersonName, PhoneNumber,
    UserSource, UserUpsert,
};
use steward_store::prelude::*;
use steward_store::{LocalBlobStore, UserQuery};
use steward_store_sqlite::SqliteStore;

const SEED: u64 = 1;
const TIME: &str = "/usr/bin/time";
const GOAL_FIRST_VS_SQLITE: f64 = 1.0;
const GOAL_REIMPORT_VS_FIRST: f64 = 0.6;
const GOAL_PEAK_MIB: f64 = 256.0;
const MIB_BYTES: f64 = 1024.0 * 1024.0;

/// One run of one phase.
struct Run {
    secs: f64,
    /// Peak RSS during the phase, if it could be measured.
    peak_mib: Option<f64>,
    /// RSS when the phase began (Steward phases only; their peak includes it).
    start_mib: Option<f64>,
}

impl Run {
    fn describe(&self) -> String {
        let mib = |m: Option<f64>| m.map_or("n/a".into(), |m| format!("{m:.0}"));
        match self.start_mib {
            Some(_) => format!(
                "{:.2} s, peak {} MiB from {}",
                self.secs,
                mib(self.peak_mib),
                mib(self.start_mib)
            ),
            None => format!("{:.2} s, peak {} MiB", self.secs, mib(self.peak_mib)),
        }
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Set in the child process that runs one Steward phase: `first` or `again`.
const PHASE_ENV: &str = "IMPORT_BENCH_PHASE";

fn main() {
    if let Ok(phase) = std::env::var(PHASE_ENV) {
        run_phase(&phase);
        return;
    }
    let rows = env_or("ROWS", 1_000_000);
    let repeat = env_or("REPEAT", if rows <= 100_000 { 3 } else { 1 }).max(1);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let csv = dir.path().join("users.csv");

    let start = Instant::now();
    let mut out = BufWriter::new(File::create(&csv).expect("create the CSV"));
    synthetic::write_users_csv(rows, SEED, &mut out).expect("write the CSV");
    out.flush().expect("write the CSV");
    drop(out);
    let size = std::fs::metadata(&csv).expect("the CSV").len();
    println!(
        "{rows} synthetic users, {:.0} MiB of CSV, written in {:.1} s; {repeat} run(s) per phase",
        size as f64 / MIB_BYTES,
        start.elapsed().as_secs_f64()
    );

    let mut sqlite = Vec::new();
    let mut first = Vec::new();
    let mut again = Vec::new();
    let mut list_ms = Vec::new();
    let mut get_ms = Vec::new();
    let mut idle_list_ms = Vec::new();
    let mut idle_get_ms = Vec::new();
    for round in 1..=repeat {
        match sqlite_import(&csv, dir.path(), rows) {
            Ok(run) => sqlite.push(run),
            Err(why) => {
                if round == 1 {
                    println!("sqlite3 baseline skipped: {why}");
                }
            }
        }

        // Each Steward phase runs in a process of its own, so its peak RSS is its own.
        let store = tempfile::tempdir_in(dir.path()).expect("a store directory");
        let org = Bench::create(store.path());
        let (run, reads) = phase_in_child("first", store.path(), org, &csv, rows);
        first.push(run);
        list_ms.extend(reads.list_ms);
        get_ms.extend(reads.get_ms);
        idle_list_ms.extend(reads.idle_list_ms);
        idle_get_ms.extend(reads.idle_get_ms);
        again.push(phase_in_child("again", store.path(), org, &csv, rows).0);
        let baseline = sqlite.last().filter(|_| sqlite.len() == round as usize);
        println!(
            "run {round}/{repeat}: sqlite3 {}; first import {}; re-import {}",
            baseline.map_or("n/a".into(), Run::describe),
            first.last().map_or("n/a".into(), Run::describe),
            again.last().map_or("n/a".into(), Run::describe),
        );
    }

    report(rows, &sqlite, &first, &again);
    println!();
    println!("API reads during the first import (a call every 20 ms):");
    print_latencies(&list_ms, &get_ms);
    println!("The same reads on the idle store after it:");
    print_latencies(&idle_list_ms, &idle_get_ms);

    let isolation_rows = env_or("ISOLATION_ROWS", 100_000);
    if isolation_rows > 0 {
        isolation(dir.path(), isolation_rows, repeat);
    }
}

const GOAL_ISOLATION: f64 = 1.2;

/// The isolation figure: the same first import, alone in its store and beside many
/// orgs with schemas of their own.
fn isolation(dir: &Path, rows: u64, repeat: u64) {
    let noisy_orgs = env_or("NOISY_ORGS", 50);
    let noisy_users = env_or("NOISY_USERS", 2_000);
    let csv = dir.join("isolation.csv");
    let mut out = BufWriter::new(File::create(&csv).expect("create the CSV"));
    synthetic::write_users_csv(rows, SEED, &mut out).expect("write the CSV");
    out.flush().expect("write the CSV");
    drop(out);
    let mut alone = Vec::new();
    let mut beside = Vec::new();
    for round in 1..=repeat {
        let store = tempfile::tempdir_in(dir).expect("a store directory");
        let org = Bench::create(store.path());
        alone.push(Bench::open(store.path(), org).import(&csv).1.secs);
        drop(store);

        let store = tempfile::tempdir_in(dir).expect("a store directory");
        let start = Instant::now();
        fill_noisy_orgs(store.path(), noisy_orgs, noisy_users);
        let filled = start.elapsed().as_secs_f64();
        let org = Bench::create(store.path());
        beside.push(Bench::open(store.path(), org).import(&csv).1.secs);
        println!(
            "isolation run {round}/{repeat}: alone {:.2} s; beside {noisy_orgs} orgs x 20 attributes x {noisy_users} users (filled in {filled:.1} s) {:.2} s",
            alone[alone.len() - 1],
            beside[beside.len() - 1]
        );
    }
    if let (Some(a), Some(b)) = (median(alone), median(beside)) {
        println!(
            "{:<34} {:>9.2}x {:>7.1}x  {}  ({rows} rows: {b:.2} s against {a:.2} s, medians)",
            "isolation: beside others / alone",
            b / a,
            GOAL_ISOLATION,
            if b / a <= GOAL_ISOLATION {
                "met"
            } else {
                "MISSED"
            }
        );
    }
}

/// Makes `orgs` orgs, each with 20 string attributes of its own keys, holding `users`
/// users with a value for each.
fn fill_noisy_orgs(dir: &Path, orgs: u64, users: u64) {
    let bench = Bench::open(dir, OrgId::new());
    let cli = steward_app::audit::AuditContext::cli();
    for o in 0..orgs {
        let org = orgs::create_org(&bench.app, &cli, &format!("Noisy {o}"), "IN").expect("an org");
        let defs: Vec<AttributeDef> = (0..20)
            .map(|a| AttributeDef {
                key: AttributeKey::parse(&format!("o{o}_a{a}")).expect("a key"),
                name: format!("Org {o} attribute {a}"),
                ty: AttributeType::String,
                mandatory: false,
                suggested: false,
            })
            .collect();
        bench
            .store
            .put_attribute_defs(org.id, &defs)
            .expect("the schema");
        let mut people = People::new(1000 + o);
        let rows: Vec<UserUpsert> = (0..users)
            .map(|i| {
                let p = people.next_person();
                UserUpsert {
                    phone: p.phone,
                    name: PersonName::parse(&p.name).expect("a name"),
                    source: UserSource::Upload,
                    attributes: defs
                        .iter()
                        .map(|d| {
                            (
                                d.key.clone(),
                                Some(AttributeValue::String(format!("v{}", i % 17))),
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        for chunk in rows.chunks(5_000) {
            bench
                .store
                .upsert_users(org.id, chunk, chrono::Utc::now())
                .expect("the users");
        }
    }
}

/// Runs one Steward phase in a child process (this program again, with the phase in
/// its environment) and reads back what it printed.
fn phase_in_child(phase: &str, store: &Path, org: OrgId, csv: &Path, rows: u64) -> (Run, Reads) {
    let output = Command::new(std::env::current_exe().expect("this program"))
        .env(PHASE_ENV, phase)
        .env("IMPORT_BENCH_STORE", store)
        .env("IMPORT_BENCH_ORG", org.to_string())
        .env("IMPORT_BENCH_CSV", csv)
        .env("ROWS", rows.to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("run a phase");
    assert!(output.status.success(), "the {phase} phase failed");
    let mut run = Run {
        secs: 0.0,
        peak_mib: None,
        start_mib: None,
    };
    let mut reads = Reads::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(what), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let value: f64 = value.parse().expect("a number");
        match what {
            "secs" => run.secs = value,
            "peak_mib" => run.peak_mib = Some(value),
            "start_mib" => run.start_mib = Some(value),
            "list_ms" => reads.list_ms.push(value),
            "get_ms" => reads.get_ms.push(value),
            "idle_list_ms" => reads.idle_list_ms.push(value),
            "idle_get_ms" => reads.idle_get_ms.push(value),
            _ => {}
        }
    }
    (run, reads)
}

/// The child's side of [`phase_in_child`]: prints `name value` lines.
fn run_phase(phase: &str) {
    let var = |name: &str| std::env::var(name).expect("set by the parent");
    let bench = Bench::open(
        Path::new(&var("IMPORT_BENCH_STORE")),
        var("IMPORT_BENCH_ORG").parse().expect("an org id"),
    );
    let csv = std::path::PathBuf::from(var("IMPORT_BENCH_CSV"));
    let rows = env_or("ROWS", 0);
    let (run, reads) = match phase {
        "first" => bench.first_import(&csv, rows),
        _ => (bench.reimport(&csv, rows), Reads::default()),
    };
    println!("secs {}", run.secs);
    for (name, value) in [("peak_mib", run.peak_mib), ("start_mib", run.start_mib)] {
        if let Some(value) = value {
            println!("{name} {value}");
        }
    }
    for ms in reads.list_ms {
        println!("list_ms {ms}");
    }
    for ms in reads.get_ms {
        println!("get_ms {ms}");
    }
    for ms in reads.idle_list_ms {
        println!("idle_list_ms {ms}");
    }
    for ms in reads.idle_get_ms {
        println!("idle_get_ms {ms}");
    }
}

/// A store with one org in region IN (its international prefix is 00, as in the
/// synthetic phones) carrying the synthetic schema.
struct Bench {
    app: App,
    /// The store itself, for the schema and the reads beside the import.
    store: Arc<SqliteStore>,
    org: OrgId,
}

impl Bench {
    /// Makes the store and its org; returns the org.
    fn create(dir: &Path) -> OrgId {
        let bench = Bench::open(dir, OrgId::new());
        let cli = steward_app::audit::AuditContext::cli();
        let org = orgs::create_org(&bench.app, &cli, "Bench", "IN").expect("an org");
        bench
            .store
            .put_attribute_defs(org.id, &synthetic::attribute_defs())
            .expect("the schema");
        org.id
    }

    fn open(dir: &Path, org: OrgId) -> Bench {
        let store = Arc::new(SqliteStore::open_dir(dir).expect("a store"));
        let blobs = LocalBlobStore::open(dir.join("blobs")).expect("a blob store");
        let app = App::new(store.clone(), Arc::new(blobs), Arc::new(SystemClock));
        Bench { app, store, org }
    }

    /// Enqueues and runs one import of the file, timed together.
    fn import(&self, csv: &Path) -> (Job, Run) {
        let start_mib = proc_status_mib("VmRSS:");
        let start = Instant::now();
        let job = enqueue(&self.app, self.org, csv);
        let config = WorkerConfig {
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(10),
            ..WorkerConfig::default()
        };
        let job = Worker::new(
            self.app.clone(),
            Arc::new(jobs::registry()),
            config,
            Arc::new(AtomicBool::new(false)),
        )
        .run_next(Some(job.id))
        .expect("the store answers")
        .expect("the job was claimed");
        let secs = start.elapsed().as_secs_f64();
        let peak_mib = proc_status_mib("VmHWM:");
        let run = Run {
            secs,
            peak_mib,
            start_mib,
        };
        (job, run)
    }

    fn first_import(&self, csv: &Path, rows: u64) -> (Run, Reads) {
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let store = Arc::clone(&self.store);
            let stop = Arc::clone(&stop);
            let org = self.org;
            let phone = People::new(SEED).next_person().phone;
            std::thread::spawn(move || read_while_importing(&*store, org, &phone, &stop))
        };
        let (job, run) = self.import(csv);
        stop.store(true, Ordering::SeqCst);
        let mut reads = reader.join().expect("the reader thread");
        // The same reads on the idle store, as the baseline for those above.
        let phone = People::new(SEED).next_person().phone;
        for _ in 0..reads.list_ms.len().min(200) {
            let (list, get) = read_once(&*self.store, self.org, &phone);
            reads.idle_list_ms.push(list);
            reads.idle_get_ms.push(get);
        }
        let c = &job.counts;
        if c.get("failed") != 0 || c.get("created") != rows {
            println!(
                "first import: {:?}, {} created, {} failed of {rows} (expected all created)",
                job.status,
                c.get("created"),
                c.get("failed")
            );
            print_error_summary(&*self.store, self.org, &job);
        }
        (run, reads)
    }

    fn reimport(&self, csv: &Path, rows: u64) -> Run {
        let (job, run) = self.import(csv);
        let c = &job.counts;
        if c.get("unchanged") != rows {
            println!(
                "re-import: {:?}, {} unchanged, {} updated, {} created, {} failed of {rows} (expected all unchanged)",
                job.status,
                c.get("unchanged"),
                c.get("updated"),
                c.get("created"),
                c.get("failed")
            );
            print_error_summary(&*self.store, self.org, &job);
        }
        run
    }
}

/// The one call to `import::enqueue`, so a change of its signature is a one-line change.
fn enqueue(app: &App, org: OrgId, csv: &Path) -> Job {
    let mut file = File::open(csv).expect("open the CSV");
    let new = import::NewImport {
        file_name: "users.csv".into(),
        created_by: "bench".into(),
        ..import::NewImport::default()
    };
    import::enqueue(app, org, new, &mut file).expect("enqueue the import")
}

/// Latencies of API reads made while the first import ran.
#[derive(Default)]
struct Reads {
    list_ms: Vec<f64>,
    get_ms: Vec<f64>,
    idle_list_ms: Vec<f64>,
    idle_get_ms: Vec<f64>,
}

/// One page of 50 users (with its total) and one user by phone: milliseconds each.
fn read_once(store: &dyn Store, org: OrgId, phone: &PhoneNumber) -> (f64, f64) {
    let query = UserQuery {
        limit: 50,
        ..UserQuery::default()
    };
    let t = Instant::now();
    store.list_users(org, &query).expect("a page of users");
    let list = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    store.get_user(org, phone).expect("a user or none");
    (list, t.elapsed().as_secs_f64() * 1000.0)
}

fn read_while_importing(
    store: &dyn Store,
    org: OrgId,
    phone: &PhoneNumber,
    stop: &AtomicBool,
) -> Reads {
    let mut reads = Reads::default();
    while !stop.load(Ordering::SeqCst) {
        let (list, get) = read_once(store, org, phone);
        reads.list_ms.push(list);
        reads.get_ms.push(get);
        std::thread::sleep(Duration::from_millis(20));
    }
    reads
}

/// The job's row errors grouped by column and reason, most frequent first.
fn print_error_summary(store: &dyn Store, org: OrgId, job: &Job) {
    if let Some(error) = &job.error {
        println!("  job error: {error}");
    }
    let mut by_reason: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = store
            .job_errors(org, job.id, after, 1000)
            .expect("the error log");
        let Some(last) = page.last() else { break };
        after = last.row;
        for e in page {
            let entry = by_reason
                .entry((e.column, e.reason))
                .or_insert((0, e.value));
            entry.0 += 1;
        }
    }
    let mut reasons: Vec<_> = by_reason.into_iter().collect();
    reasons.sort_by_key(|(_, (count, _))| std::cmp::Reverse(*count));
    for ((column, reason), (count, example)) in reasons.iter().take(10) {
        println!("  {count:>9} x {column}: {reason} (e.g. {example:?})");
    }
}

/// The sqlite3 shell imports the file into a fresh database: a table of TEXT columns
/// and a unique index on the phone column.
fn sqlite_import(csv: &Path, dir: &Path, rows: u64) -> Result<Run, String> {
    if Command::new("sqlite3").arg("-version").output().is_err() {
        return Err("no sqlite3 on PATH (install it with `apt-get install sqlite3`)".into());
    }
    let db = dir.join("baseline.db");
    let _ = std::fs::remove_file(&db);
    let columns: Vec<String> = synthetic::header()
        .iter()
        .map(|h| format!("\"{h}\" TEXT"))
        .collect();
    let script = format!(
        "PRAGMA cache_size=-262144;\n\
         CREATE TABLE t({});\n\
         CREATE UNIQUE INDEX t_phone ON t(\"{}\");\n\
         .mode csv\n\
         .import --skip 1 '{}' t\n",
        columns.join(", "),
        synthetic::header()[0],
        csv.display()
    );
    let rss_file = dir.join("baseline.rss");
    let timed = Path::new(TIME).exists();
    let mut command = if timed {
        let mut c = Command::new(TIME);
        c.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg("sqlite3");
        c
    } else {
        Command::new("sqlite3")
    };
    command
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());

    let start = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run sqlite3: {e}"))?;
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(script.as_bytes())
        .map_err(|e| format!("cannot talk to sqlite3: {e}"))?;
    let output = child
        .wait_with_output()
        .map_err(|e| format!("sqlite3 did not finish: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    if !output.status.success() || !output.stderr.is_empty() {
        return Err(format!(
            "sqlite3 failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }

    let count = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM t")
        .output()
        .map_err(|e| format!("cannot run sqlite3: {e}"))?;
    let count = String::from_utf8_lossy(&count.stdout).trim().to_owned();
    if count != rows.to_string() {
        return Err(format!("sqlite3 imported {count} rows of {rows}"));
    }
    let peak_mib = timed
        .then(|| std::fs::read_to_string(&rss_file).ok())
        .flatten()
        .and_then(|s| s.lines().last()?.trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0);
    let _ = std::fs::remove_file(&db);
    Ok(Run {
        secs,
        peak_mib,
        start_mib: None,
    })
}

/// A `kB` line of /proc/self/status, in MiB.
fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}

/// The value at quantile `q` (0 to 1) of sorted-on-demand samples.
fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let last = v.len().checked_sub(1)?;
    Some(v[((v.len() as f64 * q) as usize).min(last)])
}

fn report(rows: u64, sqlite: &[Run], first: &[Run], again: &[Run]) {
    let mib = |m: Option<f64>| m.map_or("n/a".into(), |m| format!("{m:.0}"));
    let highest =
        |runs: &[Run], f: fn(&Run) -> Option<f64>| runs.iter().filter_map(f).max_by(f64::total_cmp);
    println!();
    println!(
        "{:<30} {:>8} {:>10} {:>14} {:>12}  runs (s)",
        "phase", "wall s", "rows/s", "peak RSS MiB", "RSS at start"
    );
    let phases = [
        ("sqlite3 shell .import", sqlite),
        ("steward first import", first),
        ("steward re-import (unchanged)", again),
    ];
    for (name, runs) in phases {
        let Some(secs) = median(runs.iter().map(|r| r.secs)) else {
            println!("{name:<30} {:>8}", "n/a");
            continue;
        };
        let all: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.secs)).collect();
        println!(
            "{name:<30} {secs:>8.2} {:>10.0} {:>14} {:>12}  {}",
            rows as f64 / secs,
            mib(highest(runs, |r| r.peak_mib)),
            mib(highest(runs, |r| r.start_mib)),
            all.join(" ")
        );
    }
    println!("(wall s: median of runs; peak RSS: the highest of runs)");

    println!();
    println!(
        "{:<34} {:>10} {:>8}",
        "against the goals", "measured", "goal"
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let first_s = median(first.iter().map(|r| r.secs));
    match (first_s, median(sqlite.iter().map(|r| r.secs))) {
        (Some(f), Some(s)) => println!(
            "{:<34} {:>9.2}x {:>7.1}x  {}",
            "first import / sqlite3",
            f / s,
            GOAL_FIRST_VS_SQLITE,
            verdict(f / s <= GOAL_FIRST_VS_SQLITE)
        ),
        _ => println!(
            "{:<34} {:>10} {:>7.1}x  (no sqlite3: `apt-get install sqlite3`)",
            "first import / sqlite3", "n/a", GOAL_FIRST_VS_SQLITE
        ),
    }
    if let (Some(f), Some(a)) = (first_s, median(again.iter().map(|r| r.secs))) {
        println!(
            "{:<34} {:>9.2}x {:>7.1}x  {}",
            "re-import / first import",
            a / f,
            GOAL_REIMPORT_VS_FIRST,
            verdict(a / f <= GOAL_REIMPORT_VS_FIRST)
        );
    }
    let peak = highest(first, |r| r.peak_mib)
        .into_iter()
        .chain(highest(again, |r| r.peak_mib))
        .max_by(f64::total_cmp);
    match peak {
        Some(p) => println!(
            "{:<34} {:>6.0} MiB {:>4.0} MiB  {}",
            "steward peak RSS (either phase)",
            p,
            GOAL_PEAK_MIB,
            verdict(p <= GOAL_PEAK_MIB)
        ),
        None => println!(
            "{:<34} {:>10} (no /proc/self/status)",
            "steward peak RSS (either phase)", "n/a"
        ),
    }
}

fn print_latencies(list_ms: &[f64], get_ms: &[f64]) {
    for (name, samples) in [
        ("list_users, page of 50", list_ms),
        ("get_user by phone", get_ms),
    ] {
        match (
            quantile(samples, 0.5),
            quantile(samples, 0.99),
            quantile(samples, 1.0),
        ) {
            (Some(p50), Some(p99), Some(max)) => println!(
                "  {name:<24} {:>6} calls  median {p50:>7.1} ms  p99 {p99:>7.1} ms  max {max:>7.1} ms",
                samples.len()
            ),
            _ => println!("  {name:<24} no calls"),
        }
    }
}
