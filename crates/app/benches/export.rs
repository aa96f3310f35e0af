//! Tenant export: `write_archive` against, in the same run, the `sqlite3` shell dumping
//! the same tables as CSV piped into `zip -6` (what an admin with shell access would
//! do), and a users-only archive against `sqlite3 -csv` of the users table.
//!
//! `cargo bench -p steward-app --bench export` (1M users and 5M messages;
//! `USERS=100000 MESSAGES=500000` for a quick run; `REPEAT=n` runs each phase n times
//! and reports the median, 3 by default; `EXPORT_BENCH_DIR=DIR` keeps the generated
//! tenant in DIR and reuses it on the next run with the same sizes: delete DIR after)
//!
//! One run generates the tenant once (`steward gen tenant`'s generator: people with 7
//! attributes, groups, memberships, messages, actions, responses, connectors,
//! telemetry), then measures, each phase alternating with its baseline:
//! - tenant: `sqlite3 -csv -header` of every table of the org (and its jobs from the
//!   shared file), each piped into `zip -6 -q` (one zip per table), against
//!   `write_archive` of everything (deflate level 1 on two threads, SHA-256 of every
//!   file, manifest);
//! - users: `sqlite3 -csv -header` of the users table into a file, against
//!   `write_archive` of the users kind alone (deflated).
//!
//! Each Steward phase runs in a process of its own (this program again), so its peak
//! RSS (`VmHWM`) is the export's alone. Goals: tenant at most 0.33x the baseline,
//! users at most 0.5x, peak RSS at most 64 MiB.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use steward_app::archive::{ArchiveKind, ArchiveScope, write_archive};
use steward_app::audit::AuditContext;
use steward_app::synthetic::tenant::{self, TenantSize};
use steward_app::{App, SystemClock, orgs};
use steward_domain::OrgId;
use steward_store::LocalBlobStore;
use steward_store_sqlite::SqliteStore;

const SEED: u64 = 1;
const GOAL_TENANT: f64 = 0.33;
const GOAL_USERS: f64 = 0.5;
const GOAL_PEAK_MIB: f64 = 64.0;
const MIB: f64 = 1024.0 * 1024.0;
/// Set in the child process that runs one Steward phase: `tenant` or `users`.
const PHASE_ENV: &str = "EXPORT_BENCH_PHASE";

/// The org file's tables and the shared file's jobs table, as the archive reads them.
const ORG_TABLES: [&str; 13] = [
    "users",
    "attribute_defs",
    "groups",
    "memberships",
    "messages",
    "attachments",
    "actions",
    "action_publications",
    "action_responses",
    "connectors",
    "connector_publications",
    "telemetry_events",
    "audit_events",
];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// One measured run.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    secs: f64,
    peak_mib: Option<f64>,
    /// Bytes of CSV written (uncompressed).
    csv_bytes: u64,
    /// Bytes of the compressed output.
    out_bytes: u64,
}

fn main() {
    if let Ok(phase) = std::env::var(PHASE_ENV) {
        run_phase(&phase);
        return;
    }
    let users = env_or("USERS", 1_000_000);
    let messages = env_or("MESSAGES", 5_000_000);
    let repeat = env_or("REPEAT", 3).max(1);
    let kept = std::env::var_os("EXPORT_BENCH_DIR").map(PathBuf::from);
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let data = dir.join("data");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("an output directory");

    let org = tenant_in(&data, users, messages);
    let org_db = data.join("orgs").join(format!("{org}.db"));
    let shared_db = data.join("steward.db");
    let db_mib = std::fs::metadata(&org_db).map_or(0.0, |m| m.len() as f64 / MIB);
    println!(
        "tenant: {users} users, {messages} messages; org file {db_mib:.0} MiB; {repeat} run(s) per phase"
    );
    if Command::new("sqlite3").arg("-version").output().is_err()
        || Command::new("zip").arg("-v").output().is_err()
    {
        println!("baselines skipped: install sqlite3 and zip (apt-get install sqlite3 zip)");
    }

    let mut base_tenant = Vec::new();
    let mut ours_tenant = Vec::new();
    let mut base_users = Vec::new();
    let mut ours_users = Vec::new();
    for round in 1..=repeat {
        if let Some(run) = sqlite_zip_tables(&org_db, &shared_db, org, &out) {
            base_tenant.push(run);
        }
        ours_tenant.push(phase_in_child("tenant", &data, org, &out));
        if let Some(run) = sqlite_csv_users(&org_db, &out) {
            base_users.push(run);
        }
        ours_users.push(phase_in_child("users", &data, org, &out));
        println!(
            "run {round}/{repeat}: tenant: sqlite3|zip -6 {}, steward {}; users: sqlite3 -csv {}, steward {}",
            describe(base_tenant.last()),
            describe(ours_tenant.last()),
            describe(base_users.last()),
            describe(ours_users.last()),
        );
    }
    println!();
    report("tenant archive", &base_tenant, &ours_tenant, GOAL_TENANT);
    report("users only", &base_users, &ours_users, GOAL_USERS);
    drop(temp);
}

