//! Checks of deleting an org: the start that hides it and ends its credentials at
//! once, the phones it forgets, and the receipt that remains. Another org is never
//! touched.

use chrono::Duration;
use steward_domain::content::Connector;
use steward_domain::{
    ApiToken, AttributeChanges, ConnectorId, Counts, Job, JobId, JobKind, JobStatus, OrgId,
    OtpCode, Progress, Role, SessionOwner, TokenId,
};
use steward_store::{
    DeletionEvent, OrgDeletion, OrgPhone, PublishableKind, Store, StoreError, TokenHash,
};

use crate::{PHONES, new_account, new_org, new_session, phone, t0, upsert};

fn deletion_job(org: OrgId) -> Job {
    Job {
        id: JobId::new(),
        org_id: org,
        kind: JobKind::DeleteOrg,
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
    }
}

fn receipt(org: OrgId, job: &Job) -> OrgDeletion {
    let mut counts = Counts::default();
    counts.add("users", 2);
    OrgDeletion {
        org_id: org,
        job_id: job.id,
        requested_by: "cli".into(),
        requested_at: t0(),
        status_key: TokenHash([3; 32]),
        counts,
        finished_at: None,
    }
}

fn event(step: &str, minutes: i64) -> DeletionEvent {
    DeletionEvent {
        at: t0() + Duration::minutes(minutes),
        actor: "cli".into(),
        step: step.into(),
        detail: "-".into(),
    }
}

