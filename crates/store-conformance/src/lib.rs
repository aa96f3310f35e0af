//! The conformance suite every Steward store backend must pass.
//!
//! Each check is a plain function over `&dyn Store`, written against the interface
//! only, and named as the sentence it asserts. The checks of each area live in its
//! module; the jobs' checks are here. A backend runs them all with
//! [`conformance_tests!`], giving a factory that returns a fresh, empty store and a
//! guard that owns its storage (a temporary directory, say): the store is dropped
//! first, then the guard, so a test run leaves nothing behind.
//!
//! ```ignore
//! steward_store_conformance::conformance_tests!(|| {
//!     let dir = tempfile::tempdir().unwrap();
//!     (open_store(dir.path()), dir)
//! });
//! ```

// This crate is test code: a failed unwrap is a failed check.
#![allow(clippy::unwrap_used)]

mod audit;
mod content;
mod groups;
mod orgs;
mod sessions;
mod throttles;
mod users;

pub use audit::*;
pub use content::*;
pub use groups::*;
pub use orgs::*;
pub use sessions::*;
pub use throttles::*;
pub use users::*;

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_domain::{
    Account, AccountId, AttributeChanges, AttributeKey, AttributeValue, Attributes, Counts, Email,
    Job, JobId, JobKind, JobStatus, Org, OrgId, OrgName, PersonName, PhoneNumber, Plan, Progress,
    Region, Session, SessionOwner, UserSource, UserUpsert,
};
use steward_store::{
    Heartbeat, ImportStep, JobCheckpoint, JobEnd, JobLease, JobQuery, OutcomeRun, RowError,
    RowOutcome, Store, StoreError, TokenHash,
};

/// Generates one `#[test]` per conformance check, each on a fresh store.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@each $factory;
            orgs_read_back_as_written,
            tokens_are_found_by_their_hash_alone,
            attribute_schema_is_replaced_whole_and_keeps_its_order,
            upsert_creates_then_leaves_equal_rows_unchanged_then_updates,
            users_of_one_org_are_invisible_to_another,
            user_lists_page_by_phone_with_a_cursor_and_search,
            jobs_are_claimed_oldest_first_and_only_once,
            a_named_job_is_claimed_or_nothing,
            a_job_whose_lease_expired_is_claimed_again,
            a_worker_that_lost_its_lease_cannot_commit,
            an_import_step_commits_rows_errors_and_checkpoint_together,
            a_dry_run_step_records_outcomes_and_writes_no_user,
            an_idempotency_key_gives_back_the_job_that_holds_it,
            canceling_a_queued_job_ends_it_and_a_running_job_is_asked_to_stop,
            jobs_of_another_org_are_invisible,
            queued_and_running_jobs_are_counted_per_org_and_kind,
            content_cannot_point_across_orgs,
            messages_list_newest_first_with_a_cursor_and_are_read_within_their_org,
            attachments_are_stored_only_on_a_message_of_their_org,
            actions_and_connectors_are_listed_and_read_by_kind_within_their_org,
            items_are_published_to_groups_of_their_org_and_unpublished_once,
            a_group_report_counts_members_activity_and_content_of_that_group_alone,
            telemetry_is_recorded_for_the_org_named_only,
            audit_events_are_appended_per_org,
            audit_events_list_newest_first_with_filters_and_a_cursor,
            accounts_are_found_by_email_in_any_case_and_unique,
            disabling_an_account_ends_its_sessions_but_only_in_its_own_org,
            sessions_are_found_touched_and_deleted_by_hash,
            a_one_time_code_is_used_once_within_its_attempts_and_lifetime,
            tokens_are_listed_and_revoked_per_org,
            a_phone_is_found_in_every_org_and_its_group_roles_per_org,
            the_sms_outbox_lists_newest_first,
            a_user_is_created_once_and_updated_in_place,
            an_attribute_schema_save_removes_and_rewrites_values,
            groups_are_updated_and_their_members_managed_within_one_org,
            user_lists_filter_by_attribute_values_and_sort_by_name_with_a_cursor,
            a_throttle_counts_up_to_its_limit_per_key_and_window,
            a_released_attempt_is_given_back_once,
            concurrent_hits_never_get_more_than_the_limit_through,
        );
    };
    (@each $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let (store, guard) = ($factory)();
                $crate::$check(&store);
                // The store lets go of its storage before the guard removes it.
                drop(store);
                drop(guard);
            }
        )*
    };
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .expect("a valid date")
}

