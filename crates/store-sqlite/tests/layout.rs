//! Checks of the SQLite store's on-disk layout: one file per org beside the shared
//! `steward.db`, no file for an unknown org, the job checkpoint mirrored from the org
//! file, and the one-time split of a data directory written by the single-file
//! layout (schema version 5).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use chrono::{TimeZone, Utc};
use r2d2_sqlite::rusqlite::{Connection, params};
use steward_domain::{
    AttributeDef, AttributeKey, AttributeType, AttributeValue, Counts, GroupId, Job, JobId,
    JobKind, JobStatus, MessageId, Org, OrgId, OrgName, PersonName, PhoneNumber, Plan, Progress,
    Region, UserId, UserSource, UserUpsert,
};
use steward_store::prelude::*;
use steward_store::{JobCheckpoint, JobLease, UserQuery};
use steward_store_sqlite::{DATABASE_FILE, ORGS_DIR, SqliteStore};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).single().unwrap()
}

fn new_org(store: &SqliteStore, name: &str) -> Org {
    let org = Org {
        id: OrgId::new(),
        name: OrgName::parse(name).unwrap(),
        region: Region::parse("IN").unwrap(),
        plan: Plan::Standard,
        created_at: t0(),
    };
    store.create_org(&org).unwrap();
    org
}

fn user(phone: &str, name: &str) -> UserUpsert {
    UserUpsert {
        phone: PhoneNumber::from_e164(phone).unwrap(),
        name: PersonName::parse(name).unwrap(),
        source: UserSource::Upload,
        attributes: [(
            AttributeKey::parse("team").unwrap(),
            Some(AttributeValue::String("blue".into())),
        )]
        .into(),
    }
}

fn names(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn org_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join(ORGS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".db"))
        .collect();
    files.sort();
    files
}

#[test]
fn each_org_has_its_own_file_and_its_schema_touches_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let a = new_org(&store, "Alpha");
    let b = new_org(&store, "Beta");
    let team = AttributeDef {
        key: AttributeKey::parse("team").unwrap(),
        name: "Team".into(),
        ty: AttributeType::String,
        mandatory: false,
        suggested: false,
    };
    store.put_attribute_defs(a.id, &[team]).unwrap();
    store
        .upsert_users(a.id, &[user("+919876543210", "Asha")], t0())
        .unwrap();
    store
        .upsert_users(b.id, &[user("+919876543211", "Ravi")], t0())
        .unwrap();

    let mut expected = vec![format!("{}.db", a.id), format!("{}.db", b.id)];
    expected.sort();
    assert_eq!(org_files(dir.path()), expected);

    let file =
        |org: OrgId| Connection::open(dir.path().join(ORGS_DIR).join(format!("{org}.db"))).unwrap();
    let indexes =
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'users_by_attr_%'";
    assert_eq!(names(&file(a.id), indexes), vec!["users_by_attr_team"]);
    assert_eq!(
        names(&file(b.id), indexes),
        Vec::<String>::new(),
        "no DDL in B's file"
    );
    assert_eq!(
        names(&file(a.id), "SELECT phone FROM users"),
        vec!["+919876543210"]
    );
    assert_eq!(
        names(&file(b.id), "SELECT phone FROM users"),
        vec!["+919876543211"]
    );
    let shared = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    assert_eq!(
        names(
            &shared,
            "SELECT name FROM sqlite_master WHERE name IN ('users', 'groups', 'audit_events')"
        ),
        Vec::<String>::new(),
        "tenant tables are not in the shared file"
    );
    assert_eq!(
        names(
            &shared,
            "SELECT org_id FROM phone_orgs WHERE phone = '+919876543211'"
        ),
        vec![b.id.to_string()]
    );
}

