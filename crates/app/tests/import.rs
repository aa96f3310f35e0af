//! The import job end to end: real files through the blob store, the job runtime and
//! the SQLite store.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use steward_app::audit::AuditContext;
use steward_app::import::{ColumnMapping, ImportOptions, NewImport};
use steward_app::jobs::{self, Worker, WorkerConfig};
use steward_app::{App, SystemClock, import, orgs, synthetic};
use steward_domain::{AttributeKey, AttributeValue, Job, JobStatus, OrgId, PhoneNumber};
use steward_store::LocalBlobStore;
use steward_store::prelude::*;
use steward_store_sqlite::SqliteStore;

struct TestImport {
    app: App,
    /// The store itself, for setup and checks beside the use cases.
    store: Arc<SqliteStore>,
    org: OrgId,
    _dir: tempfile::TempDir,
}

fn setup() -> TestImport {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let blobs = LocalBlobStore::open(dir.path().join("blobs")).unwrap();
    let app = App::new(store.clone(), Arc::new(blobs), Arc::new(SystemClock));
    let org = orgs::create_org(&app, &AuditContext::cli(), "Contoso", "IN").unwrap();
    store
        .put_attribute_defs(org.id, &synthetic::attribute_defs())
        .unwrap();
    TestImport {
        app,
        store,
        org: org.id,
        _dir: dir,
    }
}

impl TestImport {
    fn worker(&self, lease: Duration) -> Worker {
        let config = WorkerConfig {
            lease,
            poll: Duration::from_millis(10),
            ..WorkerConfig::default()
        };
        Worker::new(
            self.app.clone(),
            Arc::new(jobs::registry()),
            config,
            Arc::new(AtomicBool::new(false)),
        )
    }

    /// Runs a job that was already enqueued (or handed back) to its end.
    fn import_again(&self, id: steward_domain::JobId) -> Job {
        self.worker(Duration::from_secs(30))
            .run_next(Some(id))
            .unwrap()
            .unwrap()
    }

    fn import(&self, bytes: &[u8]) -> Job {
        self.import_with(bytes, ImportOptions::default())
    }

    fn import_with(&self, bytes: &[u8], options: ImportOptions) -> Job {
        let job = import::enqueue(&self.app, self.org, upload(options), &mut &bytes[..]).unwrap();
        self.worker(Duration::from_secs(30))
            .run_next(Some(job.id))
            .unwrap()
            .unwrap()
    }

