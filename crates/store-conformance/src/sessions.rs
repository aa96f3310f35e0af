//! Checks of signing in: sessions, one-time codes and the SMS outbox.

use chrono::{DateTime, Duration, Utc};
use steward_domain::{OtpCode, SessionOwner, SmsMessage};
use steward_store::{Store, TokenHash};

use crate::{PHONES, new_session, phone, t0};

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
