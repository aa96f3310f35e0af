//! The conformance suite every Steward store backend must pass.
//!
//! Each check is a plain function over `&dyn Store`, written against the interface
//! only. A backend runs them all with [`conformance_tests!`], giving a factory that
//! returns a fresh, empty store:
//!
//! ```ignore
//! steward_store_conformance::conformance_tests!(|| fresh_sqlite_store());
//! ```

// This crate is test code: a failed unwrap is a failed check.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_domain::content::{AuditEvent, Message};
use steward_domain::group::{Group, Membership};
use steward_domain::{
    Account, AccountId, ApiToken, AttributeChanges, AttributeDef, AttributeKey, AttributeType,
    AttributeValue, Attributes, AuditId, Email, GroupId, GroupName, GroupRole, MessageId, Org,
    OrgId, OrgName, OtpCode, PersonName, PhoneNumber, Plan, Region, Role, Session, SessionOwner,
    SmsMessage, TokenId, UpsertOutcome, UserSource, UserStatus, UserUpsert,
};
use steward_store::{AuditQuery, Store, StoreError, TokenHash, UserQuery, UserSort};

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
            a_job_step_commits_its_writes_and_checkpoint_together,
            a_failed_step_keeps_nothing,
            classifying_rows_answers_like_an_upsert_and_writes_nothing,
            a_job_lists_the_outputs_it_recorded_in_its_own_org,
            counts_of_any_names_read_back_in_order,
            an_idempotency_key_gives_back_the_job_that_holds_it,
            canceling_a_queued_job_ends_it_and_a_running_job_is_asked_to_stop,
            jobs_of_another_org_are_invisible,
            content_cannot_point_across_orgs,
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
        );
    };
    (@each $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let store = ($factory)();
                $crate::$check(&store);
            }
        )*
    };
}

mod jobs;

pub use jobs::*;

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

const PHONES: [&str; 4] = [
    "+919876543210",
    "+919876543211",
    "+14155550123",
    "+447400123456",
];

pub fn orgs_read_back_as_written(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    assert_eq!(store.get_org(org.id).unwrap(), Some(org.clone()));
    assert_eq!(store.find_orgs_by_name("Contoso").unwrap(), vec![org]);
    assert_eq!(store.get_org(OrgId::new()).unwrap(), None);
    store.ping().unwrap();
}