    fn result(&self, job: &Job) -> String {
        let mut out = Vec::new();
        import::write_result_csv(&self.app, self.org, job.id, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn errors(&self, job: &Job) -> String {
        let mut out = Vec::new();
        import::write_errors_csv(&self.app, self.org, job.id, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn user(&self, phone: &str) -> Option<steward_domain::User> {
        self.store
            .get_user(self.org, &PhoneNumber::from_e164(phone).unwrap())
            .unwrap()
    }
}

fn upload(options: ImportOptions) -> NewImport {
    NewImport {
        file_name: "users.csv".into(),
        created_by: "test".into(),
        options,
        idempotency_key: None,
    }
}

const HEADER: &str = "Phone Number,Name,Employee ID";

/// A CSV file's records, for checks that must not depend on how cells are quoted.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn an_excel_file_with_bom_crlf_and_semicolons_imports() {
    let t = setup();
    let file = "\u{feff}phone_number; NAME ;employee id\r\n+91 98765 43210;\"Rao; Asha\";E-1\r\n098765 43211;Ravi;E-2\r\n";
    let job = t.import(file.as_bytes());
    assert_eq!(
        (job.status, job.counts.get("created")),
        (JobStatus::Completed, 2),
        "{:?}",
        job.error
    );
    assert_eq!(t.user("+919876543210").unwrap().name.as_str(), "Rao; Asha");
    assert!(
        t.user("+919876543211").is_some(),
        "a national number uses the org's region"
    );
}

#[test]
fn line_breaks_in_quoted_cells_are_data_in_names_attributes_the_error_log_and_the_result_file() {
    let t = setup();
    // Excel writes a cell typed with Alt+Enter as a quoted cell holding a line break.
    let file = format!(
        "{HEADER},Location\r\n+919876543210,\"Rao, \"\"Asha\"\"\",E-1,x\r\n\
         +919876543211,\"Two\r\nLines\",E-2,\"Floor 3\nDesk 4\"\r\n\
         12,\"Bad\nPhone\",E-3,\"a\nb\"\r\n+919876543212,Ok,E-4,\r\n"
    );
    let job = t.import(file.as_bytes());
    assert_eq!(
        (job.counts.get("created"), job.counts.get("failed")),
        (3, 1),
        "{:?}",
        job.error
    );
    assert_eq!(
        t.user("+919876543210").unwrap().name.as_str(),
        "Rao, \"Asha\""
    );
    let two = t.user("+919876543211").unwrap();
    assert_eq!(two.name.as_str(), "Two\nLines", "kept, as LF");
    assert_eq!(
        two.attributes
            .get(&AttributeKey::parse("location").unwrap()),
        Some(&AttributeValue::String("Floor 3\nDesk 4".into()))
    );

    // The error log names the row as a spreadsheet numbers it (records, not lines)
    // and keeps the multi-line value in one cell.
    let errors = read_csv(&t.errors(&job));
    assert_eq!(errors[1][..3], ["4", "Phone Number", "12"], "{errors:?}");

    // The result file holds the cells as they came, and imports again unchanged.
    let result = t.result(&job);
    let rows = read_csv(&result);
    assert_eq!(rows[2][1], "Two\r\nLines");
    assert_eq!(rows[2][3], "Floor 3\nDesk 4");
    assert_eq!(rows[3][4], "failed");
    let again = t.import(result.as_bytes());
    assert_eq!(
        (again.counts.get("unchanged"), again.counts.get("failed")),
        (3, 1)
    );
}

#[test]
fn cells_an_export_neutralized_read_back_to_the_original_value() {
    let t = setup();
    // What the error log and result file write (neutralize_formula), as the file
    // holds it: a leading apostrophe before a formula, and one more before text that
    // starts with apostrophes and then a formula.
    let file = format!(
        "{HEADER},Department\n'+919876543210,'=SUM(A1),'-E-1,'@team\n\
         +919876543211,''=quoted,E-2,'plain\n"
    );
    let job = t.import(file.as_bytes());
    assert_eq!(job.counts.get("created"), 2, "{:?}", job.error);
    let one = t.user("+919876543210").unwrap();
    assert_eq!(one.name.as_str(), "=SUM(A1)");
    let attr = |u: &steward_domain::User, key: &str| {
        u.attributes
            .get(&AttributeKey::parse(key).unwrap())
            .map(AttributeValue::to_text)
    };
    assert_eq!(attr(&one, "employee_id").as_deref(), Some("-E-1"));
    assert_eq!(attr(&one, "department").as_deref(), Some("@team"));
    let two = t.user("+919876543211").unwrap();
    assert_eq!(
        two.name.as_str(),
        "'=quoted",
        "an apostrophe that is data stays"
    );
    assert_eq!(
        attr(&two, "department").as_deref(),
        Some("'plain"),
        "only marks before a formula are taken off"
    );
    // The result file writes each cell as the import read it, neutralized again, so
    // it reads back unchanged however often it goes round.
    let result = t.result(&job);
    assert!(
        result.contains("'+919876543211,''=quoted,E-2,'plain,created"),
        "{result}"
    );
    let again = t.import(result.as_bytes());
    assert_eq!(again.counts.get("unchanged"), 2, "{:?}", again.error);
    assert_eq!(t.result(&again).replace("unchanged", "created"), result);
}

#[test]
fn a_utf16_file_fails_saying_how_to_save_it_and_imports_nothing() {
    let t = setup();
    let mut bytes = vec![0xFF, 0xFE];
    for unit in format!("{HEADER}\n+919876543210,Asha,E-1\n").encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let job = t.import(&bytes);
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.error.unwrap().contains("CSV UTF-8"));
    assert_eq!(t.store.count_users(t.org).unwrap(), 0);
}

#[test]
fn a_damaged_workbook_fails_saying_it_cannot_be_read_and_how_to_save_it() {
    let t = setup();
    // The start of an .xlsx file (a zip archive), cut short.
    let job = t.import(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00");
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error.unwrap();
    assert!(
        error.contains("not a readable Excel workbook") && error.contains("CSV UTF-8"),
        "{error}"
    );
}

#[test]
fn a_file_with_invalid_utf8_late_in_it_fails_before_any_row_is_written() {
    let t = setup();
    let mut bytes = format!("{HEADER}\n+919876543210,Asha,E-1\n").into_bytes();
    bytes.extend(b"+919876543211,Ren\xE9,E-2\n");
    let job = t.import(&bytes);
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.error
            .as_deref()
            .unwrap()
            .starts_with("row 3 is not UTF-8"),
        "{:?}",
        job.error
    );
    assert_eq!(t.store.count_users(t.org).unwrap(), 0);
}

#[test]
fn unknown_columns_fail_the_job_naming_them_and_the_closest_known_header() {
    let t = setup();
    let job = t.import(b"Phone,Name,Employe ID,Favourite Colour\n+919876543210,Asha,E-1,red\n");
    let error = job.error.unwrap();
    assert!(
        error.contains("\"Employe ID\" (did you mean \"Employee ID\"?)"),
        "{error}"
    );
    assert!(error.contains("\"Favourite Colour\""), "{error}");
    assert_eq!(t.store.count_users(t.org).unwrap(), 0);
}

#[test]
fn a_file_without_a_phone_or_name_column_fails() {
    let t = setup();
    assert!(
        t.import(b"Name\nAsha\n")
            .error
            .unwrap()
            .contains("no Phone Number column")
    );
    assert!(
        t.import(b"Mobile\n+919876543210\n")
            .error
            .unwrap()
            .contains("no Name column")
    );
    assert!(t.import(b"").error.unwrap().contains("empty"));
}

#[test]
fn bad_rows_are_skipped_with_reasons_and_the_rest_imports() {
    let t = setup();
    let file = "Phone Number,Name,Employee ID,Remote,Level\n\
                +919876543210,Asha,E-1,Yes,3\n\
                12,Nobody,E-2,No,1\n\
                +919876543211,,,maybe,high\n\
                ,,,,\n\
                +919876543212,Ravi,E-3,n,4\n";
    let job = t.import(file.as_bytes());
    assert_eq!(job.status, JobStatus::CompletedWithErrors);
    assert_eq!(
        (
            job.counts.get("created"),
            job.counts.get("failed"),
            job.progress.done
        ),
        (2, 2, 5)
    );
    let errors = t.errors(&job);
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines[0], "Row,Column,Value,Reason");
    assert!(lines[1].starts_with("3,Phone Number,12,"), "{errors}");
    assert!(lines[2].starts_with("4,Name,,"), "{errors}");
    assert!(
        lines[3].starts_with("4,Employee ID,,Employee ID is mandatory"),
        "{errors}"
    );
    assert!(lines[4].contains("Remote,maybe,"), "{errors}");
    assert!(lines[5].contains("Level,high,"), "{errors}");
    assert_eq!(lines.len(), 6, "the blank row is not an error: {errors}");
    let ravi = t.user("+919876543212").unwrap();
    let remote = &ravi.attributes[&steward_domain::AttributeKey::parse("remote").unwrap()];
    assert_eq!(remote, &AttributeValue::YesNo(false));
}

#[test]
fn reimporting_counts_unchanged_rows_and_updates_changed_ones() {
    let t = setup();
    let first = format!("{HEADER},Level\n+919876543210,Asha,E-1,3\n+919876543211,Ravi,E-2,4\n");
    assert_eq!(t.import(first.as_bytes()).counts.get("created"), 2);
    let again = t.import(first.as_bytes());
    assert_eq!(
        (again.counts.get("unchanged"), again.counts.get("updated")),
        (2, 0)
    );
    // An empty cell clears the value; a file without the column keeps it.
    let second = format!("{HEADER},Level\n+919876543210,Asha,E-1,\n+919876543211,Ravi K,E-2,4\n");
    let changed = t.import(second.as_bytes());
    assert_eq!(changed.counts.get("updated"), 2);
    let level = steward_domain::AttributeKey::parse("level").unwrap();
    assert!(
        !t.user("+919876543210")
            .unwrap()
            .attributes
            .contains_key(&level)
    );
    let without_level = t.import(format!("{HEADER}\n+919876543211,Ravi K,E-2\n").as_bytes());
    assert_eq!(without_level.counts.get("unchanged"), 1);
    assert_eq!(
        t.user("+919876543211").unwrap().attributes[&level],
        AttributeValue::Number(4.0)
    );
}

#[test]
fn canceling_a_running_import_stops_it_with_true_counts() {
    let t = setup();
    let mut file = Vec::new();
    synthetic::write_users_csv(150_000, 5, &mut file).unwrap();
    let job = import::enqueue(
        &t.app,
        t.org,
        upload(ImportOptions::default()),
        &mut &file[..],
    )
    .unwrap();
    let worker = t.worker(Duration::from_millis(300));
    let running = std::thread::spawn(move || worker.run_next(Some(job.id)).unwrap().unwrap());
    while t.store.find_job(job.id).unwrap().unwrap().progress.done == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    t.store
        .request_job_cancel(t.org, job.id, chrono::Utc::now())
        .unwrap();
    let ended = running.join().unwrap();
    assert_eq!(ended.status, JobStatus::Canceled);
    assert!(ended.progress.done < 150_000, "stopped early");
    assert_eq!(ended.counts.get("created"), ended.progress.done);
    assert_eq!(
        t.store.count_users(t.org).unwrap(),
        ended.counts.get("created"),
        "counts are true"
    );
}

#[test]
fn an_import_stopped_by_shutdown_resumes_from_its_checkpoint_and_applies_every_row_once() {
    let t = setup();
    let mut file = Vec::new();
    synthetic::write_users_csv(150_000, 5, &mut file).unwrap();
    let job = import::enqueue(
        &t.app,
        t.org,
        upload(ImportOptions::default()),
        &mut &file[..],
    )
    .unwrap();
    let shutdown = Arc::new(AtomicBool::new(false));
    let config = WorkerConfig {
        lease: Duration::from_millis(300),
        poll: Duration::from_millis(10),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(
        t.app.clone(),
        Arc::new(jobs::registry()),
        config,
        shutdown.clone(),
    );
    let running = std::thread::spawn(move || worker.run_next(Some(job.id)).unwrap().unwrap());
    while t.store.find_job(job.id).unwrap().unwrap().progress.done == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    shutdown.store(true, std::sync::atomic::Ordering::SeqCst);
    let stopped = running.join().unwrap();
    assert_eq!(stopped.status, JobStatus::Running, "handed back, not ended");
    assert!(stopped.progress.done < 150_000, "stopped early");
    assert!(stopped.checkpoint.is_some());

    // The next worker reopens the upload at the checkpoint's byte offset.
    std::thread::sleep(Duration::from_millis(5));
    let ended = t.import_again(job.id);
    assert_eq!(ended.status, JobStatus::Completed, "{:?}", ended.error);
    assert_eq!(ended.attempts, 2);
    assert_eq!(
        (ended.progress.done, ended.counts.get("created")),
        (150_000, 150_000)
    );
    assert_eq!(t.store.count_users(t.org).unwrap(), 150_000);
}

#[test]
fn the_template_holds_the_schema_and_imports_as_is() {
    let t = setup();
    let mut template = Vec::new();
    import::write_template_csv(&t.app, t.org, &mut template).unwrap();
    let text = String::from_utf8(template.clone()).unwrap();
    assert_eq!(
        text.trim_end(),
        "\u{feff}Phone Number,Name,Employee ID,Department,Job Title,Location,Hire Date,Remote,Level"
    );
    let job = t.import(&template);
    assert_eq!((job.status, job.progress.total), (JobStatus::Completed, 0));
    let mut filled = template;
    filled.extend(b"+919876543210,Asha,E-1,Sales,Driver,Pune,2024-01-31,yes,2\n");
    assert_eq!(t.import(&filled).counts.get("created"), 1);
}

#[test]
fn a_phone_on_two_rows_is_refused_on_both_and_never_merged() {
    let t = setup();
    let file = format!(
        "{HEADER}\n+919876543210,Asha,E-1\n+919876543211,Ravi,E-2\n098765 43210,Asha Two,E-3\n"
    );
    let job = t.import(file.as_bytes());
    assert_eq!(
        (job.counts.get("created"), job.counts.get("failed")),
        (1, 2)
    );
    assert!(t.user("+919876543210").is_none(), "neither row was applied");
    let errors = t.errors(&job);
    assert!(
        errors
            .contains("2,Phone Number,'+919876543210,'+919876543210 is also on row 4 of this file"),
        "cells a spreadsheet would run are neutralized: {errors}"
    );
    assert!(errors.contains("4,Phone Number,098765 43210,'+919876543210 is also on row 2"));
}

#[test]
fn a_manager_must_be_a_user_of_the_org_or_a_person_in_the_file() {
    let t = setup();
    let mut defs = synthetic::attribute_defs();
    defs.push(steward_domain::AttributeDef {
        key: steward_domain::AttributeKey::parse("manager").unwrap(),
        name: "Manager".into(),
        ty: steward_domain::AttributeType::String,
        mandatory: false,
        suggested: true,
    });
    t.store.put_attribute_defs(t.org, &defs).unwrap();
    t.import(format!("{HEADER}\n+919876543299,Boss,E-0\n").as_bytes());
    let file = format!(
        "{HEADER},Manager\n\
         +919876543210,Asha,E-1,098765 43299\n\
         +919876543211,Ravi,E-2,+919876543212\n\
         +919876543212,Lead,E-3,\n\
         +919876543213,Lost,E-4,+919876543777\n"
    );
    let job = t.import(file.as_bytes());
    assert_eq!(
        (job.counts.get("created"), job.counts.get("failed")),
        (3, 1),
        "{}",
        t.errors(&job)
    );
    let manager = steward_domain::AttributeKey::parse("manager").unwrap();
    assert_eq!(
        t.user("+919876543210").unwrap().attributes[&manager],
        AttributeValue::String("+919876543299".into()),
        "stored as E.164"
    );
    assert!(t.errors(&job).contains("5,Manager,'+919876543777,"));
}

#[test]
fn a_quote_that_never_closes_fails_the_file_instead_of_filling_memory() {
    let t = setup();
    let mut file = format!("{HEADER}\n+919876543210,\"Asha,E-1\n").into_bytes();
    file.extend(std::iter::repeat_n(b'x', 3 << 20));
    let job = t.import(&file);
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.error.unwrap().contains("never closed"));
    assert_eq!(t.store.count_users(t.org).unwrap(), 0);
}

#[test]
fn a_dry_run_counts_what_would_change_and_writes_nothing() {
    let t = setup();
    t.import(format!("{HEADER}\n+919876543210,Asha,E-1\n+919876543211,Ravi,E-2\n").as_bytes());
    let file = format!(
        "{HEADER}\n+919876543210,Asha,E-1\n+919876543211,Ravi Kumar,E-2\n+919876543212,New,E-3\n12,Bad,E-4\n"
    );
    let dry = t.import_with(
        file.as_bytes(),
        ImportOptions {
            dry_run: true,
            ..ImportOptions::default()
        },
    );
    let c = &dry.counts;
    assert_eq!(
        (
            c.get("created"),
            c.get("updated"),
            c.get("unchanged"),
            c.get("failed")
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(t.store.count_users(t.org).unwrap(), 2);
    assert_eq!(t.user("+919876543211").unwrap().name.as_str(), "Ravi");
    let result = t.result(&dry);
    assert!(result.contains("Ravi Kumar,E-2,would update,"), "{result}");
    assert!(result.contains("New,E-3,would create,"), "{result}");
}

#[test]
fn the_result_file_marks_every_row_and_imports_again_once_fixed() {
    let t = setup();
    let file = format!("{HEADER}\n+919876543210,Asha,E-1\n12,Bad,E-2\n+919876543211,=cmd(),E-3\n");
    let job = t.import(file.as_bytes());
    let result = t.result(&job);
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(
        lines[0],
        "\u{feff}Phone Number,Name,Employee ID,Import Status,Import Message"
    );
    assert_eq!(lines[1], "'+919876543210,Asha,E-1,created,");
    assert!(
        lines[2].starts_with("12,Bad,E-2,failed,\"Phone Number: \"\"12\"\" is too short"),
        "{result}"
    );
    assert_eq!(
        lines[3], "'+919876543211,'=cmd(),E-3,created,",
        "formulas neutralized"
    );
    assert_eq!(
        t.user("+919876543211").unwrap().name.as_str(),
        "=cmd()",
        "names are kept as written"
    );
    // The admin fixes the failed row and uploads the result file as it is.
    let fixed = result.replace("12,Bad", "+919876543212,Bad");
    let again = t.import(fixed.as_bytes());
    let c = &again.counts;
    assert_eq!(
        (c.get("created"), c.get("unchanged"), c.get("failed")),
        (1, 2, 0),
        "{:?}",
        again.error
    );
    assert_eq!(t.user("+919876543211").unwrap().name.as_str(), "=cmd()");
    assert!(
        !t.result(&again).contains("apostrophe"),
        "our own neutralized cells read back without a repair"
    );
}

#[test]
fn a_column_mapping_renames_and_ignores_columns() {
    let t = setup();
    let mapping = ColumnMapping::from_json(
        r#"{"columns": {"Cell": "phone", "Full name": "name", "Staff no": "employee_id", "Notes": "ignore"}}"#,
    )
    .unwrap();
    let file = "Cell,Full name,Staff no,Notes\n+919876543210,Asha,E-1,likes tea\n";
    let job = t.import_with(
        file.as_bytes(),
        ImportOptions {
            mapping: Some(mapping),
            ..ImportOptions::default()
        },
    );
    assert_eq!(job.counts.get("created"), 1, "{:?}", job.error);
    let bad =
        ColumnMapping::from_json(r#"{"columns": {"Cell": "phone", "Full name": "nmae"}}"#).unwrap();
    let failed = t.import_with(
        file.as_bytes(),
        ImportOptions {
            mapping: Some(bad),
            ..ImportOptions::default()
        },
    );
    assert!(failed.error.unwrap().contains("\"Full name\" to \"nmae\""));
}

#[test]
fn the_m365_preset_reads_the_microsoft_365_template() {
    let t = setup();
    let mut defs = synthetic::attribute_defs();
    defs.retain(|d| d.key.as_str() != "employee_id" && d.key.as_str() != "department");
    t.store.put_attribute_defs(t.org, &defs).unwrap();
    // The admin center's sample, with Indian mobile numbers.
    let file = "User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region\r\n\
        chris@contoso.com,Chris,Green,Chris Green,IT Manager,Information Technology,123451,123-555-1211,+91 98765 43210,123-555-6700,chris@contoso.com,1 Microsoft way,Redmond,Wa,98052,United States\r\n\
        ben@contoso.com,Ben,Andrews,Ben Andrews,IT Manager,Information Technology,123452,123-555-1212,098765 43211,123-555-6700,chris@contoso.com,1 Microsoft way,Redmond,Wa,98052,United States\r\n";
    let job = t.import_with(
        file.as_bytes(),
        ImportOptions {
            mapping: ColumnMapping::preset("m365"),
            ..ImportOptions::default()
        },
    );
    assert_eq!(
        (job.status, job.counts.get("created")),
        (JobStatus::Completed, 2),
        "{:?}",
        job.error
    );
    let chris = t.user("+919876543210").unwrap();
    assert_eq!(chris.name.as_str(), "Chris Green");
    let title = steward_domain::AttributeKey::parse("job_title").unwrap();
    assert_eq!(
        chris.attributes[&title],
        AttributeValue::String("IT Manager".into())
    );
    assert_eq!(
        chris.attributes.len(),
        1,
        "Department is not defined here: ignored"
    );
}

#[test]
fn phones_a_spreadsheet_damaged_are_repaired_and_listed_or_refused_when_digits_were_lost() {
    let t = setup();
    let file = format!(
        "{HEADER}\n\
         '09876543210,Apostrophe,E-1\n\
         9.19876543211E+11,Scientific,E-2\n\
         447911123456,No plus,E-3\n\
         9.19877E+11,Rounded,E-4\n"
    );
    let job = t.import(file.as_bytes());
    assert_eq!(
        (job.counts.get("created"), job.counts.get("failed")),
        (3, 1),
        "{}",
        t.errors(&job)
    );
    assert!(t.user("+919876543211").is_some());
    assert!(t.user("+447911123456").is_some());
    let result = t.result(&job);
    let lines: Vec<&str> = result.lines().collect();
    assert!(
        lines[1].ends_with("created,Phone Number: removed the leading apostrophe"),
        "{result}"
    );
    assert!(lines[2].ends_with("created,Phone Number: expanded scientific notation"));
    assert!(
        lines[3].ends_with("created,Phone Number: added the missing + before the country code")
    );
    assert!(
        lines[4].contains("failed,\"Phone Number: \"\"9.19877E+11\"\" lost its last 6 digits"),
        "{result}"
    );
}

/// A workbook made with `rust_xlsxwriter` (the writer of our own xlsx exports), its
/// first sheet filled by `fill`.
fn workbook(fill: impl FnOnce(&mut Worksheet) -> Result<(), XlsxError>) -> Vec<u8> {
    let mut book = Workbook::new();
    fill(book.add_worksheet()).unwrap();
    book.save_to_buffer().unwrap()
}

fn header_row(sheet: &mut Worksheet, row: u32, names: &[&str]) -> Result<(), XlsxError> {
    for (c, name) in names.iter().enumerate() {
        sheet.write_string(row, c as u16, *name)?;
    }
    Ok(())
}

#[test]
fn a_workbook_with_phones_as_text_dates_as_dates_and_yes_no_as_text_imports_like_its_csv() {
    let t = setup();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let date_time = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let book = workbook(|s| {
        header_row(
            s,
            0,
            &[
                "Phone Number",
                "Name",
                "Employee ID",
                "Department",
                "Location",
                "Hire Date",
                "Remote",
                "Level",
            ],
        )?;
        s.write_string(1, 0, "+919876543210")?;
        s.write_string(1, 1, "Asha\nRao")?;
        s.write_string(1, 2, "E-1")?;
        s.write_string(1, 3, "=Sales")?;
        s.write_string(1, 4, "Pune, \"MH\"")?;
        s.write_datetime_with_format(1, 5, ExcelDateTime::from_ymd(2024, 1, 31)?, &date)?;
        s.write_string(1, 6, "Yes")?;
        s.write_number(1, 7, 3.0)?;
        s.write_string(2, 0, "+447911123456")?;
        s.write_string(2, 1, "Zoë 名簿 🎉")?;
        s.write_string(2, 2, "E-2")?;
        let at = ExcelDateTime::from_ymd(2023, 6, 15)?.and_hms(14, 30, 15)?;
        s.write_datetime_with_format(2, 5, at, &date_time)?;
        s.write_string(2, 6, "No")?;
        s.write_number(2, 7, 2.5)?;
        Ok(())
    });
    let first = t.import(&book);
    assert_eq!(
        (first.counts.get("created"), first.counts.get("failed")),
        (2, 0),
        "{:?} {}",
        first.error,
        t.errors(&first)
    );
    let asha = t.user("+919876543210").unwrap();
    assert_eq!(asha.name.as_str(), "Asha\nRao");
    let text = |u: &steward_domain::User, key: &str| {
        u.attributes
            .get(&AttributeKey::parse(key).unwrap())
            .map(AttributeValue::to_text)
    };
    assert_eq!(text(&asha, "department").as_deref(), Some("=Sales"));
    assert_eq!(text(&asha, "location").as_deref(), Some("Pune, \"MH\""));
    assert_eq!(
        text(&asha, "hire_date").as_deref(),
        Some("2024-01-31T00:00:00Z")
    );
    assert_eq!(text(&asha, "remote").as_deref(), Some("Yes"));
    assert_eq!(text(&asha, "level").as_deref(), Some("3"));
    let zoe = t.user("+447911123456").unwrap();
    assert_eq!(zoe.name.as_str(), "Zoë 名簿 🎉");
    assert_eq!(
        text(&zoe, "hire_date").as_deref(),
        Some("2023-06-15T14:30:15Z")
    );
    assert_eq!(text(&zoe, "remote").as_deref(), Some("No"));
    assert_eq!(text(&zoe, "level").as_deref(), Some("2.5"));
    assert_eq!(text(&zoe, "department"), None);

    // The same workbook again, and the same people as CSV: all unchanged.
    let again = t.import(&book);
    assert_eq!(
        (again.counts.get("unchanged"), again.counts.get("failed")),
        (2, 0)
    );
    let csv = "Phone Number,Name,Employee ID,Department,Location,Hire Date,Remote,Level\n\
               +919876543210,\"Asha\nRao\",E-1,'=Sales,\"Pune, \"\"MH\"\"\",2024-01-31,Yes,3\n\
               +447911123456,Zoë 名簿 🎉,E-2,,,2023-06-15 14:30:15,No,2.5\n";
    let as_csv = t.import(csv.as_bytes());
    assert_eq!(
        (as_csv.counts.get("unchanged"), as_csv.counts.get("failed")),
        (2, 0),
        "{}",
        t.errors(&as_csv)
    );
    // The original download is the workbook as uploaded.
    let (_, mut original, media_type) = import::open_original(&t.app, t.org, first.id).unwrap();
    assert_eq!(media_type, import::xlsx::XLSX_MEDIA_TYPE);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut original, &mut bytes).unwrap();
    assert_eq!(bytes, book);
}

#[test]
fn phones_and_numbers_excel_stored_as_numbers_read_as_the_digits_typed() {
    let t = setup();
    let book = workbook(|s| {
        header_row(s, 0, &["Phone Number", "Name", "Employee ID", "Level"])?;
        s.write_number(1, 0, 919876543210.0)?;
        s.write_string(1, 1, "Asha")?;
        s.write_number(1, 2, 1234.0)?;
        s.write_number(1, 3, 4.0)?;
        s.write_number(2, 0, 447911123456.0)?;
        s.write_string(2, 1, "Ravi")?;
        s.write_number(2, 2, 1235.0)?;
        s.write_number(2, 3, 0.1 + 0.2)?;
        Ok(())
    });
    let job = t.import(&book);
    assert_eq!(job.counts.get("created"), 2, "{}", t.errors(&job));
    let asha = t.user("+919876543210").unwrap();
    let level = AttributeKey::parse("level").unwrap();
    let id = AttributeKey::parse("employee_id").unwrap();
    assert_eq!(asha.attributes[&id], AttributeValue::String("1234".into()));
    assert_eq!(asha.attributes[&level], AttributeValue::Number(4.0));
    let ravi = t.user("+447911123456").unwrap();
    assert_eq!(
        ravi.attributes[&level],
        AttributeValue::Number(0.3),
        "to 15 digits, as Excel shows it"
    );
    let result = t.result(&job);
    assert!(
        result.contains("\n919876543210,Asha,1234,4,created,"),
        "{result}"
    );
    assert!(
        !result.contains("E+"),
        "never scientific notation: {result}"
    );
}

#[test]
fn workbook_rows_keep_the_numbers_excel_shows_and_empty_rows_at_the_end_are_ignored() {
    let t = setup();
    let bold = Format::new().set_bold();
    let book = workbook(|s| {
        header_row(s, 0, &["Phone Number", "Name", "Employee ID"])?;
        header_row(s, 1, &["+919876543210", "Asha", "E-1"])?;
        // Row 3 is empty; row 4 has a bad phone.
        header_row(s, 3, &["12", "Bad", "E-3"])?;
        header_row(s, 4, &["+919876543211", "Ravi", "E-4"])?;
        // Formatted but empty cells below the data, as spreadsheets leave them.
        for row in 5..10 {
            s.write_blank(row, 0, &bold)?;
            s.write_blank(row, 4, &bold)?;
        }
        Ok(())
    });
    let job = t.import(&book);
    assert_eq!(
        (job.counts.get("created"), job.counts.get("failed")),
        (2, 1),
        "{:?}",
        job.error
    );
    assert_eq!(
        job.progress.total, 4,
        "rows 2 to 5: none of the empty ones after"
    );
    let errors = read_csv(&t.errors(&job));
    assert_eq!(errors[1][..3], ["4", "Phone Number", "12"], "{errors:?}");
}

#[test]
fn a_workbook_whose_header_is_not_on_row_1_fails_naming_the_row() {
    let t = setup();
    let book = workbook(|s| {
        header_row(s, 2, &["Phone Number", "Name", "Employee ID"])?;
        header_row(s, 3, &["+919876543210", "Asha", "E-1"])?;
        Ok(())
    });
    let job = t.import(&book);
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error.unwrap();
    assert!(error.contains("row 3"), "{error}");
    assert_eq!(t.store.count_users(t.org).unwrap(), 0);
}

#[test]
fn an_old_xls_or_password_protected_workbook_fails_saying_how_to_save_it() {
    let t = setup();
    let mut file = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    file.resize(4096, 0);
    let job = t.import(&file);
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error.unwrap();
    assert!(error.contains("Excel Workbook (.xlsx)"), "{error}");
}

#[test]
fn a_workbook_whose_text_would_not_fit_the_memory_bound_is_refused_on_upload() {
    let mut t = setup();
    t.app = t.app.clone().with_limits(steward_app::Limits {
        xlsx_in_memory_bytes: 1024,
        ..steward_app::Limits::default()
    });
    let book = workbook(|s| {
        header_row(s, 0, &["Phone Number", "Name", "Employee ID"])?;
        for row in 1..200 {
            let phone = format!("+9198765{row:05}");
            header_row(s, row, &[&phone, &format!("Person {row}"), "E"])?;
        }
        Ok(())
    });
    let refused = import::enqueue(
        &t.app,
        t.org,
        upload(ImportOptions::default()),
        &mut &book[..],
    )
    .unwrap_err();
    match refused {
        steward_app::AppError::TooLarge(message) => {
            assert!(message.contains("more than the 1 KiB"), "{message}")
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}
