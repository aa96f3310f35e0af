//! Conformance checks of the job part of the store: the queue, leases, steps, row
//! notes, counts and outputs.

use chrono::{DateTime, Duration, Utc};
use steward_domain::{
    AttributeChanges, AttributeValue, Counts, Job, JobId, JobKind, JobStatus, OrgId, Progress,
    UpsertOutcome,
};
use steward_store::{
    BlobKey, FilesExpiry, Heartbeat, JobCheckpoint, JobEnd, JobLease, JobOutput, JobQuery,
    NoteKind, OutcomeRun, RowError, RowOutcome, Store, StoreError,
};

use crate::{PHONES, new_org, set, t0, upsert};

fn counts(pairs: &[(&str, u64)]) -> Counts {
    let mut counts = Counts::default();
    for (name, n) in pairs {
        counts.add(name, *n);
    }
    counts
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
        counts: Counts::zero(&["created", "updated", "unchanged", "failed"]),
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
        counts: counts(&[("created", 10), ("failed", 1)]),
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
        (again.progress, &again.counts),
        (progress.progress, &progress.counts)
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
    let row = upsert(PHONES[0], "Asha Rao", AttributeChanges::new());
    let mut ran = false;
    let step = store.job_step(&slow, &mut |tx| {
        ran = true;
        tx.upsert_users(&[&row], later)?;
        Ok(JobCheckpoint::default())
    });
    assert!(matches!(step, Err(StoreError::LeaseLost)));
    assert!(!ran, "the lease is checked before the work");
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

pub fn a_job_step_commits_its_writes_and_checkpoint_together(store: &dyn Store) {
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
    let repairs = vec![RowError {
        row: 2,
        column: "Phone Number".into(),
        value: "'+919876543210".into(),
        reason: "removed the leading apostrophe".into(),
    }];
    let run = OutcomeRun {
        first_row: 2,
        outcomes: vec![
            RowOutcome::Created,
            RowOutcome::Failed,
            RowOutcome::Created,
            RowOutcome::Failed,
            RowOutcome::Blank,
        ],
    };
    let rows = [
        upsert(PHONES[0], "Asha Rao", AttributeChanges::new()),
        upsert(PHONES[1], "Ravi Kumar", AttributeChanges::new()),
    ];
    let checkpoint = JobCheckpoint {
        progress: Progress { done: 9, total: 10 },
        counts: counts(&[("created", 3), ("failed", 2)]),
        state: Some(serde_json::json!({"row": 7})),
    };
    let saved = store
        .job_step(&lease, &mut |tx| {
            let done = tx.upsert_users(&[&rows[0], &rows[1]], t0())?;
            assert_eq!(done, vec![UpsertOutcome::Created, UpsertOutcome::Created]);
            tx.add_notes(NoteKind::Error, &errors)?;
            tx.add_notes(NoteKind::Repair, &repairs)?;
            tx.add_outcomes(&run)?;
            Ok(checkpoint.clone())
        })
        .unwrap();
    assert_eq!(saved, checkpoint);
    assert_eq!(store.count_users(org.id).unwrap(), 2);
    let job_now = store.get_job(org.id, job.id).unwrap().unwrap();
    assert_eq!(
        (job_now.counts, job_now.progress, job_now.checkpoint),
        (checkpoint.counts, checkpoint.progress, checkpoint.state)
    );
    assert_eq!(store.job_errors(org.id, job.id, 0, 100).unwrap(), errors);
    assert_eq!(
        store.job_errors(org.id, job.id, 3, 100).unwrap(),
        errors[2..].to_vec()
    );
    assert_eq!(store.job_repairs(org.id, job.id, 0, 100).unwrap(), repairs);
    assert_eq!(
        store.job_outcomes(org.id, job.id, 0, 100).unwrap(),
        vec![run]
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

pub fn a_failed_step_keeps_nothing(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let job = new_job(store, org.id, t0());
    store
        .claim_job(None, "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    let lease = lease_of(&job, "w");
    let row = upsert(PHONES[0], "Asha Rao", AttributeChanges::new());
    let step = store.job_step(&lease, &mut |tx| {
        tx.upsert_users(&[&row], t0())?;
        tx.add_outcomes(&OutcomeRun {
            first_row: 2,
            outcomes: vec![RowOutcome::Created],
        })?;
        Err(StoreError::Backend("the job gave up".into()))
    });
    assert!(matches!(step, Err(StoreError::Backend(_))));
    assert_eq!(store.count_users(org.id).unwrap(), 0);
    assert_eq!(store.job_outcomes(org.id, job.id, 0, 10).unwrap(), vec![]);
    assert_eq!(
        store.get_job(org.id, job.id).unwrap().unwrap().checkpoint,
        None
    );
}

pub fn classifying_rows_answers_like_an_upsert_and_writes_nothing(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    store
        .upsert_users(
            org.id,
            &[upsert(
                PHONES[0],
                "Asha Rao",
                set(&[("level", AttributeValue::Number(3.0))]),
            )],
            t0(),
        )
        .unwrap();
    let job = new_job(store, org.id, t0());
    store
        .claim_job(None, "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    let lease = lease_of(&job, "w");
    let rows = [
        // No level column: the stored level stays, so this row changes nothing.
        upsert(PHONES[0], "Asha Rao", AttributeChanges::new()),
        upsert(PHONES[1], "Ravi Kumar", AttributeChanges::new()),
        upsert(PHONES[2], "Mei Chen", AttributeChanges::new()),
    ];
    let changed = upsert(
        PHONES[0],
        "Asha Rao",
        set(&[("level", AttributeValue::Number(4.0))]),
    );
    store
        .job_step(&lease, &mut |tx| {
            assert_eq!(
                tx.classify_users(&[&rows[0], &rows[1], &rows[2]])?,
                vec![
                    UpsertOutcome::Unchanged,
                    UpsertOutcome::Created,
                    UpsertOutcome::Created
                ]
            );
            assert_eq!(
                tx.classify_users(&[&changed])?,
                vec![UpsertOutcome::Updated]
            );
            Ok(JobCheckpoint::default())
        })
        .unwrap();
    assert_eq!(store.count_users(org.id).unwrap(), 1, "nothing written");
}

pub fn a_job_lists_the_outputs_it_recorded_in_its_own_org(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let job = new_job(store, org.id, t0());
    store
        .claim_job(None, "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    let lease = lease_of(&job, "w");
    let output = |name: &str, size| JobOutput {
        key: BlobKey::parse(&format!("orgs/{}/exports/{}/{name}", org.id, job.id)).unwrap(),
        name: name.into(),
        size,
        sha256: "ab".repeat(32),
    };
    let outputs = vec![output("users.csv", 10), output("manifest.json", 2)];
    assert_eq!(store.job_outputs(org.id, job.id).unwrap(), vec![]);
    store
        .job_step(&lease, &mut |tx| {
            tx.add_output(&outputs[0])?;
            Ok(JobCheckpoint::default())
        })
        .unwrap();
    store
        .job_step(&lease, &mut |tx| {
            tx.add_output(&outputs[1])?;
            Ok(JobCheckpoint::default())
        })
        .unwrap();
    assert_eq!(store.job_outputs(org.id, job.id).unwrap(), outputs);
    let other = new_org(store, "Fabrikam");
    assert_eq!(store.job_outputs(other.id, job.id).unwrap(), vec![]);
}

pub fn counts_of_any_names_read_back_in_order(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let queued = new_job(store, org.id, t0());
    assert_eq!(
        store.get_job(org.id, queued.id).unwrap().unwrap().counts,
        queued.counts,
        "the counts a job is enqueued with"
    );
    store
        .claim_job(None, "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    let lease = lease_of(&queued, "w");
    let end = JobEnd {
        status: JobStatus::Completed,
        error: None,
        checkpoint: JobCheckpoint {
            counts: counts(&[("users", 7), ("groups", 2), ("files", 3)]),
            ..JobCheckpoint::default()
        },
    };
    store.finish_job(&lease, &end, t0()).unwrap();
    let done = store.get_job(org.id, queued.id).unwrap().unwrap();
    assert_eq!(
        done.counts.iter().collect::<Vec<_>>(),
        vec![("users", 7), ("groups", 2), ("files", 3)]
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

pub fn a_job_is_found_by_its_id_alone_whatever_its_org(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let in_a = new_job(store, a.id, t0());
    let in_b = new_job(store, b.id, t0());
    assert_eq!(store.find_job(in_a.id).unwrap().unwrap().org_id, a.id);
    assert_eq!(store.find_job(in_b.id).unwrap().unwrap().org_id, b.id);
    assert_eq!(store.find_job(JobId::new()).unwrap(), None);
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

/// The race a stalled worker runs: its step passed the lease check, then, while it
/// works, its lease runs out and another worker claims the job. Whatever the backend
/// does, the step's rows and checkpoint are either both kept, and the new worker
/// resumes after them, or both dropped (`LeaseLost`), and the new worker starts where
/// the step started: never committed and redone.
pub fn a_lease_taken_during_a_step_never_lets_the_step_be_done_twice(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let job = new_job(store, org.id, t0());
    store
        .claim_job(None, "slow", t0(), t0() + Duration::seconds(30))
        .unwrap()
        .unwrap();
    let slow = lease_of(&job, "slow");
    let later = t0() + Duration::minutes(5);
    let step = JobCheckpoint {
        progress: Progress { done: 1, total: 2 },
        counts: counts(&[("created", 1)]),
        state: Some(serde_json::json!({"offset": 1})),
    };
    let (result, claimed) = std::thread::scope(|scope| {
        let mut other = None;
        let result = store.job_step(&slow, &mut |tx| {
            tx.upsert_users(&[&upsert(PHONES[0], "Asha", AttributeChanges::new())], t0())?;
            // Another worker claims the expired job now, on a thread of its own: its
            // claim may have to wait for this step to end.
            let handle = scope.spawn(move || {
                store
                    .claim_job(None, "fast", later, later + Duration::minutes(1))
                    .unwrap()
            });
            // Give the claim the time to take the lease before this step commits
            // (a backend whose claim waits for the step cannot, which is fine too).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while std::time::Instant::now() < deadline
                && store.find_job(job.id).unwrap().unwrap().attempts < 2
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other = Some(handle);
            Ok(step.clone())
        });
        let claimed = other.map(|h| h.join().unwrap());
        (result, claimed)
    });
    let claimed = claimed.unwrap().expect("the other worker claims the job");
    assert_eq!(claimed.attempts, 2);
    let user = store.get_user(org.id, &crate::phone(PHONES[0])).unwrap();
    match result {
        Ok(_) => {
            assert_eq!(claimed.checkpoint, step.state, "resumes after the step");
            assert!(user.is_some());
        }
        Err(StoreError::LeaseLost) => {
            assert_eq!(claimed.checkpoint, None, "starts where the step started");
            assert_eq!(claimed.progress, Progress::default());
            assert!(user.is_none(), "the lost step's rows are not kept");
        }
        Err(e) => panic!("unexpected {e}"),
    }
    // The stalled worker can write nothing more.
    assert!(matches!(
        store.job_step(&slow, &mut |_| Ok(step.clone())),
        Err(StoreError::LeaseLost)
    ));
    let fast = lease_of(&job, "fast");
    let next = JobCheckpoint {
        progress: Progress { done: 2, total: 2 },
        ..step.clone()
    };
    store.job_step(&fast, &mut |_| Ok(next.clone())).unwrap();
    assert_eq!(
        store.get_job(org.id, job.id).unwrap().unwrap().progress,
        next.progress
    );
}

pub fn job_files_expire_per_org_and_are_found_once_due_until_marked_deleted(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let soon = new_job(store, org.id, t0());
    let later = new_job(store, other.id, t0());
    let never = new_job(store, org.id, t0());
    assert_eq!(store.job_files_expiry(org.id, soon.id).unwrap(), None);
    assert!(matches!(
        store.set_job_files_expiry(other.id, soon.id, t0()),
        Err(StoreError::NotFound)
    ));
    store
        .set_job_files_expiry(org.id, soon.id, t0() + Duration::days(1))
        .unwrap();
    // Publishing again moves the expiry.
    store
        .set_job_files_expiry(org.id, soon.id, t0() + Duration::days(2))
        .unwrap();
    store
        .set_job_files_expiry(other.id, later.id, t0() + Duration::days(7))
        .unwrap();
    assert_eq!(
        store.job_files_expiry(org.id, soon.id).unwrap(),
        Some(FilesExpiry {
            expires_at: t0() + Duration::days(2),
            deleted_at: None
        })
    );
    assert_eq!(store.job_files_expiry(other.id, soon.id).unwrap(), None);
    assert_eq!(store.job_files_expiry(org.id, never.id).unwrap(), None);

    let due = |days| {
        store
            .expired_job_files(t0() + Duration::days(days), 10)
            .unwrap()
    };
    assert_eq!(due(1), vec![]);
    assert_eq!(due(2), vec![(org.id, soon.id)]);
    assert_eq!(due(30), vec![(org.id, soon.id), (other.id, later.id)]);
    assert_eq!(
        store
            .expired_job_files(t0() + Duration::days(30), 1)
            .unwrap(),
        vec![(org.id, soon.id)]
    );

    let deleted_at = t0() + Duration::days(3);
    store
        .mark_job_files_deleted(org.id, soon.id, deleted_at)
        .unwrap();
    store
        .mark_job_files_deleted(org.id, soon.id, deleted_at + Duration::days(1))
        .unwrap();
    assert_eq!(
        store.job_files_expiry(org.id, soon.id).unwrap(),
        Some(FilesExpiry {
            expires_at: t0() + Duration::days(2),
            deleted_at: Some(deleted_at)
        }),
        "the first deletion is the one kept"
    );
    assert_eq!(due(30), vec![(other.id, later.id)]);
}