pub fn tokens_are_found_by_their_hash_alone(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let token = ApiToken {
        id: TokenId::new(),
        org_id: org.id,
        role: Role::OrgAdmin,
        label: "ci".into(),
        created_at: t0(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    let hash = TokenHash([7; 32]);
    store.create_api_token(&token, &hash).unwrap();
    assert_eq!(store.find_api_token(&hash).unwrap(), Some(token.clone()));
    assert_eq!(store.find_api_token(&TokenHash([8; 32])).unwrap(), None);
    store
        .touch_api_token(token.id, t0() + Duration::hours(1))
        .unwrap();
    let used = store.find_api_token(&hash).unwrap().unwrap();
    assert_eq!(used.last_used_at, Some(t0() + Duration::hours(1)));
    let again = ApiToken {
        id: TokenId::new(),
        ..token
    };
    assert!(matches!(
        store.create_api_token(&again, &hash),
        Err(StoreError::Conflict(_))
    ));
}

pub fn attribute_schema_is_replaced_whole_and_keeps_its_order(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let def = |key: &str, ty| AttributeDef {
        key: AttributeKey::parse(key).unwrap(),
        name: key.replace('_', " "),
        ty,
        mandatory: false,
        suggested: false,
    };
    let first = vec![
        def("employee_id", AttributeType::String),
        def("age", AttributeType::Number),
    ];
    store.put_attribute_defs(org.id, &first).unwrap();
    assert_eq!(store.attribute_defs(org.id).unwrap(), first);
    let second = vec![
        def("hired", AttributeType::DateTime),
        def("employee_id", AttributeType::String),
    ];
    store.put_attribute_defs(org.id, &second).unwrap();
    assert_eq!(store.attribute_defs(org.id).unwrap(), second);
    let other = new_org(store, "Fabrikam");
    assert_eq!(store.attribute_defs(other.id).unwrap(), vec![]);
}

pub fn upsert_creates_then_leaves_equal_rows_unchanged_then_updates(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    store
        .put_attribute_defs(
            org.id,
            &[AttributeDef {
                key: AttributeKey::parse("hired").unwrap(),
                name: "Hired".into(),
                ty: AttributeType::DateTime,
                mandatory: false,
                suggested: true,
            }],
        )
        .unwrap();
    let hired = AttributeValue::DateTime(t0());
    let rows = vec![
        upsert(PHONES[0], "Asha Rao", set(&[("hired", hired.clone())])),
        upsert(PHONES[1], "Ravi Kumar", AttributeChanges::new()),
    ];
    let created = store.upsert_users(org.id, &rows, t0()).unwrap();
    assert_eq!(
        created,
        vec![UpsertOutcome::Created, UpsertOutcome::Created]
    );
    let again = store
        .upsert_users(org.id, &rows, t0() + Duration::days(1))
        .unwrap();
    assert_eq!(
        again,
        vec![UpsertOutcome::Unchanged, UpsertOutcome::Unchanged]
    );
    let user = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    assert_eq!(user.updated_at, t0(), "an unchanged row is not rewritten");
    assert_eq!(user.attributes, attrs(&[("hired", hired)]));
    assert_eq!(user.status, UserStatus::Active);

    // A row without the attribute keeps it; a row that clears it removes it.
    let renamed = vec![upsert(PHONES[0], "Asha R. Rao", AttributeChanges::new())];
    let later = t0() + Duration::days(2);
    assert_eq!(
        store.upsert_users(org.id, &renamed, later).unwrap(),
        vec![UpsertOutcome::Updated]
    );
    let user = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    assert_eq!(
        (user.name.as_str(), user.updated_at, user.created_at),
        ("Asha R. Rao", later, t0())
    );
    assert_eq!(user.attributes.len(), 1);
    let cleared = vec![upsert(
        PHONES[0],
        "Asha R. Rao",
        [(key("hired"), None)].into(),
    )];
    let outcome = store.upsert_users(org.id, &cleared, later).unwrap();
    assert_eq!(outcome, vec![UpsertOutcome::Updated]);
    let user = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    assert!(user.attributes.is_empty());
    assert_eq!(store.count_users(org.id).unwrap(), 2);
}

pub fn users_of_one_org_are_invisible_to_another(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    store
        .upsert_users(
            a.id,
            &[upsert(PHONES[0], "Asha Rao", AttributeChanges::new())],
            t0(),
        )
        .unwrap();
    assert_eq!(store.get_user(b.id, &phone(PHONES[0])).unwrap(), None);
    let page = store
        .list_users(
            b.id,
            &UserQuery {
                limit: 50,
                ..UserQuery::default()
            },
        )
        .unwrap();
    assert_eq!((page.items.len(), page.total), (0, 0));
    // The same person may belong to both orgs, as separate records.
    let outcome = store.upsert_users(
        b.id,
        &[upsert(PHONES[0], "Asha", AttributeChanges::new())],
        t0(),
    );
    assert_eq!(outcome.unwrap(), vec![UpsertOutcome::Created]);
    assert_eq!(
        store
            .get_user(a.id, &phone(PHONES[0]))
            .unwrap()
            .unwrap()
            .name
            .as_str(),
        "Asha Rao"
    );
    assert_eq!(
        store
            .data_counts(b.id)
            .unwrap()
            .iter()
            .find(|(t, _)| t == "users")
            .unwrap()
            .1,
        1
    );
}

pub fn user_lists_page_by_phone_with_a_cursor_and_search(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let names = ["Asha Rao", "Ravi Kumar", "Ada Lovelace", "Alan Turing"];
    let rows: Vec<_> = PHONES
        .iter()
        .zip(names)
        .map(|(p, n)| upsert(p, n, AttributeChanges::new()))
        .collect();
    store.upsert_users(org.id, &rows, t0()).unwrap();

    let mut seen = Vec::new();
    let mut query = UserQuery {
        limit: 3,
        ..UserQuery::default()
    };
    loop {
        let page = store.list_users(org.id, &query).unwrap();
        assert_eq!(page.total, 4);
        seen.extend(page.items.iter().map(|u| u.phone.as_str().to_owned()));
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    let mut expected: Vec<_> = PHONES.iter().map(|p| p.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected);

    let search = |s: &str| {
        let q = UserQuery {
            limit: 50,
            search: Some(s.into()),
            ..UserQuery::default()
        };
        let page = store.list_users(org.id, &q).unwrap();
        page.items
            .into_iter()
            .map(|u| u.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        search("a"),
        vec!["Ada Lovelace", "Alan Turing", "Asha Rao"],
        "by phone"
    );
    assert_eq!(search("+91 98765"), vec!["Asha Rao", "Ravi Kumar"]);
    assert_eq!(search("44"), vec!["Alan Turing"]);
    assert_eq!(
        search("%"),
        Vec::<String>::new(),
        "LIKE wildcards are matched literally"
    );
}

pub fn content_cannot_point_across_orgs(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    store
        .upsert_users(
            a.id,
            &[upsert(PHONES[0], "Asha Rao", AttributeChanges::new())],
            t0(),
        )
        .unwrap();
    let user_a = store.get_user(a.id, &phone(PHONES[0])).unwrap().unwrap();
    let group_b = Group {
        id: GroupId::new(),
        org_id: b.id,
        parent_id: None,
        name: GroupName::parse("Sales").unwrap(),
        org_mapped: true,
        created_at: t0(),
    };
    store
        .insert_groups(b.id, std::slice::from_ref(&group_b))
        .unwrap();
    assert_eq!(store.list_groups(b.id).unwrap(), vec![group_b.clone()]);
    assert_eq!(store.list_groups(a.id).unwrap(), vec![]);
    // A membership in org B naming org A's user is not stored.
    let membership = Membership {
        org_id: b.id,
        group_id: group_b.id,
        user_id: user_a.id,
        role: GroupRole::Member,
        joined_at: t0(),
    };
    store.insert_memberships(b.id, &[membership]).unwrap();
    let count = |org: OrgId, table: &str| {
        store
            .data_counts(org)
            .unwrap()
            .into_iter()
            .find(|(t, _)| t == table)
            .unwrap()
            .1
    };
    assert_eq!(count(b.id, "memberships"), 0);
    // Rows claiming another org than the one named are skipped.
    let message = Message {
        id: MessageId::new(),
        org_id: a.id,
        group_id: group_b.id,
        sender_id: user_a.id,
        body: "hi".into(),
        created_at: t0(),
    };
    store.insert_messages(b.id, &[message]).unwrap();
    assert_eq!(count(a.id, "messages") + count(b.id, "messages"), 0);
}

pub fn audit_events_are_appended_per_org(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let event = AuditEvent {
        id: AuditId::new(),
        org_id: a.id,
        actor: "cli".into(),
        action: "org.create".into(),
        target: a.id.to_string(),
        outcome: "ok".into(),
        request_id: None,
        ip: None,
        at: t0(),
    };
    store.append_audit(&event).unwrap();
    assert!(
        store.append_audit(&event).is_err(),
        "an audit id is written once"
    );
    let count = |org: OrgId| {
        store
            .data_counts(org)
            .unwrap()
            .into_iter()
            .find(|(t, _)| t == "audit_events")
            .unwrap()
            .1
    };
    assert_eq!((count(a.id), count(b.id)), (1, 0));
}

fn audit(org: OrgId, actor: &str, action: &str, at: DateTime<Utc>) -> AuditEvent {
    AuditEvent {
        id: AuditId::new(),
        org_id: org,
        actor: actor.into(),
        action: action.into(),
        target: "t".into(),
        outcome: "ok".into(),
        request_id: Some("r".into()),
        ip: Some("127.0.0.1".into()),
        at,
    }
}

pub fn audit_events_list_newest_first_with_filters_and_a_cursor(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    for i in 0..5 {
        let actor = if i % 2 == 0 { "cli" } else { "token:x" };
        store
            .append_audit(&audit(
                org.id,
                actor,
                "user.create",
                t0() + Duration::minutes(i),
            ))
            .unwrap();
    }
    store
        .append_audit(&audit(other.id, "cli", "user.create", t0()))
        .unwrap();
    let all = store
        .list_audit(
            org.id,
            &AuditQuery {
                limit: 2,
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert_eq!((all.total, all.items.len()), (5, 2));
    assert_eq!(all.items[0].at, t0() + Duration::minutes(4), "newest first");
    let rest = AuditQuery {
        limit: 10,
        after: all.next_cursor,
        ..AuditQuery::default()
    };
    assert_eq!(store.list_audit(org.id, &rest).unwrap().items.len(), 3);
    let by_cli = AuditQuery {
        limit: 10,
        actor: Some("cli".into()),
        ..AuditQuery::default()
    };
    assert_eq!(store.list_audit(org.id, &by_cli).unwrap().total, 3);
    let window = AuditQuery {
        limit: 10,
        from: Some(t0() + Duration::minutes(1)),
        to: Some(t0() + Duration::minutes(3)),
        ..AuditQuery::default()
    };
    assert_eq!(store.list_audit(org.id, &window).unwrap().total, 2);
    let none = AuditQuery {
        limit: 10,
        action: Some("org.delete".into()),
        ..AuditQuery::default()
    };
    assert_eq!(store.list_audit(org.id, &none).unwrap().total, 0);
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

pub fn accounts_are_found_by_email_in_any_case_and_unique(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let account = new_account(store, org.id, "ada@contoso.example");
    let (found, hash) = store
        .find_account_by_email("ADA@Contoso.example ")
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.clone(), hash.as_str()),
        (account.clone(), "$argon2id$hash")
    );
    assert_eq!(store.get_account(account.id).unwrap(), Some(account));
    assert_eq!(
        store.find_account_by_email("bob@contoso.example").unwrap(),
        None
    );
    let other = new_org(store, "Fabrikam");
    let twin = Account {
        id: AccountId::new(),
        org_id: other.id,
        ..found
    };
    assert!(matches!(
        store.create_account(&twin, "h"),
        Err(StoreError::Conflict(_))
    ));
}

pub fn disabling_an_account_ends_its_sessions_but_only_in_its_own_org(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let account = new_account(store, org.id, "ada@contoso.example");
    let session = new_session(store, SessionOwner::Account(account.id), 1);
    assert!(!store.disable_account(other.id, account.id, t0()).unwrap());
    assert!(
        store.find_session(&session).unwrap().is_some(),
        "another org cannot touch it"
    );
    assert!(store.disable_account(org.id, account.id, t0()).unwrap());
    assert_eq!(store.find_session(&session).unwrap(), None);
    assert_eq!(
        store.get_account(account.id).unwrap().unwrap().disabled_at,
        Some(t0())
    );
}

pub fn sessions_are_found_touched_and_deleted_by_hash(store: &dyn Store) {
    let member = SessionOwner::Member(phone(PHONES[0]));
    let hash = new_session(store, member.clone(), 2);
    let found = store.find_session(&hash).unwrap().unwrap();
    assert_eq!((found.owner, found.csrf_token.as_str()), (member, "csrf-2"));
    store
        .touch_session(&hash, t0() + Duration::minutes(5))
        .unwrap();
    assert_eq!(
        store.find_session(&hash).unwrap().unwrap().last_seen_at,
        t0() + Duration::minutes(5)
    );
    assert_eq!(store.find_session(&TokenHash([3; 32])).unwrap(), None);
    store.delete_session(&hash).unwrap();
    assert_eq!(store.find_session(&hash).unwrap(), None);
}

pub fn a_one_time_code_is_used_once_within_its_attempts_and_lifetime(store: &dyn Store) {
    let code = |at: DateTime<Utc>| OtpCode {
        id: uuid::Uuid::now_v7(),
        phone: phone(PHONES[0]),
        code_hash: vec![9; 32],
        salt: [4; 16],
        created_at: at,
        expires_at: at + Duration::minutes(10),
        attempts: 0,
        used_at: None,
    };
    let first = code(t0());
    store.create_otp(&first).unwrap();
    let second = code(t0() + Duration::minutes(1));
    store.create_otp(&second).unwrap();
    assert_eq!(
        store.latest_otp(&phone(PHONES[0])).unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.latest_otp(&phone(PHONES[1])).unwrap(), None);
    let during = t0() + Duration::minutes(2);
    assert!(store.use_otp(second.id, 5, during).unwrap());
    assert!(
        !store.use_otp(second.id, 5, during).unwrap(),
        "a code is used once"
    );
    assert_eq!(
        store
            .latest_otp(&phone(PHONES[0]))
            .unwrap()
            .unwrap()
            .used_at,
        Some(during)
    );

    let third = code(t0() + Duration::minutes(3));
    store.create_otp(&third).unwrap();
    for _ in 0..5 {
        store.fail_otp(third.id).unwrap();
    }
    assert_eq!(
        store
            .latest_otp(&phone(PHONES[0]))
            .unwrap()
            .unwrap()
            .attempts,
        5
    );
    assert!(
        !store.use_otp(third.id, 5, during).unwrap(),
        "five wrong guesses burn the code"
    );
    let fourth = code(t0());
    store.create_otp(&fourth).unwrap();
    assert!(
        !store
            .use_otp(fourth.id, 5, t0() + Duration::minutes(10))
            .unwrap(),
        "expired"
    );
}

pub fn tokens_are_listed_and_revoked_per_org(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let token = ApiToken {
        id: TokenId::new(),
        org_id: org.id,
        role: Role::OrgAdmin,
        label: "ci".into(),
        created_at: t0(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    store.create_api_token(&token, &TokenHash([5; 32])).unwrap();
    assert_eq!(store.list_api_tokens(org.id).unwrap(), vec![token.clone()]);
    assert_eq!(store.list_api_tokens(other.id).unwrap(), vec![]);
    assert!(!store.revoke_api_token(other.id, token.id, t0()).unwrap());
    assert!(store.revoke_api_token(org.id, token.id, t0()).unwrap());
    let revoked = store.find_api_token(&TokenHash([5; 32])).unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(t0()));
    assert!(!revoked.is_usable_at(t0()));
}

pub fn a_phone_is_found_in_every_org_and_its_group_roles_per_org(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let c = new_org(store, "Northwind");
    for org in [&a, &b] {
        store
            .upsert_users(
                org.id,
                &[upsert(PHONES[0], "Asha Rao", AttributeChanges::new())],
                t0(),
            )
            .unwrap();
    }
    store
        .upsert_users(
            c.id,
            &[upsert(PHONES[1], "Ravi", AttributeChanges::new())],
            t0(),
        )
        .unwrap();
    let mut orgs: Vec<OrgId> = store
        .find_users_by_phone(&phone(PHONES[0]))
        .unwrap()
        .iter()
        .map(|u| u.org_id)
        .collect();
    orgs.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(orgs, expected);

    let user = store.get_user(a.id, &phone(PHONES[0])).unwrap().unwrap();
    let group = |name: &str| Group {
        id: GroupId::new(),
        org_id: a.id,
        parent_id: None,
        name: GroupName::parse(name).unwrap(),
        org_mapped: true,
        created_at: t0(),
    };
    let (g1, g2) = (group("Sales"), group("Support"));
    let only = |groups: Vec<GroupId>| UserQuery {
        limit: 50,
        in_groups: Some(groups),
        ..UserQuery::default()
    };
    store
        .insert_groups(a.id, &[g1.clone(), g2.clone()])
        .unwrap();
    let member = |g: &Group, role| Membership {
        org_id: a.id,
        group_id: g.id,
        user_id: user.id,
        role,
        joined_at: t0(),
    };
    store
        .insert_memberships(
            a.id,
            &[
                member(&g1, GroupRole::Admin),
                member(&g2, GroupRole::Member),
            ],
        )
        .unwrap();
    let mut roles = store.group_roles(a.id, user.id).unwrap();
    roles.sort();
    let mut expected = vec![(g1.id, GroupRole::Admin), (g2.id, GroupRole::Member)];
    expected.sort();
    assert_eq!(roles, expected);
    assert_eq!(store.group_roles(b.id, user.id).unwrap(), vec![]);
    assert_eq!(store.list_users(a.id, &only(vec![g1.id])).unwrap().total, 1);
    assert_eq!(
        store
            .list_users(a.id, &only(vec![GroupId::new()]))
            .unwrap()
            .total,
        0
    );
    assert_eq!(store.list_users(a.id, &only(vec![])).unwrap().total, 0);
}

pub fn the_sms_outbox_lists_newest_first(store: &dyn Store) {
    for (i, p) in PHONES.iter().take(3).enumerate() {
        let message = SmsMessage {
            phone: phone(p),
            body: format!("code {i}"),
            created_at: t0() + Duration::seconds(i as i64),
        };
        store.push_sms(&message).unwrap();
    }
    let outbox = store.sms_outbox(2).unwrap();
    assert_eq!(
        outbox.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        vec!["code 2", "code 1"]
    );
}

pub fn a_user_is_created_once_and_updated_in_place(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let created = store
        .create_user(
            org.id,
            &upsert(
                PHONES[0],
                "Asha Rao",
                set(&[("level", AttributeValue::Number(3.0))]),
            ),
            t0(),
        )
        .unwrap();
    assert_eq!(
        (created.name.as_str(), created.created_at),
        ("Asha Rao", t0())
    );
    let again = store.create_user(
        org.id,
        &upsert(PHONES[0], "Other", AttributeChanges::new()),
        t0(),
    );
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    let later = t0() + Duration::hours(1);
    let renamed = PersonName::parse("Asha R.").unwrap();
    let changes: AttributeChanges =
        [(key("team"), Some(AttributeValue::String("Blue".into())))].into();
    let updated = store
        .update_user(org.id, &phone(PHONES[0]), Some(&renamed), &changes, later)
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            updated.name.as_str(),
            updated.updated_at,
            updated.attributes.len()
        ),
        ("Asha R.", later, 2)
    );
    let unchanged = store
        .update_user(
            org.id,
            &phone(PHONES[0]),
            None,
            &AttributeChanges::new(),
            later + Duration::hours(1),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        unchanged.updated_at, later,
        "a no-op update changes nothing"
    );
    let other = new_org(store, "Fabrikam");
    assert_eq!(
        store
            .update_user(other.id, &phone(PHONES[0]), Some(&renamed), &changes, later)
            .unwrap(),
        None
    );
}

pub fn an_attribute_schema_save_removes_and_rewrites_values(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let rows = [
        upsert(
            PHONES[0],
            "Asha",
            set(&[
                ("level", AttributeValue::Number(3.0)),
                ("team", AttributeValue::String("Blue".into())),
            ]),
        ),
        upsert(
            PHONES[1],
            "Ravi",
            set(&[("level", AttributeValue::Number(4.5))]),
        ),
        upsert(PHONES[2], "Ada", AttributeChanges::new()),
    ];
    store.upsert_users(org.id, &rows, t0()).unwrap();
    let mut levels = store.attribute_values(org.id, &key("level")).unwrap();
    levels.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        levels,
        vec![
            (phone(PHONES[0]), serde_json::json!(3)),
            (phone(PHONES[1]), serde_json::json!(4.5))
        ]
    );
    let (missing, examples) = store
        .users_missing_attribute(org.id, &key("level"), 5)
        .unwrap();
    assert_eq!((missing, examples), (1, vec![phone(PHONES[2])]));

    let rewrites = vec![(
        key("level"),
        vec![
            (phone(PHONES[0]), Some(AttributeValue::String("3".into()))),
            (phone(PHONES[1]), None),
        ],
    )];
    store
        .save_attribute_schema(org.id, &[], &[key("team")], &rewrites)
        .unwrap();
    let asha = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    assert_eq!(
        asha.attributes,
        attrs(&[("level", AttributeValue::String("3".into()))])
    );
    assert!(
        store
            .get_user(org.id, &phone(PHONES[1]))
            .unwrap()
            .unwrap()
            .attributes
            .is_empty()
    );
    assert!(
        store
            .attribute_values(org.id, &key("team"))
            .unwrap()
            .is_empty()
    );
}

pub fn groups_are_updated_and_their_members_managed_within_one_org(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let group = |org: OrgId, name: &str| Group {
        id: GroupId::new(),
        org_id: org,
        parent_id: None,
        name: GroupName::parse(name).unwrap(),
        org_mapped: true,
        created_at: t0(),
    };
    let (root, team, theirs) = (
        group(org.id, "All"),
        group(org.id, "Team"),
        group(other.id, "Theirs"),
    );
    store
        .insert_groups(org.id, &[root.clone(), team.clone()])
        .unwrap();
    store
        .insert_groups(other.id, std::slice::from_ref(&theirs))
        .unwrap();
    assert_eq!(
        store.get_group(org.id, team.id).unwrap(),
        Some(team.clone())
    );
    assert_eq!(store.get_group(other.id, team.id).unwrap(), None);

    let moved = Group {
        parent_id: Some(root.id),
        org_mapped: false,
        ..team.clone()
    };
    store.update_group(&moved).unwrap();
    assert_eq!(
        store.get_group(org.id, team.id).unwrap(),
        Some(moved.clone())
    );
    let across = Group {
        parent_id: Some(theirs.id),
        ..moved.clone()
    };
    assert!(
        matches!(store.update_group(&across), Err(StoreError::NotFound)),
        "no parent in another org"
    );

    store
        .upsert_users(
            org.id,
            &[
                upsert(PHONES[1], "Ravi", AttributeChanges::new()),
                upsert(PHONES[0], "Asha", AttributeChanges::new()),
            ],
            t0(),
        )
        .unwrap();
    let asha = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    let ravi = store.get_user(org.id, &phone(PHONES[1])).unwrap().unwrap();
    let member = |user: &steward_domain::User, role| Membership {
        org_id: org.id,
        group_id: team.id,
        user_id: user.id,
        role,
        joined_at: t0(),
    };
    store
        .put_membership(&member(&asha, GroupRole::Member))
        .unwrap();
    store
        .put_membership(&member(&ravi, GroupRole::Member))
        .unwrap();
    store
        .put_membership(&member(&asha, GroupRole::Admin))
        .unwrap();
    let members: Vec<(String, GroupRole)> = store
        .group_members(org.id, team.id)
        .unwrap()
        .into_iter()
        .map(|(u, r)| (u.name.as_str().to_owned(), r))
        .collect();
    assert_eq!(
        members,
        vec![
            ("Asha".to_owned(), GroupRole::Admin),
            ("Ravi".to_owned(), GroupRole::Member)
        ]
    );
    assert!(store.group_members(other.id, team.id).unwrap().is_empty());
    let foreign = Membership {
        group_id: theirs.id,
        ..member(&asha, GroupRole::Member)
    };
    assert!(matches!(
        store.put_membership(&foreign),
        Err(StoreError::NotFound)
    ));
    assert!(!store.remove_membership(other.id, team.id, ravi.id).unwrap());
    assert!(store.remove_membership(org.id, team.id, ravi.id).unwrap());
    assert_eq!(store.group_members(org.id, team.id).unwrap().len(), 1);
}

pub fn user_lists_filter_by_attribute_values_and_sort_by_name_with_a_cursor(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let def = |k: &str, ty| AttributeDef {
        key: key(k),
        name: k.into(),
        ty,
        mandatory: false,
        suggested: false,
    };
    store
        .put_attribute_defs(
            org.id,
            &[
                def("dept", AttributeType::String),
                def("level", AttributeType::Number),
                def("remote", AttributeType::YesNo),
            ],
        )
        .unwrap();
    let people = [
        (PHONES[0], "Zoe", "Sales", 3.0, true),
        (PHONES[1], "Adam", "Sales", 4.0, false),
        (PHONES[2], "Mia", "Support", 3.0, true),
        (PHONES[3], "Bea", "Sales", 3.0, true),
    ];
    let rows: Vec<_> = people
        .iter()
        .map(|(p, n, d, l, r)| {
            upsert(
                p,
                n,
                set(&[
                    ("dept", AttributeValue::String((*d).into())),
                    ("level", AttributeValue::Number(*l)),
                    ("remote", AttributeValue::YesNo(*r)),
                ]),
            )
        })
        .collect();
    store.upsert_users(org.id, &rows, t0()).unwrap();
    let names = |filters: Vec<(&str, AttributeValue)>, sort| {
        let q = UserQuery {
            limit: 50,
            sort,
            attribute_filters: filters.into_iter().map(|(k, v)| (key(k), v)).collect(),
            ..UserQuery::default()
        };
        let page = store.list_users(org.id, &q).unwrap();
        (
            page.total,
            page.items
                .into_iter()
                .map(|u| u.name.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    let sales = AttributeValue::String("Sales".into());
    assert_eq!(
        names(vec![("dept", sales.clone())], UserSort::Name),
        (3, vec!["Adam".into(), "Bea".into(), "Zoe".into()])
    );
    assert_eq!(
        names(
            vec![
                ("dept", sales.clone()),
                ("level", AttributeValue::Number(3.0))
            ],
            UserSort::NameDesc
        ),
        (2, vec!["Zoe".into(), "Bea".into()])
    );
    assert_eq!(
        names(
            vec![("remote", AttributeValue::YesNo(false))],
            UserSort::Phone
        )
        .1,
        vec!["Adam".to_owned()]
    );
    // A name-ordered walk with a cursor sees everyone once.
    let mut seen = Vec::new();
    let mut query = UserQuery {
        limit: 1,
        sort: UserSort::Name,
        ..UserQuery::default()
    };
    loop {
        let page = store.list_users(org.id, &query).unwrap();
        seen.extend(page.items.iter().map(|u| u.name.as_str().to_owned()));
        let Some(cursor) = page.next_cursor else {
            break;
        };
        query.after = Some(cursor);
    }
    assert_eq!(seen, vec!["Adam", "Bea", "Mia", "Zoe"]);
}
