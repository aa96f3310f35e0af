//! Checks of deleted users: what a deletion hides, an exact restore, purge steps and
//! their receipt, legal holds, the purge window and schedule.

use chrono::Duration;
use steward_domain::content::{
    Action, ActionKind, ActionResponse, Attachment, Message, Publication, Question,
};
use steward_domain::group::{Group, Membership};
use steward_domain::lifecycle::{DeletionReceipt, HoldScope, LegalHold, PurgeWindow};
use steward_domain::{
    ActionId, AttachmentId, AttributeChanges, Counts, GroupId, GroupName, GroupRole, HoldId, Job,
    JobId, JobKind, JobStatus, MessageId, OrgId, Progress, ReceiptId, ResponseId, User, UserStatus,
};
use steward_store::{
    Conflict, DataKind, JobCheckpoint, JobLease, Publishable, PublishableId, PublishableKind,
    PurgeKind, PurgedUser, Store, StoreError,
};

use crate::{PHONES, new_org, phone, t0, upsert};

fn person(store: &dyn Store, org: OrgId, raw_phone: &str) -> User {
    store
        .create_user(
            org,
            &upsert(raw_phone, "Asha Rao", AttributeChanges::new()),
            t0(),
        )
        .unwrap()
}

fn group(store: &dyn Store, org: OrgId, org_mapped: bool) -> Group {
    let group = Group {
        id: GroupId::new(),
        org_id: org,
        parent_id: None,
        name: GroupName::parse("Field Sales").unwrap(),
        org_mapped,
        created_at: t0(),
    };
    store
        .insert_groups(org, std::slice::from_ref(&group))
        .unwrap();
    group
}

fn join(store: &dyn Store, group: &Group, user: &User, role: GroupRole) {
    store
        .put_membership(&Membership {
            org_id: group.org_id,
            group_id: group.id,
            user_id: user.id,
            role,
            joined_at: t0(),
        })
        .unwrap();
}

fn post(store: &dyn Store, group: &Group, by: &User, body: &str) -> Message {
    let message = Message {
        id: MessageId::new(),
        org_id: group.org_id,
        group_id: group.id,
        sender_id: by.id,
        body: body.into(),
        created_at: t0(),
    };
    store
        .insert_messages(group.org_id, std::slice::from_ref(&message))
        .unwrap();
    message
}

fn poll(store: &dyn Store, by: &User, published_in: &Group) -> Action {
    let action = Action {
        id: ActionId::new(),
        org_id: by.org_id,
        kind: ActionKind::Poll,
        title: "Lunch?".into(),
        questions: vec![Question {
            text: "Where?".into(),
            options: vec!["In".into(), "Out".into()],
        }],
        created_by: by.id,
        created_at: t0(),
    };
    store
        .insert_publishables(by.org_id, &[Publishable::Action(action.clone())])
        .unwrap();
    store
        .publish(
            by.org_id,
            &[Publication {
                org_id: by.org_id,
                item_id: PublishableId::Action(action.id),
                group_id: published_in.id,
                published_by: "cli".into(),
                published_at: t0(),
            }],
        )
        .unwrap();
    action
}

fn answer(store: &dyn Store, action: &Action, group: &Group, by: &User) {
    store
        .insert_action_responses(
            by.org_id,
            &[ActionResponse {
                id: ResponseId::new(),
                org_id: by.org_id,
                action_id: action.id,
                group_id: group.id,
                user_id: by.id,
                answers: vec!["In".into()],
                created_at: t0(),
            }],
        )
        .unwrap();
}

/// An org where `gone` (PHONES[0]) admins the org group, is in a consumer group, and
/// made content in both; `stays` (PHONES[1]) made content too.
struct Scene {
    org: OrgId,
    gone: User,
    stays: User,
    org_group: Group,
    consumer: Group,
    attachment: AttachmentId,
}

fn attach(store: &dyn Store, message: &Message) -> AttachmentId {
    let id = AttachmentId::new();
    store
        .insert_attachment(&Attachment {
            id,
            org_id: message.org_id,
            message_id: message.id,
            file_name: "plan.txt".into(),
            content_type: "text/plain".into(),
            size: 4,
            blob_key: format!("orgs/{}/attachments/{id}", message.org_id),
            created_at: t0(),
        })
        .unwrap();
    id
}