fn token(store: &dyn Store, org: OrgId, hash: u8) -> TokenHash {
    let token = ApiToken {
        id: TokenId::new(),
        org_id: org,
        role: Role::OrgAdmin,
        label: "ci".into(),
        created_at: t0(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    store
        .create_api_token(&token, &TokenHash([hash; 32]))
        .unwrap();
    TokenHash([hash; 32])
}

fn otp(raw_phone: &str) -> OtpCode {
    OtpCode {
        id: uuid::Uuid::now_v7(),
        phone: phone(raw_phone),
        code_hash: vec![9; 32],
        salt: [4; 16],
        created_at: t0(),
        expires_at: t0() + Duration::minutes(10),
        attempts: 0,
        used_at: None,
    }
}

/// Two orgs with users (PHONES[1] in both), an admin, a token, member sessions and a
/// connector each.
fn two_orgs(store: &dyn Store) -> (OrgId, OrgId) {
    let a = new_org(store, "Contoso").id;
    let b = new_org(store, "Fabrikam").id;
    for (org, phones) in [(a, &PHONES[..2]), (b, &PHONES[1..3])] {
        for p in phones {
            let user = store
                .create_user(org, &upsert(p, "Asha Rao", AttributeChanges::new()), t0())
                .unwrap();
            if *p == PHONES[0] || *p == PHONES[2] {
                let connector = Connector {
                    id: ConnectorId::new(),
                    org_id: org,
                    name: "Weather warnings".into(),
                    config: serde_json::json!({}),
                    created_by: user.id,
                    created_at: t0(),
                };
                store.insert_publishables(org, &[connector.into()]).unwrap();
            }
        }
    }
    (a, b)
}

pub fn beginning_an_org_deletion_hides_it_and_ends_its_credentials_alone(store: &dyn Store) {
    let (a, b) = two_orgs(store);
    let admin_a = new_account(store, a, "admin@contoso.example");
    let admin_b = new_account(store, b, "admin@fabrikam.example");
    let admin_a_session = new_session(store, SessionOwner::Account(admin_a.id), 1);
    let admin_b_session = new_session(store, SessionOwner::Account(admin_b.id), 2);
    let only_a = new_session(store, SessionOwner::Member(phone(PHONES[0])), 3);
    let in_both = new_session(store, SessionOwner::Member(phone(PHONES[1])), 4);
    let token_a = token(store, a, 5);
    let token_b = token(store, b, 6);

    let job = deletion_job(a);
    let throttle_keys = |id: &str| vec![format!("k:{id}")];
    let ended = store
        .begin_org_deletion(
            &receipt(a, &job),
            &job,
            &event("requested", 0),
            &throttle_keys,
        )
        .unwrap();
    assert_eq!(
        (
            ended.get("sessions"),
            ended.get("api_tokens"),
            ended.get("accounts"),
            ended.get("connectors")
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(store.get_org(a).unwrap(), None);
    assert_eq!(store.find_api_token(&token_a).unwrap(), None);
    assert!(store.find_api_token(&token_b).unwrap().is_some());
    assert_eq!(store.find_session(&admin_a_session).unwrap(), None);
    assert_eq!(store.find_session(&only_a).unwrap(), None);
    assert!(store.find_session(&in_both).unwrap().is_some());
    assert!(store.find_session(&admin_b_session).unwrap().is_some());
    assert_eq!(store.get_account(admin_a.id).unwrap(), None);
    assert!(store.get_account(admin_b.id).unwrap().is_some());
    assert_eq!(store.get_user(a, &phone(PHONES[0])).unwrap(), None);
    let b_connectors = store
        .list_publishables(b, PublishableKind::Connector, None)
        .unwrap();
    assert_eq!(b_connectors.len(), 1);
    assert_eq!(
        store.find_job(job.id).unwrap().unwrap().kind,
        JobKind::DeleteOrg
    );

    let kept = store.org_deletion(a).unwrap().unwrap();
    assert_eq!(kept, receipt(a, &job));
    assert_eq!(
        store.org_deletion_events(a).unwrap(),
        vec![event("requested", 0)]
    );
    assert_eq!(store.org_deletion(b).unwrap(), None);
    let again = deletion_job(a);
    assert!(matches!(
        store.begin_org_deletion(
            &receipt(a, &again),
            &again,
            &event("requested", 1),
            &throttle_keys
        ),
        Err(StoreError::NotFound | StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.remove_org_database(b),
        Err(StoreError::Conflict(_))
    ));
}

pub fn a_deleted_org_forgets_its_phones_and_leaves_only_its_receipt(store: &dyn Store) {
    let (a, b) = two_orgs(store);
    for p in [PHONES[0], PHONES[1], PHONES[2]] {
        store.create_otp(&otp(p)).unwrap();
    }
    let older_a = deletion_job(a);
    store.enqueue_job(&older_a).unwrap();
    let job_b = deletion_job(b);
    store.enqueue_job(&job_b).unwrap();
    let job = deletion_job(a);
    let keys = |id: &str| vec![format!("k:{id}")];
    store
        .begin_org_deletion(&receipt(a, &job), &job, &event("requested", 0), &keys)
        .unwrap();
    store.remove_org_database(a).unwrap();
    assert_eq!(store.remove_org_database(a).unwrap(), 0, "idempotent");

    let phones = store.org_phones(a, 1).unwrap();
    assert_eq!(
        phones,
        vec![OrgPhone {
            phone: phone(PHONES[1]),
            elsewhere: true
        }],
        "in phone order, one page"
    );
    let all = store.org_phones(a, 10).unwrap();
    assert_eq!(all.len(), 2);
    let forgotten = store.forget_org_phones(a, &all, &keys).unwrap();
    assert_eq!(
        (forgotten.get("phones"), forgotten.get("sign_in_codes")),
        (2, 1),
        "both links go; the codes of the phone only this org knew go: {forgotten:?}"
    );
    assert_eq!(store.org_phones(a, 10).unwrap(), vec![]);
    assert_eq!(store.latest_otp(&phone(PHONES[0])).unwrap(), None);
    assert!(store.latest_otp(&phone(PHONES[1])).unwrap().is_some());
    assert_eq!(
        store.find_users_by_phone(&phone(PHONES[1])).unwrap().len(),
        1
    );

    store
        .add_org_deletion_event(a, &event("phones_forgotten", 1))
        .unwrap();
    let mut counts = Counts::default();
    counts.add("users", 2);
    counts.add("removed_phones", 2);
    let removed = store
        .finish_org_deletion(a, job.id, &counts, &event("completed", 2))
        .unwrap();
    assert_eq!(removed, 1, "the org's other job");
    assert_eq!(store.find_job(older_a.id).unwrap(), None);
    assert!(
        store.find_job(job.id).unwrap().is_some(),
        "the deletion's own job stays"
    );
    assert!(store.find_job(job_b.id).unwrap().is_some());
    let done = store.org_deletion(a).unwrap().unwrap();
    assert_eq!(done.finished_at, Some(t0() + Duration::minutes(2)));
    assert_eq!(
        done.counts.iter().collect::<Vec<_>>(),
        vec![("users", 2), ("removed_phones", 2), ("removed_jobs", 1)]
    );
    let steps: Vec<String> = store
        .org_deletion_events(a)
        .unwrap()
        .into_iter()
        .map(|e| e.step)
        .collect();
    assert_eq!(steps, ["requested", "phones_forgotten", "completed"]);
    assert!(store.get_org(b).unwrap().is_some());
    assert_eq!(store.count_users(b).unwrap(), 2);
}