fn describe(run: Option<&Run>) -> String {
    match run {
        None => "n/a".into(),
        Some(r) => format!(
            "{:.2} s{}",
            r.secs,
            r.peak_mib
                .map_or(String::new(), |m| format!(" (peak {m:.0} MiB)"))
        ),
    }
}

fn median(mut runs: Vec<Run>) -> Option<Run> {
    runs.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    runs.get(runs.len() / 2).copied()
}

fn report(what: &str, baseline: &[Run], ours: &[Run], goal: f64) {
    let (base, ours) = (median(baseline.to_vec()), median(ours.to_vec()));
    println!("{what} (medians):");
    if let Some(b) = base {
        println!(
            "  baseline {:>7.2} s  {:>7.1} MB/s of CSV  output {:>7.1} MiB",
            b.secs,
            b.csv_bytes as f64 / 1e6 / b.secs,
            b.out_bytes as f64 / MIB
        );
    }
    if let Some(o) = ours {
        println!(
            "  steward  {:>7.2} s  {:>7.1} MB/s of CSV  output {:>7.1} MiB  peak RSS {}",
            o.secs,
            o.csv_bytes as f64 / 1e6 / o.secs,
            o.out_bytes as f64 / MIB,
            o.peak_mib.map_or("n/a".into(), |m| format!("{m:.0} MiB"))
        );
    }
    if let (Some(b), Some(o)) = (base, ours) {
        let ratio = o.secs / b.secs;
        println!(
            "  ratio {ratio:.2}x (goal <= {goal}x: {}); peak RSS goal <= {GOAL_PEAK_MIB} MiB: {}",
            if ratio <= goal { "met" } else { "NOT met" },
            match o.peak_mib {
                Some(m) if m <= GOAL_PEAK_MIB => "met",
                Some(_) => "NOT met",
                None => "n/a",
            }
        );
    }
}

/// The generated tenant in `data`: reused when a previous run left one of the same
/// sizes, else generated (and timed).
fn tenant_in(data: &Path, users: u64, messages: u64) -> OrgId {
    let marker = data.join("bench-tenant.txt");
    let wanted = format!("{users} {messages} {SEED}");
    if let Ok(text) = std::fs::read_to_string(&marker)
        && let Some((sizes, org)) = text.rsplit_once(' ')
        && sizes == wanted
        && let Ok(org) = org.trim().parse()
    {
        println!("reusing the tenant in {}", data.display());
        return org;
    }
    let _ = std::fs::remove_dir_all(data);
    let app = open_app(data);
    let org = orgs::create_org(&app, &AuditContext::cli(), "Bench", "IN")
        .expect("create the org")
        .id;
    let start = Instant::now();
    let mut stage = String::new();
    let report = tenant::generate(
        &app,
        org,
        TenantSize { users, messages },
        SEED,
        &mut |name, _, _| {
            if name != stage {
                println!(
                    "  generating {name} ({:.0} s)",
                    start.elapsed().as_secs_f64()
                );
                stage = name.to_owned();
            }
        },
    )
    .expect("generate the tenant");
    println!(
        "generated {report:?} in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    std::fs::write(&marker, format!("{wanted} {org}")).expect("write the marker");
    org
}

fn open_app(data: &Path) -> App {
    let store = SqliteStore::open_dir(data).expect("open the store");
    let blobs = LocalBlobStore::open(data.join("blobs")).expect("open the blobs");
    App::new(Arc::new(store), Arc::new(blobs), Arc::new(SystemClock))
}

/// The baseline: for each table, `sqlite3 -csv -header DB "SELECT * FROM t" | zip -6
/// -q OUT -`, one after the other, into one zip per table.
fn sqlite_zip_tables(org_db: &Path, shared_db: &Path, org: OrgId, out: &Path) -> Option<Run> {
    let dumps: Vec<(&Path, String, &str)> = ORG_TABLES
        .iter()
        .map(|t| (org_db, format!("SELECT * FROM {t}"), *t))
        .chain([(
            shared_db,
            format!("SELECT * FROM jobs WHERE org_id = '{org}'"),
            "jobs",
        )])
        .collect();
    let mut run = Run::default();
    let start = Instant::now();
    for (db, sql, name) in &dumps {
        let zip_path = out.join(format!("baseline-{name}.zip"));
        let _ = std::fs::remove_file(&zip_path);
        let script = format!(
            "set -o pipefail; sqlite3 -csv -header '{}' \"{sql}\" | zip -6 -q '{}' -",
            db.display(),
            zip_path.display()
        );
        let status = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .stderr(Stdio::inherit())
            .status()
            .ok()?;
        if !status.success() {
            println!("baseline failed on {name}");
            return None;
        }
    }
    run.secs = start.elapsed().as_secs_f64();
    for (db, sql, name) in &dumps {
        let zip_path = out.join(format!("baseline-{name}.zip"));
        run.out_bytes += std::fs::metadata(&zip_path).map_or(0, |m| m.len());
        let _ = std::fs::remove_file(zip_path);
        // The CSV's size, for MB/s: measured again, outside the timed part.
        let counted = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "sqlite3 -csv -header '{}' \"{sql}\" | wc -c",
                db.display()
            ))
            .output()
            .ok()?;
        run.csv_bytes += String::from_utf8_lossy(&counted.stdout)
            .trim()
            .parse::<u64>()
            .unwrap_or(0);
    }
    Some(run)
}