#[test]
fn an_unknown_org_opens_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let ghost = OrgId::new();
    store
        .list_users(
            ghost,
            &UserQuery {
                limit: 5,
                ..Default::default()
            },
        )
        .unwrap();
    store.attribute_defs(ghost).unwrap();
    assert!(
        store
            .create_user(ghost, &user("+919876543210", "Asha"), t0())
            .is_err()
    );
    store.data_counts(ghost).unwrap();
    assert_eq!(org_files(dir.path()), Vec::<String>::new());
    assert_eq!(store.open_org_files(), 0);
}

#[test]
fn a_job_read_takes_the_org_files_checkpoint_when_the_mirror_is_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let org = new_org(&store, "Alpha");
    let job = Job {
        id: JobId::new(),
        org_id: org.id,
        kind: JobKind::ImportUsers,
        status: JobStatus::Queued,
        file_name: None,
        created_by: "cli".into(),
        created_at: t0(),
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::default(),
        payload: serde_json::json!({}),
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    store.enqueue_job(&job).unwrap();
    store
        .claim_job(None, "w1", t0(), t0() + chrono::Duration::seconds(30))
        .unwrap()
        .unwrap();
    let lease = JobLease {
        job_id: job.id,
        org_id: org.id,
        worker_id: "w1".into(),
    };
    let step = JobCheckpoint {
        progress: Progress { done: 7, total: 9 },
        counts: Counts::default(),
        state: Some(serde_json::json!({"offset": 7})),
    };
    store.job_step(&lease, &mut |_| Ok(step.clone())).unwrap();
    // A crash between the step's commit in the org file and its mirror: the shared
    // row still shows the state before the step.
    let shared = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    shared
        .execute(
            "UPDATE jobs SET checkpoint_seq = 0, progress_done = 0, progress_total = 0, checkpoint = NULL WHERE id = ?1",
            [job.id.to_string()],
        )
        .unwrap();
    let read = store.get_job(org.id, job.id).unwrap().unwrap();
    assert_eq!(
        (read.progress, read.checkpoint.clone()),
        (step.progress, step.state.clone())
    );
    let listed = store.list_jobs(org.id, &Default::default()).unwrap();
    assert_eq!(listed.items[0].progress, step.progress);
    // The next claim (the worker died) resumes from it and mirrors it.
    let later = t0() + chrono::Duration::minutes(5);
    let again = store
        .claim_job(None, "w2", later, later + chrono::Duration::minutes(1))
        .unwrap()
        .unwrap();
    assert_eq!(again.checkpoint, step.state);
    let mirrored: u64 = shared
        .query_row(
            "SELECT progress_done FROM jobs WHERE id = ?1",
            [job.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mirrored, 7);
}

/// Writes a data directory as the single-file layout did: migrations 0001-0005 and
/// rows of every kind in `steward.db`. Answers the two orgs.
fn write_old_layout(
    dir: &Path,
) -> (
    OrgId,
    OrgId,
    Vec<(OrgId, String)>,
    GroupId,
    MessageId,
    JobId,
) {
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    for sql in [
        include_str!("../migrations/0001_init.sql"),
        include_str!("../migrations/0002_access.sql"),
        include_str!("../migrations/0003_user_lists.sql"),
        include_str!("../migrations/0004_imports.sql"),
        include_str!("../migrations/0005_job_outputs.sql"),
    ] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 5).unwrap();
    let at = "2026-01-01T09:00:00.000000Z";
    let (a, b) = (OrgId::new(), OrgId::new());
    for (org, name) in [(a, "Alpha"), (b, "Beta")] {
        conn.execute(
            "INSERT INTO orgs (id, name, region, plan, created_at) VALUES (?1, ?2, 'IN', 'standard', ?3)",
            params![org.to_string(), name, at],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO attribute_defs (org_id, key, name, type, mandatory, suggested, position)
             VALUES (?1, 'team', 'Team', 'string', 0, 0, 0)",
            [org.to_string()],
        )
        .unwrap();
    }
    conn.execute_batch(
        "CREATE INDEX users_by_attr_team ON users (org_id, json_extract(attributes, '$.team'), status, phone)",
    )
    .unwrap();
    let mut users = Vec::new();
    let mut first_user = None;
    for i in 0..50 {
        let org = if i % 2 == 0 { a } else { b };
        let id = UserId::new();
        first_user.get_or_insert(id);
        let phone = format!("+9198765{i:05}");
        conn.execute(
            "INSERT INTO users (id, org_id, phone, name, status, source, attributes, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'active', 'upload', '{\"team\":\"blue\"}', ?5, ?5)",
            params![id.to_string(), org.to_string(), phone, format!("Person {i}"), at],
        )
        .unwrap();
        users.push((org, phone));
    }
    // A phone in both orgs.
    conn.execute(
        "INSERT INTO users (id, org_id, phone, name, status, source, attributes, created_at, updated_at)
         VALUES (?1, ?2, '+919876500000', 'Twin', 'active', 'upload', '{}', ?3, ?3)",
        params![UserId::new().to_string(), b.to_string(), at],
    )
    .unwrap();
    users.push((b, "+919876500000".into()));
    let group = GroupId::new();
    conn.execute(
        "INSERT INTO groups (id, org_id, parent_id, name, org_mapped, created_at) VALUES (?1, ?2, NULL, 'Ops', 1, ?3)",
        params![group.to_string(), a.to_string(), at],
    )
    .unwrap();
    let sender = first_user.unwrap();
    conn.execute(
        "INSERT INTO memberships (org_id, group_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, 'admin', ?4)",
        params![a.to_string(), group.to_string(), sender.to_string(), at],
    )
    .unwrap();
    let message = MessageId::new();
    conn.execute(
        "INSERT INTO messages (id, org_id, group_id, sender_id, body, created_at) VALUES (?1, ?2, ?3, ?4, 'hello', ?5)",
        params![message.to_string(), a.to_string(), group.to_string(), sender.to_string(), at],
    )
    .unwrap();
    let job = JobId::new();
    conn.execute(
        "INSERT INTO jobs (id, org_id, kind, status, created_by, created_at, payload, counts,
                           progress_done, progress_total, checkpoint)
         VALUES (?1, ?2, 'import_users', 'completed', 'cli', ?3, '{}', '{\"created\":25}', 25, 25, '{\"offset\":9}')",
        params![job.to_string(), a.to_string(), at],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO job_row_errors (org_id, job_id, row, seq, col, value, reason, kind)
         VALUES (?1, ?2, 3, 0, 'Phone', 'x', 'not a phone', 'error')",
        params![a.to_string(), job.to_string()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO job_row_outcomes (org_id, job_id, first_row, outcomes) VALUES (?1, ?2, 2, 'cx')",
        params![a.to_string(), job.to_string()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO audit_events (id, org_id, actor, action, target, outcome, at)
         VALUES (?1, ?2, 'cli', 'users.import', 'job', 'ok', ?3)",
        params![uuid::Uuid::now_v7().to_string(), a.to_string(), at],
    )
    .unwrap();
    (a, b, users, group, message, job)
}

#[test]
fn a_single_file_data_directory_is_split_into_org_files_on_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, users, group, message, job) = write_old_layout(dir.path());
    // Leftovers of a crash in an earlier attempt: a half-written temporary file, and
    // a finished file whose org was never marked done. Both are written again.
    std::fs::create_dir_all(dir.path().join(ORGS_DIR)).unwrap();
    std::fs::write(
        dir.path().join(ORGS_DIR).join(format!("{a}.db.tmp")),
        b"half",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(ORGS_DIR).join(format!("{b}.db")),
        b"not a database",
    )
    .unwrap();

    let store = SqliteStore::open_dir(dir.path()).unwrap();
    for (org, phone) in &users {
        let phone = PhoneNumber::from_e164(phone).unwrap();
        let found = store.get_user(*org, &phone).unwrap().unwrap();
        assert_eq!(found.org_id, *org);
    }
    let twin = PhoneNumber::from_e164("+919876500000").unwrap();
    assert_eq!(
        store.find_users_by_phone(&twin).unwrap().len(),
        2,
        "the lookup is filled"
    );
    let all = UserQuery {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(store.list_users(a, &all).unwrap().total, 25);
    assert_eq!(store.list_users(b, &all).unwrap().total, 26);
    let blue = UserQuery {
        limit: 100,
        attribute_filters: vec![(
            AttributeKey::parse("team").unwrap(),
            AttributeValue::String("blue".into()),
        )],
        ..Default::default()
    };
    assert_eq!(store.list_users(b, &blue).unwrap().total, 25);
    assert_eq!(
        store
            .list_groups(a)
            .unwrap()
            .iter()
            .map(|g| g.id)
            .collect::<Vec<_>>(),
        vec![group]
    );
    assert_eq!(store.group_members(a, group).unwrap().len(), 1);
    assert_eq!(
        store
            .list_messages(a, group, None, 10)
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        vec![message]
    );
    let found = store.get_job(a, job).unwrap().unwrap();
    assert_eq!(
        (found.status, found.progress.done),
        (JobStatus::Completed, 25)
    );
    assert_eq!(found.checkpoint, Some(serde_json::json!({"offset": 9})));
    assert_eq!(store.job_errors(a, job, 0, 10).unwrap().len(), 1);
    assert_eq!(store.job_outcomes(a, job, 0, 10).unwrap().len(), 1);
    assert_eq!(store.list_audit(a, &Default::default()).unwrap().total, 1);
    assert_eq!(store.attribute_defs(b).unwrap().len(), 1);

    let mut expected = vec![format!("{a}.db"), format!("{b}.db")];
    expected.sort();
    assert_eq!(org_files(dir.path()), expected);
    assert!(
        !dir.path()
            .join(ORGS_DIR)
            .join(format!("{a}.db.tmp"))
            .exists()
    );
    drop(store);
    let shared = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    assert_eq!(
        names(
            &shared,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('users', 'messages', 'org_split', 'job_row_errors')"
        ),
        Vec::<String>::new(),
        "the moved rows are gone from the shared file"
    );
    // Opening again finds nothing left to do.
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(store.count_users(a).unwrap(), 25);
}