fn scene(store: &dyn Store) -> Scene {
    let org = new_org(store, "Contoso").id;
    let gone = person(store, org, PHONES[0]);
    let stays = person(store, org, PHONES[1]);
    let org_group = group(store, org, true);
    let consumer = group(store, org, false);
    join(store, &org_group, &gone, GroupRole::Admin);
    join(store, &org_group, &stays, GroupRole::Member);
    join(store, &consumer, &gone, GroupRole::Member);
    let theirs = post(store, &org_group, &gone, "the plan");
    post(store, &org_group, &stays, "the answer");
    post(store, &consumer, &gone, "see you at the nets");
    let attachment = attach(store, &theirs);
    let their_poll = poll(store, &gone, &org_group);
    let other_poll = poll(store, &stays, &org_group);
    answer(store, &their_poll, &org_group, &stays);
    answer(store, &other_poll, &org_group, &gone);
    answer(store, &other_poll, &org_group, &stays);
    Scene {
        org,
        gone,
        stays,
        org_group,
        consumer,
        attachment,
    }
}

/// What the org's reads show of the scene.
fn reads(store: &dyn Store, s: &Scene) -> String {
    let since = t0() - Duration::days(1);
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.get_user(s.org, &s.gone.phone).unwrap(),
        store
            .list_messages(s.org, s.org_group.id, None, 50)
            .unwrap(),
        store.list_messages(s.org, s.consumer.id, None, 50).unwrap(),
        store.get_attachment(s.org, s.attachment).unwrap(),
        store
            .list_publishables(s.org, PublishableKind::Action, None)
            .unwrap(),
        store
            .group_report(s.org, s.org_group.id, since, since)
            .unwrap(),
        {
            // The store promises no order here.
            let mut roles = store.group_roles(s.org, s.gone.id).unwrap();
            roles.sort();
            roles
        },
        store.group_members(s.org, s.org_group.id).unwrap(),
    )
}

pub fn deleting_a_user_hides_their_org_content_and_a_restore_brings_it_back_exactly(
    store: &dyn Store,
) {
    let s = scene(store);
    let before = reads(store, &s);
    let other = new_org(store, "Fabrikam").id;
    assert!(
        store
            .delete_user(other, &s.gone.phone, "cli", t0(), t0())
            .unwrap()
            .is_none(),
        "not a user of that org"
    );
    let at = t0() + Duration::hours(1);
    let deleted = store
        .delete_user(s.org, &s.gone.phone, "token:1", at, at + Duration::days(30))
        .unwrap()
        .unwrap();
    assert_eq!(deleted.user.status, UserStatus::Deleted);
    assert_eq!(deleted.user.deleted_at, Some(at));
    assert_eq!(
        (deleted.deleted_by.as_str(), deleted.purging),
        ("token:1", false)
    );
    assert_eq!(deleted.memberships.len(), 1, "the org group's only");
    assert_eq!(deleted.memberships[0].role, GroupRole::Admin);
    assert!(
        store
            .delete_user(s.org, &s.gone.phone, "cli", at, at)
            .unwrap()
            .is_none(),
        "already deleted"
    );

    // Hidden from every read; the consumer group keeps theirs.
    let messages = store
        .list_messages(s.org, s.org_group.id, None, 50)
        .unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].sender_id, s.stays.id);
    assert_eq!(
        store
            .list_messages(s.org, s.consumer.id, None, 50)
            .unwrap()
            .len(),
        1
    );
    assert!(store.get_attachment(s.org, s.attachment).unwrap().is_none());
    let actions = store
        .list_publishables(s.org, PublishableKind::Action, None)
        .unwrap();
    assert_eq!(actions.len(), 1);
    let since = t0() - Duration::days(1);
    let report = store
        .group_report(s.org, s.org_group.id, since, since)
        .unwrap();
    assert_eq!(
        (
            report.members,
            report.messages,
            report.actions,
            report.responses
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        store.group_roles(s.org, s.gone.id).unwrap(),
        vec![(s.consumer.id, GroupRole::Member)]
    );
    let listed = store.deleted_users(s.org).unwrap();
    assert_eq!(listed, vec![deleted.clone()]);
    assert!(store.deleted_users(other).unwrap().is_empty());
    let counts = store.purge_counts(s.org, s.gone.id).unwrap();
    let expected = [
        ("attachments", 1),
        ("messages", 1),
        ("action_responses", 2),
        ("action_publications", 1),
        ("actions", 1),
        ("telemetry", 0),
    ];
    for (kind, n) in expected {
        assert_eq!(counts.get(kind), n, "{kind}");
    }

    let restored = store
        .restore_user(s.org, &s.gone.phone, at)
        .unwrap()
        .unwrap();
    assert_eq!(restored.status, UserStatus::Active);
    assert_eq!(reads(store, &s), before);
    assert!(store.deleted_users(s.org).unwrap().is_empty());
    assert!(
        store
            .restore_user(s.org, &s.gone.phone, at)
            .unwrap()
            .is_none()
    );
}

