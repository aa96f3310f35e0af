//! Checks of the consistent read an archive is made from.

use chrono::Duration;
use steward_domain::content::AuditEvent;
use steward_domain::group::Membership;
use steward_domain::{AttributeChanges, AttributeValue, AuditId, GroupRole, OrgId};
use steward_store::{ArchiveKind, Cell, OTHER_ACTOR, OrgSnapshot, RowFilter, Store};

use crate::content::{action, message, new_group, new_user, response};
use crate::{PHONES, new_org, phone, set, t0, upsert};

/// Every row of a kind as text (a null is empty, numbers are written out).
fn read(snapshot: &mut dyn OrgSnapshot, kind: ArchiveKind, filter: &RowFilter) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let n = snapshot
        .rows(kind, filter, &mut |cells| {
            rows.push(
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Null => String::new(),
                        Cell::Int(i) => i.to_string(),
                        Cell::Real(f) => f.to_string(),
                        Cell::Text(t) => (*t).to_owned(),
                    })
                    .collect(),
            );
            Ok(())
        })
        .unwrap();
    assert_eq!(n, rows.len() as u64, "rows() answers how many rows it gave");
    assert_eq!(
        snapshot.count(kind, filter).unwrap(),
        n,
        "count() agrees with rows() for {kind:?}"
    );
    rows
}

fn audit(org: OrgId, actor: &str, target: &str) -> AuditEvent {
    AuditEvent {
        id: AuditId::new(),
        org_id: org,
        actor: actor.into(),
        action: "user.update".into(),
        target: target.into(),
        outcome: "ok".into(),
        request_id: Some("req-1".into()),
        ip: Some("10.0.0.7".into()),
        at: t0(),
    }
}

pub fn a_snapshot_keeps_the_org_as_it_was_when_opened_whatever_is_written_after(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let asha = new_user(store, org.id, PHONES[0]);
    let group = new_group(store, org.id, "Field");
    store
        .insert_messages(org.id, &[message(&group, &asha, "before", t0())])
        .unwrap();
    let all = RowFilter::default();
    let mut snapshot = store.open_snapshot(org.id).unwrap();

    // Written after the snapshot was opened: a new user, a message, a changed name.
    new_user(store, org.id, PHONES[1]);
    store
        .insert_messages(org.id, &[message(&group, &asha, "after", t0())])
        .unwrap();
    store
        .update_user(
            org.id,
            &asha.phone,
            Some(&steward_domain::PersonName::parse("Asha Renamed").unwrap()),
            &AttributeChanges::new(),
            t0(),
        )
        .unwrap();

    let users = read(&mut *snapshot, ArchiveKind::Users, &all);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0][1], PHONES[0]);
    assert_eq!(users[0][2], "Asha Rao", "the name as it was");
    let messages = read(&mut *snapshot, ArchiveKind::Messages, &all);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0][3], "before");
    drop(snapshot);

    let mut later = store.open_snapshot(org.id).unwrap();
    assert_eq!(read(&mut *later, ArchiveKind::Users, &all).len(), 2);
    assert_eq!(read(&mut *later, ArchiveKind::Messages, &all).len(), 2);
}

pub fn a_snapshot_reads_every_kind_of_its_org_alone_in_the_named_columns(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    store
        .put_attribute_defs(
            org.id,
            &[steward_domain::AttributeDef {
                key: crate::key("level"),
                name: "Level".into(),
                ty: steward_domain::AttributeType::Number,
                mandatory: false,
                suggested: true,
            }],
        )
        .unwrap();
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
    let asha = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    let group = new_group(store, org.id, "Field");
    store
        .insert_messages(org.id, &[message(&group, &asha, "hello", t0())])
        .unwrap();
    let poll = action(org.id, &asha);
    store
        .insert_publishables(org.id, &[poll.clone().into()])
        .unwrap();
    store
        .insert_action_responses(org.id, &[response(&poll, &group, &asha, t0())])
        .unwrap();
    store
        .append_audit(&audit(org.id, "cli", PHONES[0]))
        .unwrap();
    // The other org has its own user, group and message.
    let bo = new_user(store, other.id, PHONES[2]);
    let other_group = new_group(store, other.id, "Elsewhere");
    store
        .insert_messages(other.id, &[message(&other_group, &bo, "not ours", t0())])
        .unwrap();

    let mut snapshot = store.open_snapshot(org.id).unwrap();
    let defs = snapshot.attribute_defs().unwrap();
    assert_eq!(defs.len(), 1);
    let all = RowFilter::default();
    for kind in ArchiveKind::ALL {
        let rows = read(&mut *snapshot, kind, &all);
        let width = kind.columns().len() + if kind == ArchiveKind::Users { 1 } else { 0 };
        for row in &rows {
            assert_eq!(row.len(), width, "{kind:?} rows have the named columns");
            let text = row.join("|");
            assert!(
                !text.contains(PHONES[2]) && !text.contains("not ours"),
                "{kind:?} shows nothing of another org: {text}"
            );
        }
    }
    let users = read(&mut *snapshot, ArchiveKind::Users, &all);
    assert_eq!(users[0][0], asha.id.to_string());
    assert_eq!(users[0][8], "3", "the attribute follows the fixed columns");
    assert_eq!(
        read(&mut *snapshot, ArchiveKind::Attributes, &all)[0][0],
        "level"
    );
    assert_eq!(read(&mut *snapshot, ArchiveKind::Messages, &all).len(), 1);
    assert_eq!(read(&mut *snapshot, ArchiveKind::Actions, &all).len(), 1);
    assert_eq!(
        read(&mut *snapshot, ArchiveKind::ActionResponses, &all).len(),
        1
    );
    assert_eq!(read(&mut *snapshot, ArchiveKind::Audit, &all).len(), 1);
    assert!(
        store.open_snapshot(OrgId::new()).is_err(),
        "an unknown org has no snapshot"
    );
}