fn new_org(store: &dyn Store, name: &str) -> Org {
    let org = Org {
        id: OrgId::new(),
        name: OrgName::parse(name).expect("a valid name"),
        region: Region::parse("IN").expect("a known region"),
        plan: Plan::Standard,
        created_at: t0(),
    };
    store.create_org(&org).expect("create org");
    org
}

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::from_e164(raw).expect("a valid phone")
}

fn upsert(raw_phone: &str, name: &str, attributes: AttributeChanges) -> UserUpsert {
    UserUpsert {
        phone: phone(raw_phone),
        name: PersonName::parse(name).expect("a valid name"),
        source: UserSource::Upload,
        attributes,
    }
}

fn key(raw: &str) -> AttributeKey {
    AttributeKey::parse(raw).expect("a valid key")
}

fn set(pairs: &[(&str, AttributeValue)]) -> AttributeChanges {
    pairs
        .iter()
        .map(|(k, v)| (key(k), Some(v.clone())))
        .collect()
}

fn attrs(pairs: &[(&str, AttributeValue)]) -> Attributes {
    pairs.iter().map(|(k, v)| (key(k), v.clone())).collect()
}

fn new_job(store: &dyn Store, org: OrgId, at: DateTime<Utc>) -> Job {
    let job = job_for(org, at);
    store.enqueue_job(&job).expect("enqueue");
    job
}

fn job_for(org: OrgId, at: DateTime<Utc>) -> Job {
    Job {
        id: JobId::new(),
        org_id: org,
        kind: JobKind::ImportUsers,
        status: JobStatus::Queued,
        file_name: Some("users.csv".into()),
        created_by: "cli".into(),
        created_at: at,
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::default(),
        payload: serde_json::json!({"blob": "x"}),
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    }
}

fn lease_of(job: &Job, worker: &str) -> JobLease {
    JobLease {
        job_id: job.id,
        org_id: job.org_id,
        worker_id: worker.into(),
    }
}

const PHONES: [&str; 4] = [
    "+919876543210",
    "+919876543211",
    "+14155550123",
    "+447400123456",
];

pub fn jobs_are_claimed_oldest_first_and_only_once(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let older = new_job(store, org.id, t0());
    let newer = new_job(store, org.id, t0() + Duration::seconds(1));
    let lease = t0() + Duration::minutes(1);
    let first = store.claim_job(None, "w1", t0(), lease).unwrap().unwrap();
    assert_eq!(
        (first.id, first.status, first.attempts),
        (older.id, JobStatus::Running, 1)
    );
    assert_eq!(first.started_at, Some(t0()));
    let second = store.claim_job(None, "w2", t0(), lease).unwrap().unwrap();
    assert_eq!(second.id, newer.id);
    assert_eq!(store.claim_job(None, "w3", t0(), lease).unwrap(), None);
}

pub fn a_named_job_is_claimed_or_nothing(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let _older = new_job(store, org.id, t0());
    let mine = new_job(store, org.id, t0() + Duration::seconds(1));
    let lease = t0() + Duration::minutes(1);
    let claimed = store
        .claim_job(Some(mine.id), "cli", t0(), lease)
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, mine.id);
    assert_eq!(
        store.claim_job(Some(mine.id), "cli2", t0(), lease).unwrap(),
        None
    );
}