fn purge_job(store: &dyn Store, org: OrgId) -> JobLease {
    let job = Job {
        id: JobId::new(),
        org_id: org,
        kind: JobKind::PurgeUsers,
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
        .claim_job(Some(job.id), "w", t0(), t0() + Duration::minutes(5))
        .unwrap()
        .unwrap();
    JobLease {
        job_id: job.id,
        org_id: org,
        worker_id: "w".into(),
    }
}

fn receipt(org: OrgId) -> DeletionReceipt {
    DeletionReceipt {
        id: ReceiptId::new(),
        org_id: org,
        phone_hash: "ab".repeat(32),
        deleted_by: "token:1".into(),
        deleted_at: t0(),
        purged_by: "scheduler".into(),
        purged_at: t0() + Duration::days(31),
        counts: Counts::default(),
    }
}

pub fn a_purge_removes_a_deleted_users_rows_in_steps_then_the_user_with_a_receipt(
    store: &dyn Store,
) {
    let s = scene(store);
    let before = store.data_counts(s.org).unwrap();
    store
        .delete_user(s.org, &s.gone.phone, "token:1", t0(), t0())
        .unwrap()
        .unwrap();
    let lease = purge_job(store, s.org);
    let checkpoint = JobCheckpoint::default();
    // The last step is refused while rows are left.
    let early = store.job_step(&lease, &mut |tx| {
        tx.finish_purge(s.gone.id, &receipt(s.org))?;
        Ok(checkpoint.clone())
    });
    assert!(matches!(
        early,
        Err(StoreError::Conflict(Conflict::Rule(_)))
    ));

    let attachments = store.purge_attachments(s.org, s.gone.id, 0, 10).unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].id, s.attachment);
    let mut removed = 0;
    for kind in PurgeKind::ALL {
        let ids: Vec<AttachmentId> = attachments.iter().map(|a| a.id).collect();
        store
            .job_step(&lease, &mut |tx| {
                removed += tx.purge_rows(s.gone.id, kind, &ids, 1000)?;
                Ok(checkpoint.clone())
            })
            .unwrap();
    }
    assert_eq!(removed, 6);
    // Begun: no restore any more, though still listed as deleted.
    let listed = store.deleted_users(s.org).unwrap();
    assert!(listed[0].purging);
    assert!(matches!(
        store.restore_user(s.org, &s.gone.phone, t0()),
        Err(StoreError::Conflict(Conflict::Rule(_)))
    ));
    let mut outcome = None;
    store
        .job_step(&lease, &mut |tx| {
            outcome = Some(tx.finish_purge(s.gone.id, &receipt(s.org))?);
            Ok(checkpoint.clone())
        })
        .unwrap();
    assert_eq!(
        outcome,
        Some(PurgedUser::Stub),
        "the consumer group names them"
    );
    assert!(store.deleted_users(s.org).unwrap().is_empty());
    let stub = store.get_user(s.org, &s.gone.phone).unwrap().unwrap();
    assert!(stub.attributes.is_empty());
    assert_eq!(store.receipts(s.org).unwrap().len(), 1);
    let after = store.data_counts(s.org).unwrap();
    let gone = |kind| before.get(kind) - after.get(kind);
    assert_eq!(
        (
            gone(DataKind::Messages),
            gone(DataKind::Attachments),
            gone(DataKind::ActionResponses),
            gone(DataKind::Actions),
            gone(DataKind::Publications),
            gone(DataKind::Memberships),
            gone(DataKind::Users),
        ),
        (1, 1, 2, 1, 1, 1, 0)
    );
    // A user whom nothing else names goes entirely.
    store
        .delete_user(s.org, &s.stays.phone, "cli", t0(), t0())
        .unwrap()
        .unwrap();
    for kind in PurgeKind::ALL {
        store
            .job_step(&lease, &mut |tx| {
                tx.purge_rows(s.stays.id, kind, &[], 1000)?;
                Ok(checkpoint.clone())
            })
            .unwrap();
    }
    store
        .job_step(&lease, &mut |tx| {
            outcome = Some(tx.finish_purge(s.stays.id, &receipt(s.org))?);
            Ok(checkpoint.clone())
        })
        .unwrap();
    assert_eq!(outcome, Some(PurgedUser::Removed));
    assert!(store.get_user(s.org, &s.stays.phone).unwrap().is_none());
    assert_eq!(store.receipts(s.org).unwrap().len(), 2);
}

