//! The `steward` binary, run as a person or a script would: real processes on one
//! data directory, killed and restarted.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn steward(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steward"));
    command
        .env("STEWARD_DATA", data)
        .env_remove("STEWARD_DATABASE_URL")
        .env("STEWARD_JOB_LEASE_SECS", "2");
    command
}

fn run(data: &Path, args: &[&str]) -> Output {
    steward(data).args(args).output().unwrap()
}

fn run_json(data: &Path, args: &[&str]) -> Value {
    let out = run(data, args);
    assert!(
        out.status.success(),
        "steward {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An org whose schema has the synthetic attributes, and a CSV of `rows` users.
fn org_with_users_file(data: &Path, rows: u64) -> (String, std::path::PathBuf) {
    let org = run_json(data, &["org", "create", "--name", "Fabrikam", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let demo_schema = serde_json::json!({"attributes": [
        {"key": "employee_id", "name": "Employee ID", "type": "string", "mandatory": true},
        {"key": "department", "name": "Department", "type": "string"},
        {"key": "job_title", "name": "Job Title", "type": "string"},
        {"key": "location", "name": "Location", "type": "string"},
        {"key": "hire_date", "name": "Hire Date", "type": "datetime"},
        {"key": "remote", "name": "Remote", "type": "yes_no"},
        {"key": "level", "name": "Level", "type": "number"}
    ]});
    let mut set = steward(data)
        .args(["attributes", "set", "--org", &org])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    set.stdin
        .take()
        .unwrap()
        .write_all(demo_schema.to_string().as_bytes())
        .unwrap();
    assert!(set.wait().unwrap().success());
    let file = data.join("users.csv");
    let out = run(
        data,
        &["gen", "users", "--rows", &rows.to_string(), "--seed", "42"],
    );
    assert!(out.status.success());
    std::fs::write(&file, out.stdout).unwrap();
    (org, file)
}

/// Starts `steward serve` on a free port; returns the process and its base URL.
fn serve(data: &Path) -> (Child, String) {
    let mut child = steward(data)
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Steward is listening on ") {
            return (child, url.to_owned());
        }
    }
    let status = child.wait().unwrap();
    panic!("steward serve exited before listening: {status}");
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    child.wait().unwrap()
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn importing_the_same_file_again_after_a_kill_resumes_the_unfinished_job() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let rows = 150_000;
    let (org, file) = org_with_users_file(data, rows);
    let import = || {
        let mut command = steward(data);
        command.args([
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ]);
        command
    };
    let mut first = import()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut job = Value::Null;
    wait_for(
        "the import to commit its first step",
        Duration::from_secs(120),
        || {
            let list = run_json(data, &["jobs", "list", "--org", &org, "--json"]);
            job = list["items"][0].clone();
            job["progress"]["done"].as_u64().unwrap_or(0) >= 50_000
        },
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let id = job["id"].as_str().unwrap().to_owned();

    let again = import().output().unwrap();
    assert!(again.status.success(), "{again:?}");
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains(&format!("Resuming import {id}")),
        "says it resumes: {said}"
    );
    let finished: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        finished["id"],
        id.as_str(),
        "the same job, not a second one"
    );
    assert_eq!(finished["status"], "completed", "{finished}");
    assert_eq!(finished["counts"]["created"], rows, "{finished}");
    let list = run_json(data, &["jobs", "list", "--org", &org, "--json"]);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn an_import_killed_mid_job_finishes_exactly_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let rows = 200_000;
    let (org, file) = org_with_users_file(data, rows);

    let mut import = steward(data)
        .args([
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut job = Value::Null;
    wait_for(
        "the import to commit its first steps",
        Duration::from_secs(120),
        || {
            let list = run_json(data, &["jobs", "list", "--org", &org, "--json"]);
            job = list["items"][0].clone();
            job["progress"]["done"].as_u64().unwrap_or(0) >= 50_000
        },
    );
    import.kill().unwrap();
    import.wait().unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let killed = run_json(data, &["jobs", "show", &id, "--json"]);
    let done_at_kill = killed["progress"]["done"].as_u64().unwrap();
    assert_eq!(killed["status"], "running", "killed mid-job: {killed}");
    assert!(
        done_at_kill < rows,
        "the kill came before the end ({done_at_kill} of {rows})"
    );

    // A server on the same data takes the job over once the dead worker's lease ends.
    let (mut server, _) = serve(data);
    let mut finished = Value::Null;
    wait_for(
        "the resumed job to finish",
        Duration::from_secs(120),
        || {
            finished = run_json(data, &["jobs", "show", &id, "--json"]);
            finished["finished_at"] != Value::Null
        },
    );
    assert_eq!(finished["status"], "completed", "{finished}");
    // One crashed run and at least one resumed run: with the tests' 2-second lease a
    // heartbeat that waits behind a long import step on a loaded machine can lose the
    // lease to the server's other worker, which resumes again; the counts below prove
    // every row still landed exactly once.
    assert!(
        finished["attempts"].as_u64().unwrap() >= 2,
        "one crashed run and a resumed run: {finished}"
    );
    assert_eq!(finished["progress"]["done"], rows);
    let counts = &finished["counts"];
    assert_eq!(counts["created"], rows, "every row created once: {counts}");
    assert_eq!(
        (
            counts["updated"].as_u64(),
            counts["unchanged"].as_u64(),
            counts["failed"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert!(
        terminate(&mut server).success(),
        "SIGTERM shuts the server down cleanly"
    );

    // The store holds exactly the rows of the file: importing it again changes nothing.
    let again = run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    assert_eq!(again["counts"]["unchanged"], rows, "{again}");
    assert_eq!(again["counts"]["created"], 0);
}

#[test]
fn the_cli_works_on_the_data_directory_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (mut server, base) = serve(data);
    let (org, file) = org_with_users_file(data, 500);
    let token = run_json(data, &["token", "create", "--org", &org, "--json"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    assert_eq!(job["status"], "completed");
    assert_eq!(job["counts"]["created"], 500);

    let client = reqwest::blocking::Client::new();
    let page: Value = client
        .get(format!("{base}/api/v1/orgs/{org}/users?limit=3"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["total"], 500);
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert!(terminate(&mut server).success());
}

#[test]
fn the_demo_org_is_created_once_and_answers_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let first = run_json(data, &["demo", "--json"]);
    let second = run_json(data, &["demo", "--json"]);
    assert_eq!(first["id"], second["id"], "the demo is created once");
    assert_ne!(
        first["token"], second["token"],
        "each run prints a fresh token"
    );

    let (mut server, base) = serve(data);
    let org = first["id"].as_str().unwrap();
    let page: Value = reqwest::blocking::Client::new()
        .get(format!("{base}/api/v1/orgs/{org}/users?limit=1"))
        .bearer_auth(first["token"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["total"], 500);
    assert!(terminate(&mut server).success());
}

#[test]
fn serve_demo_on_a_fresh_data_directory_logs_no_error() {
    // The pool's connections used to switch a fresh database file to WAL all at
    // once, and the losers logged "database is locked".
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let mut server = steward(&data)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "2",
        ])
        .env("STEWARD_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr on its own thread so the server never blocks on a full pipe.
    let mut stderr = server.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    let base = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find_map(|line| {
            line.strip_prefix("Steward is listening on ")
                .map(str::to_owned)
        })
        .expect("steward serve --demo exited before listening");
    let ready = reqwest::blocking::get(format!("{base}/readyz")).unwrap();
    assert!(ready.status().is_success());

    assert!(terminate(&mut server).success());
    let log = log.join().unwrap();
    assert!(
        log.contains("steward is serving"),
        "the log was captured: {log}"
    );
    assert!(!log.contains("ERROR"), "{log}");
}

#[test]
fn bad_usage_exits_2_and_a_failed_operation_exits_1_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert_eq!(run(data, &["org", "create"]).status.code(), Some(2));
    let out = run(data, &["token", "create", "--org", "not-an-id"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: \"not-an-id\" is not an org id"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1);
}

#[test]
fn out_of_range_numbers_are_refused_in_one_sentence_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let org = run_json(data, &["org", "create", "--name", "Contoso", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for args in [
        vec![
            "token",
            "create",
            "--org",
            &org,
            "--expires-days",
            "100000000",
        ],
        vec!["token", "create", "--org", &org, "--expires-days", "0"],
        vec!["audit", "--org", &org, "--limit", "5000000"],
        vec!["otp", "outbox", "--limit", "0"],
        vec!["gen", "users", "--rows", "100000000000"],
        vec![
            "--job-lease-secs",
            "18446744073709551615",
            "jobs",
            "list",
            "--org",
            &org,
        ],
        vec!["serve", "--workers", "1000000"],
    ] {
        let out = run(data, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let ok = run(
        data,
        &["token", "create", "--org", &org, "--expires-days", "3650"],
    );
    assert!(ok.status.success());
}

#[test]
fn gen_tenant_fills_an_empty_org_and_refuses_one_with_users() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let org = run_json(data, &["org", "create", "--name", "Bench", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let args = [
        "gen",
        "tenant",
        "--org",
        &org,
        "--users",
        "120",
        "--messages",
        "500",
        "--json",
    ];
    let report = run_json(data, &args);
    assert_eq!(report["users"], 120);
    assert_eq!(report["messages"], 500);
    assert!(report["groups"].as_u64().unwrap() > 10);
    assert!(report["memberships"].as_u64().unwrap() >= 120);
    assert!(report["responses"].as_u64().unwrap() > 0);
    let again = run(data, &args);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has users"));
}

#[test]
fn gen_users_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), &["gen", "users", "--rows", "50", "--seed", "9"]).stdout;
    let b = run(dir.path(), &["gen", "users", "--rows", "50", "--seed", "9"]).stdout;
    assert_eq!(a, b);
    assert_eq!(String::from_utf8(a).unwrap().lines().count(), 51);
}

#[test]
fn an_admin_added_at_the_command_line_signs_in_and_the_change_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let org = run_json(data, &["org", "create", "--name", "Contoso", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut add = steward(data)
        .args([
            "admin",
            "add",
            "--org",
            &org,
            "--email",
            "ada@contoso.example",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        added["password"],
        Value::Null,
        "a password from stdin is not echoed"
    );

    let generated = steward(data)
        .args([
            "admin",
            "add",
            "--org",
            &org,
            "--email",
            "bob@contoso.example",
            "--json",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let generated: Value = serde_json::from_slice(&generated.stdout).unwrap();
    let password = generated["password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 12);

    let (mut server, base) = serve(data);
    let login = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "bob@contoso.example", "password": password}))
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(terminate(&mut server).success());

    let audit = run_json(data, &["audit", "--org", &org, "--json"]);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["auth.login", "admin.add", "admin.add", "org.create"],
        "newest first"
    );
    let mut short = steward(data)
        .args([
            "admin",
            "add",
            "--org",
            &org,
            "--email",
            "eve@contoso.example",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    short.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let short = short.wait_with_output().unwrap();
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));

    let disabled = run(
        data,
        &[
            "admin",
            "disable",
            "--org",
            &org,
            "--email",
            "bob@contoso.example",
        ],
    );
    assert!(disabled.status.success());
    let audit = run_json(
        data,
        &[
            "audit",
            "--org",
            &org,
            "--action",
            "admin.disable",
            "--json",
        ],
    );
    assert_eq!(audit["total"], 1);
}

#[test]
fn the_otp_outbox_shows_codes_sent_to_members() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (org, file) = org_with_users_file(data, 3);
    run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    let token = run_json(data, &["token", "create", "--org", &org, "--json"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut server, base) = serve(data);
    let client = reqwest::blocking::Client::new();
    let users: Value = client
        .get(format!("{base}/api/v1/orgs/{org}/users"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let phone = users["items"][0]["phone"].as_str().unwrap().to_owned();
    let start = client
        .post(format!("{base}/api/v1/auth/otp/start"))
        .json(&serde_json::json!({"phone": phone}))
        .send()
        .unwrap();
    assert_eq!(start.status(), 202);
    let outbox = run_json(data, &["otp", "outbox", "--json"]);
    assert_eq!(outbox[0]["phone"], phone.as_str());
    let code = outbox[0]["code"].as_str().unwrap();
    let verify = client
        .post(format!("{base}/api/v1/auth/otp/verify"))
        .json(&serde_json::json!({"phone": phone, "code": code}))
        .send()
        .unwrap();
    assert_eq!(verify.status(), 200);
    assert!(terminate(&mut server).success());
}

#[test]
fn import_dry_runs_and_reads_files_through_a_mapping_then_writes_its_result_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (org, _) = org_with_users_file(data, 0);
    let file = data.join("hr.csv");
    std::fs::write(
        &file,
        "Mobile,Full name,Staff no,Notes\n+91 98765 43210,Asha Rao,E-1,x\n12,Bad,E-2,y\n",
    )
    .unwrap();
    let mapping = data.join("mapping.json");
    std::fs::write(
        &mapping,
        r#"{"columns": {"Mobile": "phone", "Full name": "name", "Staff no": "Employee ID", "Notes": "ignore"}}"#,
    )
    .unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec![
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--mapping",
            mapping.to_str().unwrap(),
            "--json",
        ];
        args.extend(extra);
        run_json(data, &args)
    };
    let dry = import(&["--dry-run"]);
    assert_eq!(dry["options"]["dry_run"], true);
    assert_eq!(
        (
            dry["counts"]["created"].as_u64(),
            dry["counts"]["failed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let real = import(&[]);
    assert_eq!(real["status"], "completed_with_errors");
    assert!(real["duration_ms"].as_i64().is_some(), "{real}");
    let result = run(data, &["jobs", "result", real["id"].as_str().unwrap()]);
    let text = String::from_utf8(result.stdout).unwrap();
    assert!(text.contains("Asha Rao,E-1,x,created,"), "{text}");
    assert!(text.contains("12,Bad,E-2,y,failed,"), "{text}");

    let unknown = run(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--mapping",
            "nope",
        ],
    );
    assert_eq!(unknown.status.code(), Some(1));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(message.contains("m365"), "{message}");
    let failed = run(
        data,
        &["users", "import", file.to_str().unwrap(), "--org", &org],
    );
    assert_eq!(
        failed.status.code(),
        Some(1),
        "unknown columns fail the job"
    );
    assert!(String::from_utf8_lossy(&failed.stderr).contains("unknown columns \"Full name\""));
}

#[test]
fn jobs_list_and_show_print_a_hostile_file_name_without_its_escape_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let org = run_json(data, &["org", "create", "--name", "Contoso", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A name a file system accepts: ESC, a carriage return, a right-to-left override.
    let name = "evil\u{1b}[2J\r\u{202e}vsc.csv";
    let file = data.join(name);
    std::fs::write(&file, "Phone Number,Name\n+919876543210,Asha\n").unwrap();
    let out = run(
        data,
        &["users", "import", file.to_str().unwrap(), "--org", &org],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = run(data, &["jobs", "list", "--org", &org]);
    let id = run_json(data, &["jobs", "list", "--org", &org, "--json"])["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let show = run(data, &["jobs", "show", &id]);
    for out in [&out, &list, &show] {
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        assert!(!text.contains(['\u{1b}', '\r', '\u{202e}']), "{text:?}");
    }
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains("evil\u{fffd}[2J\u{fffd}\u{fffd}vsc.csv"),
        "{list:?}"
    );
    // As data (JSON), the name is kept as sent.
    let json = run_json(data, &["jobs", "show", &id, "--json"]);
    assert_eq!(json["file_name"], name);
}

/// An org with an admin and a user who posted `messages` messages to an org group
/// (written through the store, as the server would), and the admin's 100 messages.
fn org_with_a_talkative_user(data: &Path, messages: usize) -> (String, String) {
    use steward_store::prelude::*;
    let org = run_json(data, &["org", "create", "--name", "Contoso", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = data.join("people.csv");
    std::fs::write(
        &file,
        "Phone Number,Name\n+919876543210,Asha Rao\n+919876543211,Ravi Kumar\n",
    )
    .unwrap();
    run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    let store = steward_store_sqlite::SqliteStore::open_dir(data).unwrap();
    let org_id: steward_domain::OrgId = org.parse().unwrap();
    let now = chrono::Utc::now();
    let group = steward_domain::group::Group {
        id: steward_domain::GroupId::new(),
        org_id,
        parent_id: None,
        name: steward_domain::GroupName::parse("Field Sales").unwrap(),
        org_mapped: true,
        created_at: now,
    };
    store
        .insert_groups(org_id, std::slice::from_ref(&group))
        .unwrap();
    let user = |phone: &str| {
        store
            .get_user(
                org_id,
                &steward_domain::PhoneNumber::from_e164(phone).unwrap(),
            )
            .unwrap()
            .unwrap()
            .id
    };
    let (admin, gone) = (user("+919876543210"), user("+919876543211"));
    let memberships: Vec<_> = [admin, gone]
        .into_iter()
        .map(|user_id| steward_domain::group::Membership {
            org_id,
            group_id: group.id,
            user_id,
            role: steward_domain::GroupRole::Member,
            joined_at: now,
        })
        .collect();
    store.insert_memberships(org_id, &memberships).unwrap();
    let message = |sender_id, i: usize| steward_domain::content::Message {
        id: steward_domain::MessageId::new(),
        org_id,
        group_id: group.id,
        sender_id,
        body: format!("message number {i} about the quarterly numbers"),
        created_at: now,
    };
    let mine: Vec<_> = (0..100).map(|i| message(admin, i)).collect();
    store.insert_messages(org_id, &mine).unwrap();
    for chunk in (0..messages).collect::<Vec<_>>().chunks(50_000) {
        let batch: Vec<_> = chunk.iter().map(|i| message(gone, *i)).collect();
        store.insert_messages(org_id, &batch).unwrap();
    }
    (org, "+919876543211".to_owned())
}

#[test]
fn users_delete_and_restore_at_the_command_line_and_a_purge_killed_mid_way_finishes_after_a_restart()
 {
    use steward_store::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let messages = 300_000;
    let (org, phone) = org_with_a_talkative_user(data, messages);

    let deleted = run_json(data, &["users", "delete", &phone, "--org", &org, "--json"]);
    assert_eq!(deleted["status"], "deleted", "{deleted}");
    let listed = run_json(data, &["users", "deleted", "--org", &org, "--json"]);
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["to_purge"]["messages"], messages);
    let restored = run_json(data, &["users", "restore", &phone, "--org", &org, "--json"]);
    assert_eq!(restored["status"], "active");
    let out = run(data, &["users", "restore", &phone, "--org", &org]);
    assert_eq!(out.status.code(), Some(1), "nothing to restore");
    run_json(data, &["users", "delete", &phone, "--org", &org, "--json"]);

    // "Delete permanently now", killed with SIGKILL part-way.
    let mut purge = steward(data)
        .args(["users", "purge", &phone, "--org", &org, "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut job = Value::Null;
    wait_for(
        "the purge to commit its first steps",
        Duration::from_secs(120),
        || {
            let list = run_json(data, &["jobs", "list", "--org", &org, "--json"]);
            job = list["items"][0].clone();
            job["kind"] == "purge_users" && job["progress"]["done"].as_u64().unwrap_or(0) >= 5_000
        },
    );
    purge.kill().unwrap();
    purge.wait().unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let killed = run_json(data, &["jobs", "show", &id, "--json"]);
    assert_eq!(killed["status"], "running", "killed mid-job: {killed}");
    let done_at_kill = killed["progress"]["done"].as_u64().unwrap();
    assert!(
        done_at_kill < messages as u64,
        "the kill came before the end ({done_at_kill})"
    );

    // Half-way, the user is still listed as deleted, and can no longer be restored.
    let listed = run_json(data, &["users", "deleted", "--org", &org, "--json"]);
    assert_eq!(listed["items"][0]["purging"], true, "{listed}");
    let out = run(data, &["users", "restore", &phone, "--org", &org]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("purge"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Asking again resumes the same job once the dead run's lease ends.
    let finished = run_json(data, &["users", "purge", &phone, "--org", &org, "--json"]);
    assert_eq!(finished["id"], job["id"]);
    assert_eq!(finished["status"], "completed", "{finished}");
    assert!(finished["attempts"].as_u64().unwrap() >= 2, "{finished}");
    assert_eq!(finished["counts"]["messages"], messages, "every row once");
    assert_eq!(finished["counts"]["purged_users"], 1);
    let listed = run_json(data, &["users", "deleted", "--org", &org, "--json"]);
    assert_eq!(listed["total"], 0);

    // No row of theirs is left; the admin's messages are untouched.
    let store = steward_store_sqlite::SqliteStore::open_dir(data).unwrap();
    let org_id: steward_domain::OrgId = org.parse().unwrap();
    let counts = store.data_counts(org_id).unwrap();
    assert_eq!(counts.get(steward_store::DataKind::Messages), 100);
    assert_eq!(counts.get(steward_store::DataKind::Users), 1);
    assert_eq!(counts.get(steward_store::DataKind::Memberships), 1);
    let receipts = store.receipts(org_id).unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].counts.get("messages"), messages as u64);
    assert_eq!(receipts[0].purged_by, "cli");
}

#[test]
fn the_purge_window_legal_holds_and_receipts_at_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (org, phone) = org_with_a_talkative_user(data, 10);
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();

    // The window: shown, set, and bounded.
    let window = run_json(data, &["org", "purge-window", "--org", &org, "--json"]);
    assert_eq!(window["purge_window_days"], 30);
    let window = run_json(data, &["org", "purge-window", "--org", &org, "7", "--json"]);
    assert_eq!(window["purge_window_days"], 7);
    let out = run(data, &["org", "purge-window", "--org", &org, "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("purge_window_days"),
        "{}",
        stderr(&out)
    );
    let deleted = run_json(data, &["users", "delete", &phone, "--org", &org, "--json"]);
    let (deleted_at, purge_after) = (
        deleted["deleted_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>(),
        deleted["purge_after"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>(),
    );
    assert_eq!((purge_after.unwrap() - deleted_at.unwrap()).num_days(), 7);

    // A hold needs a reason and keeps the user from a purge until it is lifted.
    let out = run(
        data,
        &["users", "hold", &phone, "--org", &org, "--reason", " "],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("reason"), "{}", stderr(&out));
    let hold = run_json(
        data,
        &[
            "users",
            "hold",
            &phone,
            "--org",
            &org,
            "--reason",
            "Litigation 42",
            "--json",
        ],
    );
    assert_eq!(hold["scope"], "user");
    assert_eq!(hold["phone"], phone.as_str());
    let org_hold = run_json(
        data,
        &[
            "users", "hold", "--org", &org, "--reason", "Audit", "--json",
        ],
    );
    assert_eq!(org_hold["scope"], "org");
    let holds = run_json(data, &["users", "holds", "--org", &org, "--json"]);
    assert_eq!(holds["items"].as_array().unwrap().len(), 2, "{holds}");
    let out = run(data, &["users", "purge", &phone, "--org", &org]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("hold"), "{}", stderr(&out));
    for hold in [&hold, &org_hold] {
        let id = hold["id"].as_str().unwrap();
        let lifted = run_json(data, &["users", "release", id, "--org", &org, "--json"]);
        assert_eq!(lifted["id"], hold["id"]);
    }
    let out = run(
        data,
        &[
            "users",
            "release",
            hold["id"].as_str().unwrap(),
            "--org",
            &org,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "already lifted");

    // The purge leaves a receipt that names no phone; the phone finds it by its hash.
    let purged = run_json(data, &["users", "purge", &phone, "--org", &org, "--json"]);
    assert_eq!(purged["status"], "completed", "{purged}");
    assert_eq!(purged["counts"]["messages"], 10);
    let all = run_json(data, &["users", "receipts", "--org", &org, "--json"]);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    assert!(!all.to_string().contains(&phone[1..]), "{all}");
    assert_eq!(all["items"][0]["counts"]["messages"], 10);
    let mine = run_json(
        data,
        &[
            "users", "receipts", "--org", &org, "--phone", &phone, "--json",
        ],
    );
    assert_eq!(mine["items"], all["items"]);
    let other = run_json(
        data,
        &[
            "users",
            "receipts",
            "--org",
            &org,
            "--phone",
            "+919876543219",
            "--json",
        ],
    );
    assert_eq!(other["items"], serde_json::json!([]));
    let text = run(data, &["users", "receipts", "--org", &org]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("messages 10") && !text.contains(&phone[1..]),
        "{text}"
    );
}

/// Every file of the store (the shared database, the org files, the blobs) that holds
/// `needle`.
fn store_files_holding(data: &Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![data.join("orgs"), data.join("blobs")];
    for entry in std::fs::read_dir(data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file()
            && path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("steward.db")
        {
            found.push(path);
        }
    }
    found.retain(|path| {
        std::fs::read(path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    });
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn an_org_deletion_killed_mid_way_finishes_when_the_command_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let rows = 100_000;
    let (org, file) = org_with_users_file(data, rows);
    let imported = run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    assert_eq!(imported["counts"]["created"], rows);
    // A name of the file, to look for in the store afterwards.
    let csv = std::fs::read_to_string(&file).unwrap();
    let name = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_owned();
    std::fs::remove_file(&file).unwrap();
    assert!(
        !store_files_holding(data, &name).is_empty(),
        "{name} stored"
    );

    let refused = run(
        data,
        &["org", "delete", "--org", &org, "--confirm", "Contoso"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("confirm_name"),
        "a wrong name is refused: {}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let no_export = run(
        data,
        &["org", "delete", "--org", &org, "--confirm", "Fabrikam"],
    );
    assert_eq!(no_export.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_export.stderr).contains("skip_final_export"));

    let delete = [
        "org",
        "delete",
        "--org",
        &org,
        "--confirm",
        "Fabrikam",
        "--skip-final-export",
        "--json",
    ];
    let mut first = steward(data)
        .args(delete)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = Value::Null;
    wait_for(
        "the deletion to forget its first phones",
        Duration::from_secs(120),
        || {
            let out = run(data, &["org", "deletion", "--org", &org, "--json"]);
            if !out.status.success() {
                return false;
            }
            status = serde_json::from_slice(&out.stdout).unwrap();
            status["removed_so_far"]["phones"].as_u64().unwrap_or(0) > 0
        },
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let killed = run_json(data, &["org", "deletion", "--org", &org, "--json"]);
    assert_eq!(
        killed["finished_at"],
        Value::Null,
        "killed mid-way: {killed}"
    );
    let forgotten = killed["counts"]["removed_phones"].as_u64().unwrap();
    assert!(
        0 < forgotten && forgotten < rows,
        "the kill came part-way through the phones: {killed}"
    );
    assert!(!data.join(format!("orgs/{org}.db")).exists());

    // Run again: it takes the job over once the dead run's lease ends, and finishes.
    let receipt = run_json(data, &delete);
    assert_eq!(receipt["status"], "completed", "{receipt}");
    let counts = &receipt["counts"];
    assert_eq!(counts["users"], rows, "{receipt}");
    assert_eq!(counts["removed_phones"], rows, "each phone once: {receipt}");
    assert_eq!(counts["removed_jobs"], 1, "the import");
    assert!(counts["removed_blobs"].as_u64().unwrap() >= 1);
    assert_eq!(receipt["requested_by"], "cli");
    assert!(
        store_files_holding(data, &name).is_empty(),
        "{name} is gone"
    );

    // The org is gone; the receipt stays, and asking again shows it.
    let gone = run(data, &["users", "import", "x.csv", "--org", &org]);
    assert_eq!(gone.status.code(), Some(1));
    let again = run_json(data, &delete);
    assert_eq!(again["finished_at"], receipt["finished_at"]);
}

#[test]
fn users_delete_with_a_file_deletes_the_listed_users_after_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (org, file) = org_with_users_file(data, 5);
    run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    let csv = std::fs::read_to_string(&file).unwrap();
    let phones: Vec<&str> = csv
        .lines()
        .skip(1)
        .take(2)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let list = data.join("leavers.csv");
    std::fs::write(&list, format!("Phone\n{}\n{}\n", phones[0], phones[1])).unwrap();
    let path = list.to_str().unwrap();

    let dry = run_json(
        data,
        &[
            "users",
            "delete",
            "--org",
            &org,
            "--file",
            path,
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(dry["kind"], "delete_users");
    assert_eq!(dry["counts"]["deleted"], 2, "{dry}");
    assert_eq!(
        run_json(data, &["users", "deleted", "--org", &org, "--json"])["total"],
        0
    );

    let done = run_json(
        data,
        &["users", "delete", "--org", &org, "--file", path, "--json"],
    );
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["counts"]["deleted"], 2);
    assert_eq!(
        run_json(data, &["users", "deleted", "--org", &org, "--json"])["total"],
        2
    );
    let neither = run(data, &["users", "delete", "--org", &org]);
    assert_eq!(
        neither.status.code(),
        Some(2),
        "a PHONE or --file is needed"
    );
}

#[test]
fn a_users_export_at_the_command_line_imports_again_unchanged_as_csv_and_as_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let rows = 2_000;
    let (org, file) = org_with_users_file(data, rows);
    let imported = run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    assert_eq!(imported["counts"]["created"], rows, "{imported}");
    for name in ["export.csv", "export.xlsx"] {
        let out = data.join(name);
        let export = run_json(
            data,
            &[
                "users",
                "export",
                "--org",
                &org,
                "-o",
                out.to_str().unwrap(),
                "--json",
            ],
        );
        assert_eq!(export["status"], "completed", "{export}");
        assert_eq!(export["counts"]["exported"], rows);
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(
            export["file"]["size"],
            bytes.len(),
            "the whole file was written"
        );
        let again = run_json(
            data,
            &[
                "users",
                "import",
                out.to_str().unwrap(),
                "--org",
                &org,
                "--json",
            ],
        );
        assert_eq!(again["status"], "completed", "{name}: {again}");
        assert_eq!(
            (
                again["counts"]["unchanged"].as_u64(),
                again["counts"]["created"].as_u64(),
                again["counts"]["updated"].as_u64(),
                again["counts"]["failed"].as_u64()
            ),
            (Some(rows), Some(0), Some(0), Some(0)),
            "{name} imports again as all unchanged: {again}"
        );
    }
    // A filter narrows the export; a bad one is refused in one sentence, exit 1.
    let filtered = run_json(
        data,
        &[
            "users",
            "export",
            "--org",
            &org,
            "-o",
            data.join("remote.csv").to_str().unwrap(),
            "--filter",
            "remote=yes",
            "--json",
        ],
    );
    let remote = filtered["counts"]["exported"].as_u64().unwrap();
    assert!(remote > 0 && remote < rows, "{filtered}");
    let bad = run(
        data,
        &[
            "users",
            "export",
            "--org",
            &org,
            "-o",
            data.join("x.pdf").to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".csv or .xlsx"));
}

#[test]
fn an_org_export_killed_mid_way_restarts_and_writes_a_complete_archive_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let org = run_json(data, &["org", "create", "--name", "Fabrikam", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let generated = run(
        data,
        &[
            "gen",
            "tenant",
            "--org",
            &org,
            "--users",
            "20000",
            "--messages",
            "80000",
        ],
    );
    assert!(generated.status.success(), "{generated:?}");
    let out = data.join("fabrikam.zip");
    let export = || {
        let mut command = steward(data);
        command.args([
            "org",
            "export",
            "--org",
            &org,
            "-o",
            out.to_str().unwrap(),
            "--json",
        ]);
        command
    };
    let mut first = export()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut job = Value::Null;
    wait_for(
        "the export to report progress",
        Duration::from_secs(120),
        || {
            let list = run_json(data, &["jobs", "list", "--org", &org, "--json"]);
            job = list["items"][0].clone();
            job["kind"] == "export_tenant" && job["progress"]["done"].as_u64().unwrap_or(0) > 0
        },
    );
    // kill -9: no chance to clean up.
    first.kill().unwrap();
    first.wait().unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let killed = run_json(data, &["jobs", "show", &id, "--json"]);
    assert_eq!(killed["status"], "running", "killed mid-way: {killed}");
    assert!(
        !out.exists(),
        "no partial archive is left under the output name"
    );

    let again = export().output().unwrap();
    assert!(again.status.success(), "{again:?}");
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains(&format!("Resuming export {id}")), "{said}");
    let finished: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(finished["id"], id.as_str(), "the same job: {finished}");
    assert_eq!(finished["status"], "completed", "{finished}");
    assert!(finished["attempts"].as_u64().unwrap() >= 2, "{finished}");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(finished["file"]["size"], bytes.len());

    let verified = run(data, &["export", "verify", out.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{verified:?}");
    assert!(said.contains("match manifest.json"), "{said}");
    assert!(said.contains("users.csv"), "{said}");

    // A changed byte anywhere is found, and the command fails.
    let mut tampered = bytes.clone();
    let middle = tampered.len() / 3;
    tampered[middle] ^= 0x55;
    let bad = data.join("tampered.zip");
    std::fs::write(&bad, tampered).unwrap();
    let refused = run(data, &["export", "verify", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("MISMATCH") || said.contains("error:"),
        "{said}"
    );
}

#[test]
fn exports_run_at_the_command_line_while_the_server_runs_on_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (org, file) = org_with_users_file(data, 500);
    let (mut server, _) = serve(data);
    let imported = run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    assert_eq!(imported["counts"]["created"], 500);
    let out = data.join("users.csv");
    let export = run_json(
        data,
        &[
            "users",
            "export",
            "--org",
            &org,
            "-o",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(export["counts"]["exported"], 500, "{export}");
    let zip = data.join("all.zip");
    let tenant = run_json(
        data,
        &[
            "org",
            "export",
            "--org",
            &org,
            "-o",
            zip.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(tenant["status"], "completed", "{tenant}");
    let verified = run(data, &["export", "verify", zip.to_str().unwrap()]);
    assert!(verified.status.success(), "{verified:?}");
    assert!(terminate(&mut server).success());
}

#[test]
fn org_plan_set_changes_the_plan_audits_it_and_refuses_an_unknown_plan() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let org = run_json(
        data,
        &[
            "org", "create", "--name", "Tailspin", "--plan", "free", "--json",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let set = run_json(
        data,
        &["org", "plan", "set", "--org", &org, "enterprise", "--json"],
    );
    assert_eq!(
        (set["id"].as_str(), set["plan"].as_str()),
        (Some(org.as_str()), Some("enterprise"))
    );
    let said = run(data, &["org", "plan", "set", "--org", &org, "standard"]);
    assert!(said.status.success());
    assert!(
        String::from_utf8_lossy(&said.stdout)
            .contains("standard plan; features beyond the free plan: tenant_export"),
        "{}",
        String::from_utf8_lossy(&said.stdout)
    );
    let audit = run_json(
        data,
        &["audit", "--org", &org, "--action", "org.plan.set", "--json"],
    );
    let targets: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "enterprise -> standard",
            "free -> enterprise",
            "standard -> free"
        ]
    );

    let unknown = run(data, &["org", "plan", "set", "--org", &org, "gold"]);
    assert_eq!(unknown.status.code(), Some(2), "bad usage");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("enterprise"));
    let nobody = run(
        data,
        &[
            "org",
            "plan",
            "set",
            "--org",
            "0190a6c2-0000-7000-8000-000000000000",
            "free",
        ],
    );
    assert_eq!(nobody.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("org not found"));
}

#[test]
fn users_import_reads_an_excel_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (org, _) = org_with_users_file(data, 0);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, header) in ["Phone Number", "Name", "Employee ID", "Hire Date"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *header).unwrap();
    }
    let date = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
    sheet.write_number(1, 0, 919876543210.0).unwrap();
    sheet.write_string(1, 1, "Asha\nRao").unwrap();
    sheet.write_string(1, 2, "E-1").unwrap();
    sheet
        .write_datetime_with_format(
            1,
            3,
            rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 1, 31).unwrap(),
            &date,
        )
        .unwrap();
    let file = data.join("people.xlsx");
    book.save(&file).unwrap();
    let job = run_json(
        data,
        &[
            "users",
            "import",
            file.to_str().unwrap(),
            "--org",
            &org,
            "--json",
        ],
    );
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["counts"]["created"], 1);
    // The result file shows the cells as the import read them from the sheet.
    let result = run(data, &["jobs", "result", job["id"].as_str().unwrap()]);
    let text = String::from_utf8(result.stdout).unwrap();
    assert!(
        text.contains("919876543210,\"Asha\nRao\",E-1,2024-01-31T00:00:00Z,created,"),
        "{text}"
    );
}
