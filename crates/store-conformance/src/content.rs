//! Checks of content: messages, attachments, actions and connectors with their
//! publications, responses, telemetry, group reports and data counts.

use chrono::Duration;
use steward_domain::content::{
    Action, ActionKind, ActionResponse, Attachment, Connector, Message, Publication, Question,
    TelemetryEvent,
};
use steward_domain::group::{Group, Membership};
use steward_domain::{
    ActionId, AttachmentId, AttributeChanges, ConnectorId, GroupId, GroupName, GroupRole,
    MessageId, OrgId, ResponseId, TelemetryId, User,
};
use steward_store::{DataKind, GroupReport, Publishable, PublishableId, PublishableKind, Store};

use crate::{PHONES, new_org, phone, t0, upsert};

pub(crate) fn new_user(store: &dyn Store, org: OrgId, raw_phone: &str) -> User {
    store
        .create_user(
            org,
            &upsert(raw_phone, "Asha Rao", AttributeChanges::new()),
            t0(),
        )
        .unwrap()
}

pub(crate) fn new_group(store: &dyn Store, org: OrgId, name: &str) -> Group {
    let group = Group {
        id: GroupId::new(),
        org_id: org,
        parent_id: None,
        name: GroupName::parse(name).unwrap(),
        org_mapped: false,
        created_at: t0(),
    };
    store
        .insert_groups(org, std::slice::from_ref(&group))
        .unwrap();
    group
}