/// The users baseline: `sqlite3 -csv -header DB "SELECT * FROM users" > FILE`.
fn sqlite_csv_users(org_db: &Path, out: &Path) -> Option<Run> {
    let file = out.join("baseline-users.csv");
    let start = Instant::now();
    let status = Command::new("sqlite3")
        .arg("-csv")
        .arg("-header")
        .arg(org_db)
        .arg("SELECT * FROM users")
        .stdout(std::fs::File::create(&file).ok()?)
        .status()
        .ok()?;
    let secs = start.elapsed().as_secs_f64();
    if !status.success() {
        return None;
    }
    let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&file);
    Some(Run {
        secs,
        peak_mib: None,
        csv_bytes: bytes,
        out_bytes: bytes,
    })
}

/// Runs one Steward phase in a child process (this program again) and reads back
/// what it printed.
fn phase_in_child(phase: &str, data: &Path, org: OrgId, out: &Path) -> Run {
    let output = Command::new(std::env::current_exe().expect("this program"))
        .env(PHASE_ENV, phase)
        .env("EXPORT_BENCH_DATA", data)
        .env("EXPORT_BENCH_ORG", org.to_string())
        .env("EXPORT_BENCH_OUT", out)
        .stderr(Stdio::inherit())
        .output()
        .expect("run a phase");
    assert!(output.status.success(), "the {phase} phase failed");
    let mut run = Run::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(what), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let value: f64 = value.parse().expect("a number");
        match what {
            "secs" => run.secs = value,
            "peak_mib" => run.peak_mib = Some(value),
            "csv_bytes" => run.csv_bytes = value as u64,
            "out_bytes" => run.out_bytes = value as u64,
            _ => {}
        }
    }
    run
}

/// The child's side of [`phase_in_child`]: one archive, then `name value` lines.
fn run_phase(phase: &str) {
    let var = |name: &str| std::env::var(name).expect("set by the parent");
    let app = open_app(Path::new(&var("EXPORT_BENCH_DATA")));
    let org: OrgId = var("EXPORT_BENCH_ORG").parse().expect("an org id");
    let scope = match phase {
        "tenant" => ArchiveScope::everything(),
        _ => ArchiveScope {
            kinds: [ArchiveKind::Users].into(),
            ..ArchiveScope::everything()
        },
    };
    let path = Path::new(&var("EXPORT_BENCH_OUT")).join(format!("steward-{phase}.zip"));
    let mut file = std::fs::File::create(&path).expect("create the archive");
    let start = Instant::now();
    let manifest =
        write_archive(&app, org, &scope, &mut file, &mut |_, _| Ok(())).expect("write the archive");
    let secs = start.elapsed().as_secs_f64();
    drop(file);
    let out_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&path);
    println!("secs {secs}");
    if let Some(peak) = proc_status_mib("VmHWM:") {
        println!("peak_mib {peak}");
    }
    println!(
        "csv_bytes {}",
        manifest.files.iter().map(|f| f.bytes).sum::<u64>()
    );
    println!("out_bytes {out_bytes}");
}

fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