pub fn a_job_whose_lease_expired_is_claimed_again(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let job = new_job(store, org.id, t0());
    store
        .claim_job(None, "dead", t0(), t0() + Duration::seconds(30))
        .unwrap()
        .unwrap();
    let w1 = lease_of(&job, "dead");
    let progress = JobCheckpoint {
        progress: Progress {
            done: 10,
            total: 100,
        },
        counts: Counts {
            created: 10,
            ..Counts::default()
        },
        state: Some(serde_json::json!({"offset": 1234})),
    };
    store.checkpoint_job(&w1, &progress).unwrap();
    assert_eq!(
        store
            .claim_job(None, "w2", t0() + Duration::seconds(29), t0())
            .unwrap(),
        None
    );
    let later = t0() + Duration::seconds(31);
    let again = store
        .claim_job(None, "w2", later, later + Duration::seconds(30))
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempts), (job.id, 2));
    assert_eq!(
        again.checkpoint, progress.state,
        "the new worker resumes from the checkpoint"
    );
    assert_eq!(
        (again.progress, again.counts),
        (progress.progress, progress.counts)
    );
    assert_eq!(
        again.started_at,
        Some(t0()),
        "started_at is the first start"
    );
}

pub fn a_worker_that_lost_its_lease_cannot_commit(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let job = new_job(store, org.id, t0());
    store
        .claim_job(None, "slow", t0(), t0() + Duration::seconds(30))
        .unwrap()
        .unwrap();
    let later = t0() + Duration::seconds(31);
    store
        .claim_job(None, "fast", later, later + Duration::seconds(30))
        .unwrap()
        .unwrap();
    let slow = lease_of(&job, "slow");
    assert_eq!(store.heartbeat_job(&slow, later).unwrap(), Heartbeat::Lost);
    let step = ImportStep {
        first_row: 2,
        row_count: 1,
        users: vec![(2, upsert(PHONES[0], "Asha Rao", AttributeChanges::new()))],
        ..ImportStep::default()
    };
    let step = store.import_users_step(&slow, &step, &JobCheckpoint::default(), later);
    assert!(matches!(step, Err(StoreError::LeaseLost)));
    assert_eq!(
        store.count_users(org.id).unwrap(),
        0,
        "the stale step rolled back"
    );
    let end = JobEnd {
        status: JobStatus::Completed,
        error: None,
        checkpoint: JobCheckpoint::default(),
    };
    assert!(matches!(
        store.finish_job(&slow, &end, later),
        Err(StoreError::LeaseLost)
    ));

    let fast = lease_of(&job, "fast");
    assert_eq!(
        store
            .heartbeat_job(&fast, later + Duration::seconds(60))
            .unwrap(),
        Heartbeat::Held {
            cancel_requested: false
        }
    );
    store.finish_job(&fast, &end, later).unwrap();
    let done = store.get_job(org.id, job.id).unwrap().unwrap();
    assert_eq!(
        (done.status, done.finished_at),
        (JobStatus::Completed, Some(later))
    );
    assert!(
        matches!(
            store.finish_job(&fast, &end, later),
            Err(StoreError::LeaseLost)
        ),
        "once"
    );
    assert_eq!(
        store
            .claim_job(None, "w3", later + Duration::days(1), later)
            .unwrap(),
        None
    );
}