pub fn a_per_user_read_keeps_their_rows_and_names_no_one_else(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let asha = new_user(store, org.id, PHONES[0]);
    let ravi = new_user(store, org.id, PHONES[1]);
    let field = new_group(store, org.id, "Field");
    let office = new_group(store, org.id, "Office");
    let member = |group: &steward_domain::group::Group, user: &steward_domain::User| Membership {
        org_id: org.id,
        group_id: group.id,
        user_id: user.id,
        role: GroupRole::Member,
        joined_at: t0(),
    };
    store
        .insert_memberships(
            org.id,
            &[
                member(&field, &asha),
                member(&field, &ravi),
                member(&office, &ravi),
            ],
        )
        .unwrap();
    store
        .insert_messages(
            org.id,
            &[
                message(&field, &asha, "from asha", t0()),
                message(&field, &ravi, "from ravi", t0()),
            ],
        )
        .unwrap();
    // Ravi's poll, answered by Asha.
    let poll = action(org.id, &ravi);
    store
        .insert_publishables(org.id, &[poll.clone().into()])
        .unwrap();
    store
        .insert_action_responses(
            org.id,
            &[
                response(&poll, &field, &asha, t0()),
                response(&poll, &field, &ravi, t0()),
            ],
        )
        .unwrap();
    let ravi_actor = format!("user:{}", PHONES[1]);
    store
        .append_audit(&audit(org.id, &ravi_actor, PHONES[0]))
        .unwrap();
    store
        .append_audit(&audit(org.id, &ravi_actor, PHONES[1]))
        .unwrap();
    store
        .append_audit(&audit(
            org.id,
            &format!("user:{}", PHONES[0]),
            "group.leave",
        ))
        .unwrap();

    let mut snapshot = store.open_snapshot(org.id).unwrap();
    let hers = RowFilter {
        user: Some(phone(PHONES[0])),
        ..RowFilter::default()
    };
    let mut seen = Vec::new();
    for kind in ArchiveKind::ALL {
        for row in read(&mut *snapshot, kind, &hers) {
            let text = row.join("|");
            assert!(
                !text.contains(PHONES[1]),
                "{kind:?} names no one else: {text}"
            );
            assert!(
                !text.contains(&ravi.id.to_string()),
                "{kind:?} holds no one else's id: {text}"
            );
            seen.push((kind, row));
        }
    }
    let rows_of = |kind| {
        seen.iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, r)| r)
            .collect::<Vec<_>>()
    };
    assert_eq!(rows_of(ArchiveKind::Users).len(), 1);
    assert_eq!(rows_of(ArchiveKind::Groups).len(), 1, "only her group");
    assert_eq!(rows_of(ArchiveKind::Groups)[0][2], "Field");
    assert_eq!(rows_of(ArchiveKind::Memberships).len(), 1);
    assert_eq!(rows_of(ArchiveKind::Messages).len(), 1);
    assert_eq!(rows_of(ArchiveKind::Messages)[0][3], "from asha");
    assert_eq!(rows_of(ArchiveKind::ActionResponses).len(), 1);
    let actions = rows_of(ArchiveKind::Actions);
    assert_eq!(actions.len(), 1, "the poll she answered");
    assert_eq!(actions[0][4], "", "without who made it");
    let audit_rows = rows_of(ArchiveKind::Audit);
    assert_eq!(audit_rows.len(), 2, "what she did and what was done to her");
    assert!(
        audit_rows
            .iter()
            .any(|r| r[1] == OTHER_ACTOR && r[5].is_empty() && r[6].is_empty())
    );
    assert!(rows_of(ArchiveKind::Jobs).is_empty());

    // A phone that is no user of the org selects no person's rows.
    let nobody = RowFilter {
        user: Some(phone(PHONES[3])),
        ..RowFilter::default()
    };
    for kind in [
        ArchiveKind::Users,
        ArchiveKind::Messages,
        ArchiveKind::Memberships,
    ] {
        assert!(read(&mut *snapshot, kind, &nobody).is_empty());
    }
}

pub fn a_date_range_selects_dated_rows_and_reads_state_whole(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let asha = new_user(store, org.id, PHONES[0]);
    let group = new_group(store, org.id, "Field");
    let day = |n: i64| t0() + Duration::days(n);
    store
        .insert_messages(
            org.id,
            &[
                message(&group, &asha, "day 0", day(0)),
                message(&group, &asha, "day 1", day(1)),
                message(&group, &asha, "day 2", day(2)),
            ],
        )
        .unwrap();
    let mut snapshot = store.open_snapshot(org.id).unwrap();
    let range = RowFilter {
        since: Some(day(1)),
        until: Some(day(2)),
        user: None,
    };
    let messages = read(&mut *snapshot, ArchiveKind::Messages, &range);
    assert_eq!(messages.len(), 1, "since is inclusive, until exclusive");
    assert_eq!(messages[0][3], "day 1");
    assert_eq!(read(&mut *snapshot, ArchiveKind::Users, &range).len(), 1);
    assert_eq!(read(&mut *snapshot, ArchiveKind::Groups, &range).len(), 1);
}
