//! Checks of content: messages, attachments, actions and connectors with their
//! publications, responses, telemetry, group reports and data counts.

use steward_domain::content::Message;
use steward_domain::group::{Group, Membership};
use steward_domain::{AttributeChanges, GroupId, GroupName, GroupRole, MessageId, OrgId};
use steward_store::{DataKind, Store};

use crate::{PHONES, new_org, phone, t0, upsert};

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
    let count = |org: OrgId, kind| store.data_counts(org).unwrap().get(kind);
    assert_eq!(count(b.id, DataKind::Memberships), 0);
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
    assert_eq!(
        count(a.id, DataKind::Messages) + count(b.id, DataKind::Messages),
        0
    );
}
