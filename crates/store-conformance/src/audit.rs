//! Checks of the audit log.

use chrono::{DateTime, Duration, Utc};
use steward_domain::content::AuditEvent;
use steward_domain::{AuditId, OrgId};
use steward_store::{AuditQuery, DataKind, Store};

use crate::{new_org, t0};
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
    let count = |org: OrgId| store.data_counts(org).unwrap().get(DataKind::Audit);
    assert_eq!((count(a.id), count(b.id)), (1, 0));
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