pub fn an_import_step_commits_rows_errors_and_checkpoint_together(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let job = new_job(store, org.id, t0());
    store
        .claim_job(None, "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    let lease = lease_of(&job, "w");
    let errors = vec![
        RowError {
            row: 3,
            column: "Phone Number".into(),
            value: "12".into(),
            reason: "too short".into(),
        },
        RowError {
            row: 3,
            column: "Name".into(),
            value: "".into(),
            reason: "missing".into(),
        },
        RowError {
            row: 5,
            column: "Name".into(),
            value: "".into(),
            reason: "missing".into(),
        },
    ];
    let before = JobCheckpoint {
        progress: Progress { done: 4, total: 10 },
        counts: Counts {
            created: 1,
            ..Counts::default()
        },
        state: Some(serde_json::json!({"row": 5})),
    };
    let repairs = vec![RowError {
        row: 2,
        column: "Phone Number".into(),
        value: "'+919876543210".into(),
        reason: "removed the leading apostrophe".into(),
    }];
    let step = ImportStep {
        first_row: 2,
        row_count: 5,
        users: vec![
            (2, upsert(PHONES[0], "Asha Rao", AttributeChanges::new())),
            (4, upsert(PHONES[1], "Ravi Kumar", AttributeChanges::new())),
        ],
        errors: errors.clone(),
        repairs: repairs.clone(),
        dry_run: false,
    };
    let counts = store
        .import_users_step(&lease, &step, &before, t0())
        .unwrap();
    assert_eq!(
        counts,
        Counts {
            created: 3,
            updated: 0,
            unchanged: 0,
            failed: 2
        }
    );
    let saved = store.get_job(org.id, job.id).unwrap().unwrap();
    assert_eq!(
        (saved.counts, saved.progress, saved.checkpoint),
        (counts, before.progress, before.state)
    );
    assert_eq!(store.job_errors(org.id, job.id, 0, 100).unwrap(), errors);
    assert_eq!(
        store.job_errors(org.id, job.id, 3, 100).unwrap(),
        errors[2..].to_vec()
    );
    assert_eq!(store.job_repairs(org.id, job.id, 0, 100).unwrap(), repairs);
    assert_eq!(
        store.job_outcomes(org.id, job.id, 0, 100).unwrap(),
        vec![OutcomeRun {
            first_row: 2,
            outcomes: vec![
                RowOutcome::Created,
                RowOutcome::Failed,
                RowOutcome::Created,
                RowOutcome::Failed,
                RowOutcome::Blank
            ]
        }]
    );
    assert_eq!(store.job_outcomes(org.id, job.id, 2, 100).unwrap(), vec![]);
    let other = new_org(store, "Fabrikam");
    assert_eq!(store.job_errors(other.id, job.id, 0, 100).unwrap(), vec![]);
    assert_eq!(store.job_repairs(other.id, job.id, 0, 100).unwrap(), vec![]);
    assert_eq!(
        store.job_outcomes(other.id, job.id, 0, 100).unwrap(),
        vec![]
    );
}

pub fn a_dry_run_step_records_outcomes_and_writes_no_user(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    store
        .upsert_users(
            org.id,
            &[upsert(PHONES[0], "Asha Rao", AttributeChanges::new())],
            t0(),
        )
        .unwrap();
    let job = new_job(store, org.id, t0());
    store
        .claim_job(None, "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    let lease = lease_of(&job, "w");
    let step = ImportStep {
        first_row: 2,
        row_count: 3,
        users: vec![
            (2, upsert(PHONES[0], "Asha Rao", AttributeChanges::new())),
            (3, upsert(PHONES[1], "Ravi Kumar", AttributeChanges::new())),
            (4, upsert(PHONES[0], "Asha R. Rao", AttributeChanges::new())),
        ],
        dry_run: true,
        ..ImportStep::default()
    };
    let counts = store
        .import_users_step(&lease, &step, &JobCheckpoint::default(), t0())
        .unwrap();
    assert_eq!(
        counts,
        Counts {
            created: 1,
            updated: 1,
            unchanged: 1,
            failed: 0
        }
    );
    assert_eq!(store.count_users(org.id).unwrap(), 1, "nothing written");
    assert_eq!(
        store
            .get_user(org.id, &phone(PHONES[0]))
            .unwrap()
            .unwrap()
            .name
            .as_str(),
        "Asha Rao"
    );
    assert_eq!(
        store.job_outcomes(org.id, job.id, 0, 10).unwrap()[0].outcomes,
        vec![
            RowOutcome::Unchanged,
            RowOutcome::Created,
            RowOutcome::Updated
        ]
    );
}

pub fn an_idempotency_key_gives_back_the_job_that_holds_it(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let first = job_for(org.id, t0());
    let held = store.enqueue_job_once(&first, "key-1").unwrap();
    assert_eq!(held.id, first.id);
    let again = store
        .enqueue_job_once(&job_for(org.id, t0()), "key-1")
        .unwrap();
    assert_eq!(again.id, first.id, "the same key gives the first job");
    assert_eq!(
        store
            .list_jobs(
                org.id,
                &JobQuery {
                    limit: 10,
                    ..JobQuery::default()
                }
            )
            .unwrap()
            .total,
        1
    );
    let elsewhere = job_for(other.id, t0());
    assert_eq!(
        store.enqueue_job_once(&elsewhere, "key-1").unwrap().id,
        elsewhere.id,
        "keys are per org"
    );
    let fresh = job_for(org.id, t0());
    assert_eq!(
        store.enqueue_job_once(&fresh, "key-2").unwrap().id,
        fresh.id
    );
}

pub fn canceling_a_queued_job_ends_it_and_a_running_job_is_asked_to_stop(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let running = new_job(store, org.id, t0());
    let queued = new_job(store, org.id, t0() + Duration::seconds(1));
    store
        .claim_job(None, "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    let canceled = store
        .request_job_cancel(org.id, queued.id, t0())
        .unwrap()
        .unwrap();
    assert_eq!(
        (canceled.status, canceled.finished_at),
        (JobStatus::Canceled, Some(t0()))
    );
    let asked = store
        .request_job_cancel(org.id, running.id, t0())
        .unwrap()
        .unwrap();
    assert_eq!(
        (asked.status, asked.cancel_requested),
        (JobStatus::Running, true)
    );
    let lease = lease_of(&running, "w");
    assert_eq!(
        store
            .heartbeat_job(&lease, t0() + Duration::minutes(6))
            .unwrap(),
        Heartbeat::Held {
            cancel_requested: true
        }
    );
    assert_eq!(
        store.claim_job(None, "w2", t0(), t0()).unwrap(),
        None,
        "a canceled job never runs"
    );
}

pub fn queued_and_running_jobs_are_counted_per_org_and_kind(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let running = new_job(store, org.id, t0());
    let canceled = new_job(store, org.id, t0() + Duration::seconds(1));
    new_job(store, org.id, t0() + Duration::seconds(2));
    new_job(store, other.id, t0());
    store
        .claim_job(Some(running.id), "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    store.request_job_cancel(org.id, canceled.id, t0()).unwrap();
    let count = |org: OrgId, kind| store.count_active_jobs(org, kind).unwrap();
    assert_eq!(
        count(org.id, JobKind::ImportUsers),
        2,
        "one running, one queued"
    );
    assert_eq!(count(other.id, JobKind::ImportUsers), 1);
    assert_eq!(count(org.id, JobKind::ExportUsers), 0);
}

pub fn jobs_of_another_org_are_invisible(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let job = new_job(store, a.id, t0());
    assert_eq!(store.get_job(b.id, job.id).unwrap(), None);
    assert_eq!(store.request_job_cancel(b.id, job.id, t0()).unwrap(), None);
    assert_eq!(
        store.get_job(a.id, job.id).unwrap().unwrap().status,
        JobStatus::Queued
    );
    let list = store
        .list_jobs(
            b.id,
            &JobQuery {
                limit: 10,
                ..JobQuery::default()
            },
        )
        .unwrap();
    assert_eq!(list.total, 0);
    for i in 1..5 {
        new_job(store, a.id, t0() + Duration::seconds(i));
    }
    let first = store
        .list_jobs(
            a.id,
            &JobQuery {
                limit: 3,
                ..JobQuery::default()
            },
        )
        .unwrap();
    assert_eq!((first.items.len(), first.total), (3, 5));
    assert!(
        first
            .items
            .windows(2)
            .all(|w| w[0].created_at > w[1].created_at),
        "newest first"
    );
    let rest = JobQuery {
        limit: 3,
        after: first.next_cursor,
        ..JobQuery::default()
    };
    let second = store.list_jobs(a.id, &rest).unwrap();
    assert_eq!((second.items.len(), second.next_cursor), (2, None));
}

fn new_account(store: &dyn Store, org: OrgId, email: &str) -> Account {
    let account = Account {
        id: AccountId::new(),
        org_id: org,
        email: Email::parse(email).unwrap(),
        created_at: t0(),
        disabled_at: None,
    };
    store.create_account(&account, "$argon2id$hash").unwrap();
    account
}

fn new_session(store: &dyn Store, owner: SessionOwner, hash: u8) -> TokenHash {
    let session = Session {
        owner,
        csrf_token: format!("csrf-{hash}"),
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(12),
    };
    store
        .create_session(&session, &TokenHash([hash; 32]))
        .unwrap();
    TokenHash([hash; 32])
}