pub(crate) fn message(
    group: &Group,
    sender: &User,
    body: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Message {
    Message {
        id: MessageId::new(),
        org_id: group.org_id,
        group_id: group.id,
        sender_id: sender.id,
        body: body.into(),
        created_at: at,
    }
}

pub(crate) fn action(org: OrgId, by: &User) -> Action {
    Action {
        id: ActionId::new(),
        org_id: org,
        kind: ActionKind::Poll,
        title: "Lunch?".into(),
        questions: vec![Question {
            text: "Where?".into(),
            options: vec!["Canteen".into(), "Out".into()],
        }],
        created_by: by.id,
        created_at: t0(),
    }
}

fn connector(org: OrgId, by: &User) -> Connector {
    Connector {
        id: ConnectorId::new(),
        org_id: org,
        name: "Weather warnings".into(),
        config: serde_json::json!({"regions": ["IN-KA"]}),
        created_by: by.id,
        created_at: t0(),
    }
}

fn publication(org: OrgId, item: PublishableId, group: &Group) -> Publication<PublishableId> {
    Publication {
        org_id: org,
        item_id: item,
        group_id: group.id,
        published_by: "cli".into(),
        published_at: t0(),
    }
}

pub(crate) fn response(
    action: &Action,
    group: &Group,
    user: &User,
    at: chrono::DateTime<chrono::Utc>,
) -> ActionResponse {
    ActionResponse {
        id: ResponseId::new(),
        org_id: action.org_id,
        action_id: action.id,
        group_id: group.id,
        user_id: user.id,
        answers: vec!["Canteen".into()],
        created_at: at,
    }
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

pub fn messages_list_newest_first_with_a_cursor_and_are_read_within_their_org(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let user = new_user(store, a.id, PHONES[0]);
    let group = new_group(store, a.id, "Sales");
    let other = new_group(store, a.id, "Support");
    let sent: Vec<Message> = (0..3)
        .map(|i| {
            message(
                &group,
                &user,
                &format!("hello {i}"),
                t0() + Duration::minutes(i),
            )
        })
        .collect();
    store.insert_messages(a.id, &sent).unwrap();
    store
        .insert_messages(a.id, &[message(&other, &user, "elsewhere", t0())])
        .unwrap();

    let first = store.list_messages(a.id, group.id, None, 2).unwrap();
    assert_eq!(first, vec![sent[2].clone(), sent[1].clone()]);
    let rest = store
        .list_messages(a.id, group.id, Some(first[1].id), 10)
        .unwrap();
    assert_eq!(rest, vec![sent[0].clone()]);
    assert_eq!(
        store.get_message(a.id, sent[0].id).unwrap(),
        Some(sent[0].clone())
    );
    assert_eq!(store.get_message(a.id, MessageId::new()).unwrap(), None);
    // Another org sees neither the messages nor the group's list.
    assert_eq!(store.get_message(b.id, sent[0].id).unwrap(), None);
    assert_eq!(
        store.list_messages(b.id, group.id, None, 10).unwrap(),
        vec![]
    );
}

pub fn attachments_are_stored_only_on_a_message_of_their_org(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let user = new_user(store, a.id, PHONES[0]);
    let group = new_group(store, a.id, "Sales");
    let sent = message(&group, &user, "the report", t0());
    store
        .insert_messages(a.id, std::slice::from_ref(&sent))
        .unwrap();
    let attachment = Attachment {
        id: AttachmentId::new(),
        org_id: a.id,
        message_id: sent.id,
        file_name: "report.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1234,
        blob_key: format!("orgs/{}/attachments/x", a.id),
        created_at: t0(),
    };
    store.insert_attachment(&attachment).unwrap();
    assert_eq!(
        store.get_attachment(a.id, attachment.id).unwrap(),
        Some(attachment.clone())
    );
    assert_eq!(store.get_attachment(b.id, attachment.id).unwrap(), None);
    // An attachment claiming org B on org A's message is not stored.
    let foreign = Attachment {
        id: AttachmentId::new(),
        org_id: b.id,
        ..attachment
    };
    store.insert_attachment(&foreign).unwrap();
    assert_eq!(store.get_attachment(b.id, foreign.id).unwrap(), None);
    assert_eq!(store.get_attachment(a.id, foreign.id).unwrap(), None);
    assert_eq!(
        store.data_counts(b.id).unwrap().get(DataKind::Attachments),
        0
    );
    assert_eq!(
        store.data_counts(a.id).unwrap().get(DataKind::Attachments),
        1
    );
}

pub fn actions_and_connectors_are_listed_and_read_by_kind_within_their_org(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let asha = new_user(store, a.id, PHONES[0]);
    let ravi = new_user(store, a.id, PHONES[1]);
    let older = action(a.id, &asha);
    let newer = action(a.id, &ravi);
    let conn = connector(a.id, &asha);
    // An item claiming org B, handed to org A, is skipped.
    let foreign = action(b.id, &asha);
    store
        .insert_publishables(
            a.id,
            &[
                older.clone().into(),
                conn.clone().into(),
                newer.clone().into(),
                foreign.clone().into(),
            ],
        )
        .unwrap();

    let actions = store
        .list_publishables(a.id, PublishableKind::Action, None)
        .unwrap();
    assert_eq!(
        actions,
        vec![
            Publishable::Action(newer.clone()),
            Publishable::Action(older.clone())
        ],
        "newest first, and only actions"
    );
    assert_eq!(
        store
            .list_publishables(a.id, PublishableKind::Action, Some(asha.id))
            .unwrap(),
        vec![Publishable::Action(older.clone())]
    );
    assert_eq!(
        store
            .list_publishables(a.id, PublishableKind::Connector, None)
            .unwrap(),
        vec![Publishable::Connector(conn.clone())]
    );
    assert_eq!(
        store
            .list_publishables(a.id, PublishableKind::Connector, Some(ravi.id))
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .get_publishable(a.id, older.id.into())
            .unwrap()
            .and_then(Publishable::into_action),
        Some(older.clone())
    );
    assert_eq!(
        store
            .get_publishable(a.id, conn.id.into())
            .unwrap()
            .and_then(Publishable::into_connector),
        Some(conn.clone())
    );
    assert_eq!(
        store.get_publishable(a.id, ActionId::new().into()).unwrap(),
        None
    );
    // Org B sees none of org A's items, and its own skipped one was never stored.
    for kind in [PublishableKind::Action, PublishableKind::Connector] {
        assert_eq!(store.list_publishables(b.id, kind, None).unwrap(), vec![]);
    }
    assert_eq!(store.get_publishable(b.id, older.id.into()).unwrap(), None);
    assert_eq!(store.get_publishable(b.id, conn.id.into()).unwrap(), None);
    assert_eq!(
        store.get_publishable(b.id, foreign.id.into()).unwrap(),
        None
    );
}

pub fn items_are_published_to_groups_of_their_org_and_unpublished_once(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let asha = new_user(store, a.id, PHONES[0]);
    let sales = new_group(store, a.id, "Sales");
    let support = new_group(store, a.id, "Support");
    let group_b = new_group(store, b.id, "Sales");
    let poll = action(a.id, &asha);
    let feed = connector(a.id, &asha);
    store
        .insert_publishables(a.id, &[poll.clone().into(), feed.clone().into()])
        .unwrap();
    let poll_id = PublishableId::from(poll.id);
    let feed_id = PublishableId::from(feed.id);

    store
        .publish(
            a.id,
            &[
                publication(a.id, poll_id, &sales),
                publication(a.id, poll_id, &support),
                publication(a.id, feed_id, &sales),
                // A group of another org, and a row claiming another org: skipped.
                publication(a.id, poll_id, &group_b),
                publication(b.id, feed_id, &support),
            ],
        )
        .unwrap();
    // Publishing again changes nothing.
    store
        .publish(a.id, &[publication(a.id, poll_id, &sales)])
        .unwrap();
    let mut both = vec![sales.id, support.id];
    both.sort();
    assert_eq!(store.published_groups(a.id, poll_id).unwrap(), both);
    assert_eq!(
        store.published_groups(a.id, feed_id).unwrap(),
        vec![sales.id]
    );
    assert_eq!(store.published_groups(b.id, poll_id).unwrap(), vec![]);
    // Org B cannot publish org A's item to its own group.
    store
        .publish(b.id, &[publication(b.id, poll_id, &group_b)])
        .unwrap();
    assert_eq!(
        store.data_counts(b.id).unwrap().get(DataKind::Publications),
        0
    );
    assert_eq!(
        store.data_counts(a.id).unwrap().get(DataKind::Publications),
        3
    );

    // Org B cannot unpublish; org A can, once; the other kind is untouched.
    assert!(!store.unpublish(b.id, poll_id, sales.id).unwrap());
    assert!(store.unpublish(a.id, poll_id, sales.id).unwrap());
    assert!(!store.unpublish(a.id, poll_id, sales.id).unwrap());
    assert_eq!(
        store.published_groups(a.id, poll_id).unwrap(),
        vec![support.id]
    );
    assert_eq!(
        store.published_groups(a.id, feed_id).unwrap(),
        vec![sales.id]
    );
    assert!(store.unpublish(a.id, feed_id, sales.id).unwrap());
    assert_eq!(store.published_groups(a.id, feed_id).unwrap(), vec![]);
}

pub fn a_group_report_counts_members_activity_and_content_of_that_group_alone(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let now = t0() + Duration::days(60);
    let users: Vec<User> = PHONES[..3]
        .iter()
        .map(|p| new_user(store, a.id, p))
        .collect();
    let group = new_group(store, a.id, "Sales");
    let other = new_group(store, a.id, "Support");
    let members: Vec<Membership> = users
        .iter()
        .map(|u| Membership {
            org_id: a.id,
            group_id: group.id,
            user_id: u.id,
            role: GroupRole::Member,
            joined_at: t0(),
        })
        .collect();
    store.insert_memberships(a.id, &members).unwrap();
    // Users 0 and 1 are members of the other group too, where they are busy.
    let elsewhere: Vec<Membership> = members[..2]
        .iter()
        .map(|m| Membership {
            group_id: other.id,
            ..m.clone()
        })
        .collect();
    store.insert_memberships(a.id, &elsewhere).unwrap();

    // User 0 wrote 2 days ago; user 1 answered 20 days ago; user 2 is quiet.
    store
        .insert_messages(
            a.id,
            &[message(&group, &users[0], "hi", now - Duration::days(2))],
        )
        .unwrap();
    let poll = action(a.id, &users[0]);
    store
        .insert_publishables(a.id, &[poll.clone().into()])
        .unwrap();
    store
        .publish(a.id, &[publication(a.id, poll.id.into(), &group)])
        .unwrap();
    store
        .insert_action_responses(
            a.id,
            &[
                response(&poll, &group, &users[1], now - Duration::days(20)),
                // A response claiming another org is skipped.
                ActionResponse {
                    org_id: b.id,
                    ..response(&poll, &group, &users[2], now)
                },
            ],
        )
        .unwrap();
    // Activity in the other group does not count in this one.
    store
        .insert_messages(a.id, &[message(&other, &users[1], "busy", now)])
        .unwrap();
    store
        .publish(a.id, &[publication(a.id, poll.id.into(), &other)])
        .unwrap();
    store
        .insert_action_responses(a.id, &[response(&poll, &other, &users[0], now)])
        .unwrap();

    let since_7d = now - Duration::days(7);
    let since_30d = now - Duration::days(30);
    assert_eq!(
        store
            .group_report(a.id, group.id, since_7d, since_30d)
            .unwrap(),
        GroupReport {
            members: 3,
            active_members_7d: 1,
            active_members_30d: 2,
            messages: 1,
            actions: 1,
            responses: 1,
        }
    );
    assert_eq!(
        store
            .data_counts(a.id)
            .unwrap()
            .get(DataKind::ActionResponses),
        2
    );
    // Another org learns nothing about the group.
    assert_eq!(
        store
            .group_report(b.id, group.id, since_7d, since_30d)
            .unwrap(),
        GroupReport::default()
    );
    assert_eq!(
        store
            .data_counts(b.id)
            .unwrap()
            .get(DataKind::ActionResponses),
        0
    );
}

pub fn telemetry_is_recorded_for_the_org_named_only(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let user = new_user(store, a.id, PHONES[0]);
    let event = |org: OrgId, kind: &str| TelemetryEvent {
        id: TelemetryId::new(),
        org_id: org,
        user_id: Some(user.id),
        kind: kind.into(),
        properties: serde_json::json!({"platform": "android"}),
        at: t0(),
    };
    store
        .insert_telemetry(
            a.id,
            &[
                event(a.id, "sign_in"),
                TelemetryEvent {
                    user_id: None,
                    ..event(a.id, "api_call")
                },
                event(b.id, "sign_in"),
            ],
        )
        .unwrap();
    assert_eq!(store.data_counts(a.id).unwrap().get(DataKind::Telemetry), 2);
    assert_eq!(store.data_counts(b.id).unwrap().get(DataKind::Telemetry), 0);
}