#[test]
fn a_large_first_import_defers_the_indexes_and_builds_them_before_it_completes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let org = new_org(&store, "Alpha");
    let team = AttributeDef {
        key: AttributeKey::parse("team").unwrap(),
        name: "Team".into(),
        ty: AttributeType::String,
        mandatory: false,
        suggested: false,
    };
    store.put_attribute_defs(org.id, &[team]).unwrap();
    let job = Job {
        id: JobId::new(),
        org_id: org.id,
        kind: JobKind::ImportUsers,
        status: JobStatus::Queued,
        file_name: None,
        created_by: "cli".into(),
        created_at: t0(),
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::default(),
        payload: serde_json::json!({}),
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    store.enqueue_job(&job).unwrap();
    store
        .claim_job(None, "w1", t0(), t0() + chrono::Duration::minutes(5))
        .unwrap()
        .unwrap();
    let lease = JobLease {
        job_id: job.id,
        org_id: org.id,
        worker_id: "w1".into(),
    };
    let rows: Vec<UserUpsert> = (0..12_000)
        .map(|i| user(&format!("+9198765{i:05}"), &format!("Person {i}")))
        .collect();
    let file = Connection::open(dir.path().join(ORGS_DIR).join(format!("{}.db", org.id))).unwrap();
    let secondary = "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'users_by_%' ORDER BY name";
    assert_eq!(
        names(&file, secondary).len(),
        4,
        "three fixed and one filter index"
    );
    for chunk in rows.chunks(6_000) {
        store
            .job_step(&lease, &mut |tx| {
                let refs: Vec<&UserUpsert> = chunk.iter().collect();
                tx.upsert_users(&refs, t0())?;
                Ok(JobCheckpoint::default())
            })
            .unwrap();
    }
    // 6,000 rows is under the bulk threshold: the indexes stayed.
    assert_eq!(names(&file, secondary).len(), 4);

    // A second org, whose first step is large, takes the bulk path.
    let bulk = new_org(&store, "Beta");
    store
        .put_attribute_defs(
            bulk.id,
            &[AttributeDef {
                key: AttributeKey::parse("team").unwrap(),
                name: "Team".into(),
                ty: AttributeType::String,
                mandatory: false,
                suggested: false,
            }],
        )
        .unwrap();
    let job = Job {
        id: JobId::new(),
        org_id: bulk.id,
        ..job
    };
    store.enqueue_job(&job).unwrap();
    store
        .claim_job(
            Some(job.id),
            "w1",
            t0(),
            t0() + chrono::Duration::minutes(5),
        )
        .unwrap()
        .unwrap();
    let lease = JobLease {
        job_id: job.id,
        org_id: bulk.id,
        worker_id: "w1".into(),
    };
    store
        .job_step(&lease, &mut |tx| {
            let refs: Vec<&UserUpsert> = rows.iter().collect();
            tx.upsert_users(&refs, t0())?;
            Ok(JobCheckpoint::default())
        })
        .unwrap();
    let file = Connection::open(dir.path().join(ORGS_DIR).join(format!("{}.db", bulk.id))).unwrap();
    assert_eq!(
        names(&file, secondary),
        Vec::<String>::new(),
        "deferred during the load"
    );
    let blue = UserQuery {
        limit: 5,
        attribute_filters: vec![(
            AttributeKey::parse("team").unwrap(),
            AttributeValue::String("blue".into()),
        )],
        ..Default::default()
    };
    assert_eq!(
        store.list_users(bulk.id, &blue).unwrap().total,
        12_000,
        "reads still answer"
    );
    store
        .finish_job(
            &lease,
            &steward_store::JobEnd {
                status: JobStatus::Completed,
                error: None,
                checkpoint: JobCheckpoint::default(),
            },
            t0(),
        )
        .unwrap();
    assert_eq!(
        names(&file, secondary),
        vec![
            "users_by_attr_team",
            "users_by_name",
            "users_by_name_search",
            "users_by_status"
        ],
        "built before the job completed"
    );
    let mut plan = file
        .prepare("EXPLAIN QUERY PLAN SELECT count(*) FROM users WHERE a_team = 'blue' AND status = 'active'")
        .unwrap();
    let plan: Vec<String> = plan
        .query_map([], |r| r.get(3))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        plan.iter().any(|p| p.contains("users_by_attr_team")),
        "{plan:?}"
    );
    assert_eq!(store.list_users(bulk.id, &blue).unwrap().total, 12_000);
    // Searches, both ways: a rare match (rowids from the index ranges) and a common
    // one (walking the phone order).
    let search = |q: &str| {
        let page = store
            .list_users(
                bulk.id,
                &UserQuery {
                    limit: 3,
                    search: Some(q.into()),
                    ..Default::default()
                },
            )
            .unwrap();
        (
            page.total,
            page.items
                .iter()
                .map(|u| u.phone.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        search("PERSON 1199"),
        (
            11,
            vec![
                "+919876501199".into(),
                "+919876511990".into(),
                "+919876511991".into()
            ]
        )
    );
    assert_eq!(
        search("9198765119"),
        (
            100,
            vec![
                "+919876511900".into(),
                "+919876511901".into(),
                "+919876511902".into()
            ]
        )
    );
    assert_eq!(search("per").0, 12_000);
    assert_eq!(
        search("per").1,
        vec!["+919876500000", "+919876500001", "+919876500002"]
    );
}