pub fn a_purge_walks_the_attachments_batch_after_batch_in_message_order(store: &dyn Store) {
    let s = scene(store);
    let mut expected = vec![s.attachment];
    for n in 0..3 {
        let message = post(store, &s.org_group, &s.gone, &format!("file {n}"));
        expected.extend([attach(store, &message), attach(store, &message)]);
    }
    // Kept: in a consumer group, and another person's.
    attach(store, &post(store, &s.consumer, &s.gone, "mine to keep"));
    attach(store, &post(store, &s.org_group, &s.stays, "theirs"));
    store
        .delete_user(s.org, &s.gone.phone, "token:1", t0(), t0())
        .unwrap()
        .unwrap();
    let lease = purge_job(store, s.org);
    let (mut from, mut walked) = (0, Vec::new());
    loop {
        let batch = store.purge_attachments(s.org, s.gone.id, from, 3).unwrap();
        let Some(last) = batch.last() else { break };
        assert!(batch.len() <= 3);
        assert!(batch.windows(2).all(|w| w[0].position <= w[1].position));
        assert!(batch[0].position >= from, "no going back");
        from = last.position;
        let ids: Vec<AttachmentId> = batch.iter().map(|a| a.id).collect();
        let removed = store
            .job_step(&lease, &mut |tx| {
                let n = tx.purge_rows(s.gone.id, PurgeKind::Attachments, &ids, 1000)?;
                Ok(JobCheckpoint {
                    progress: Progress { done: n, total: 0 },
                    ..JobCheckpoint::default()
                })
            })
            .unwrap();
        assert_eq!(
            removed.progress.done,
            ids.len() as u64,
            "each listed one goes"
        );
        walked.extend(ids);
    }
    expected.sort();
    walked.sort();
    assert_eq!(walked, expected, "every one once, and only these");
}

pub fn a_legal_hold_refuses_purge_steps_until_it_is_removed(store: &dyn Store) {
    let org = new_org(store, "Contoso").id;
    let other = new_org(store, "Fabrikam").id;
    let user = person(store, org, PHONES[0]);
    store
        .delete_user(org, &user.phone, "cli", t0(), t0())
        .unwrap()
        .unwrap();
    let on_user = LegalHold {
        id: HoldId::new(),
        org_id: org,
        scope: HoldScope::User(user.id, user.phone.clone()),
        reason: "litigation".into(),
        created_by: "cli".into(),
        created_at: t0(),
    };
    let on_org = LegalHold {
        id: HoldId::new(),
        scope: HoldScope::Org,
        ..on_user.clone()
    };
    store.add_hold(&on_user).unwrap();
    store.add_hold(&on_org).unwrap();
    assert_eq!(
        store.holds(org).unwrap(),
        vec![on_user.clone(), on_org.clone()]
    );
    assert!(store.holds(other).unwrap().is_empty());
    assert!(store.remove_hold(other, on_org.id).unwrap().is_none());
    assert!(store.is_held(org, user.id).unwrap());
    let lease = purge_job(store, org);
    let step = store.job_step(&lease, &mut |tx| {
        tx.purge_rows(user.id, PurgeKind::Messages, &[], 10)?;
        Ok(JobCheckpoint::default())
    });
    assert!(matches!(step, Err(StoreError::Conflict(Conflict::Rule(_)))));
    assert!(
        !store.deleted_users(org).unwrap()[0].purging,
        "nothing began"
    );
    assert_eq!(store.remove_hold(org, on_user.id).unwrap(), Some(on_user));
    assert!(
        store.is_held(org, user.id).unwrap(),
        "the org's hold remains"
    );
    assert_eq!(store.remove_hold(org, on_org.id).unwrap(), Some(on_org));
    assert!(!store.is_held(org, user.id).unwrap());
    store
        .job_step(&lease, &mut |tx| {
            tx.purge_rows(user.id, PurgeKind::Messages, &[], 10)?;
            Ok(JobCheckpoint::default())
        })
        .unwrap();
}

pub fn the_purge_window_salt_and_schedule_are_kept_per_org(store: &dyn Store) {
    let org = new_org(store, "Contoso").id;
    let other = new_org(store, "Fabrikam").id;
    assert_eq!(store.purge_window(org).unwrap(), PurgeWindow::default());
    store
        .set_purge_window(org, PurgeWindow::days(7).unwrap())
        .unwrap();
    assert_eq!(store.purge_window(org).unwrap().as_days(), 7);
    assert_eq!(store.purge_window(other).unwrap().as_days(), 30);
    let (salt, other_salt) = (
        store.receipt_salt(org).unwrap(),
        store.receipt_salt(other).unwrap(),
    );
    assert_eq!(salt.len(), 64);
    assert_ne!(salt, other_salt);

    let user = person(store, org, PHONES[0]);
    let due = t0() + Duration::days(7);
    store
        .delete_user(org, &user.phone, "cli", t0(), due)
        .unwrap()
        .unwrap();
    assert!(
        store
            .due_purges(due - Duration::seconds(1), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.due_purges(due, 10).unwrap(), vec![(org, user.id)]);
    store
        .forget_purge(org, user.id, Some(&phone(PHONES[0])))
        .unwrap();
    assert!(store.due_purges(due, 10).unwrap().is_empty());
}
