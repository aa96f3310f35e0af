//! Deleting users: the deleted state and its restore, the purge (scheduled when the
//! window passes, or at once), receipts, legal holds and the purge window.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use steward_domain::content::Message;
use steward_domain::group::{Group, Membership};
use steward_domain::{GroupId, GroupName, GroupRole, MessageId, PhoneNumber};
use steward_store::DataKind;
use steward_store::prelude::*;

use crate::helpers::{TestApp, problem, spawn_app, urlencode};

const ADMIN: &str = "+919876543210";
const GONE: &str = "+919876543211";
const OTHER: &str = "+919876543212";

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// An org group administered by ADMIN with GONE and OTHER as members, where GONE
/// posted a message with an attachment, created an action (published by the admin)
/// that OTHER answered, answered the admin's action, and created a connector; plus a
/// consumer (non-org) group where GONE posted too.
struct Scene {
    org: String,
    group: GroupId,
    consumer: GroupId,
    message: String,
    attachment: String,
    marker: String,
}

async fn scene(t: &TestApp) -> Scene {
    t.add_users(&[ADMIN, GONE, OTHER]);
    let group = t.group_with(ADMIN, &[GONE, OTHER]);
    let org = format!("/api/v1/orgs/{}", t.org);
    let admin = t.member_session(ADMIN).await;
    let gone = t.member_session(GONE).await;
    let other = t.member_session(OTHER).await;
    let marker = format!("zebra-{}", uuid::Uuid::new_v4().simple());

    let posted = json_of(
        t.send(
            "POST",
            &format!("{org}/groups/{group}/messages"),
            &gone,
            json!({"text": format!("the secret plan {marker}")}),
        )
        .await,
    )
    .await;
    let message = posted["id"].as_str().unwrap().to_owned();
    json_of(
        t.send(
            "POST",
            &format!("{org}/groups/{group}/messages"),
            &other,
            json!({"text": "an answer that stays"}),
        )
        .await,
    )
    .await;
    let attached = json_of(
        t.client
            .post(t.url(&format!(
                "{org}/groups/{group}/messages/{message}/attachments?file_name=plan.txt"
            )))
            .bearer_auth(&gone)
            .header("content-type", "text/plain")
            .body(format!("attachment bytes {marker}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let attachment = attached["id"].as_str().unwrap().to_owned();

    let poll = |title: &str| json!({"kind": "poll", "title": title, "questions": [{"text": "Where", "options": ["In", "Out"]}]});
    let theirs = json_of(
        t.send(
            "POST",
            &format!("{org}/actions"),
            &gone,
            poll(&format!("Lunch {marker}")),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admins = json_of(
        t.send("POST", &format!("{org}/actions"), &admin, poll("Offsite"))
            .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for action in [&theirs, &admins] {
        let published = t
            .send(
                "POST",
                &format!("{org}/actions/{action}/publish"),
                &t.admin,
                json!({"group_id": group}),
            )
            .await;
        assert_eq!(published.status(), StatusCode::NO_CONTENT);
    }
    for (token, action) in [(&other, &theirs), (&gone, &admins), (&other, &admins)] {
        let answered = t
            .send(
                "POST",
                &format!("{org}/actions/{action}/responses"),
                token,
                json!({"group_id": group, "answers": ["In"]}),
            )
            .await;
        assert_eq!(answered.status(), StatusCode::CREATED);
    }
    json_of(
        t.send(
            "POST",
            &format!("{org}/connectors"),
            &gone,
            json!({"name": "Alerts", "config": {"feed": "x"}}),
        )
        .await,
    )
    .await;

    // A consumer group: the org does not govern it.
    let consumer = Group {
        id: GroupId::new(),
        org_id: t.org,
        parent_id: None,
        name: GroupName::parse("Cricket club").unwrap(),
        org_mapped: false,
        created_at: Utc::now(),
    };
    t.store
        .insert_groups(t.org, std::slice::from_ref(&consumer))
        .unwrap();
    let gone_id = user_id(t, GONE);
    t.store
        .insert_memberships(
            t.org,
            &[Membership {
                org_id: t.org,
                group_id: consumer.id,
                user_id: gone_id,
                role: GroupRole::Member,
                joined_at: Utc::now(),
            }],
        )
        .unwrap();
    t.store
        .insert_messages(
            t.org,
            &[Message {
                id: MessageId::new(),
                org_id: t.org,
                group_id: consumer.id,
                sender_id: gone_id,
                body: "see you at the nets".into(),
                created_at: Utc::now(),
            }],
        )
        .unwrap();
    Scene {
        org,
        group,
        consumer: consumer.id,
        message,
        attachment,
        marker,
    }
}

fn user_id(t: &TestApp, phone: &str) -> steward_domain::UserId {
    t.store
        .get_user(t.org, &PhoneNumber::from_e164(phone).unwrap())
        .unwrap()
        .unwrap()
        .id
}

/// Everything the org admin can read about the org: users, the user, groups and
/// members, messages, actions, connectors, reports; and the attachment's bytes.
async fn everything(t: &TestApp, s: &Scene) -> Vec<(String, String)> {
    let mut reads = Vec::new();
    for path in [
        "/users?limit=1000".to_owned(),
        format!("/users/{}", urlencode(GONE)),
        "/groups".to_owned(),
        format!("/groups/{}", s.group),
        format!("/groups/{}/members", s.group),
        format!("/groups/{}/messages", s.group),
        format!("/groups/{}/attachments/{}", s.group, s.attachment),
        "/actions".to_owned(),
        "/connectors".to_owned(),
        "/reports".to_owned(),
    ] {
        let response = t
            .get(&format!("{}{path}", s.org), &t.admin)
            .send()
            .await
            .unwrap();
        let status = response.status();
        reads.push((format!("{path} {status}"), response.text().await.unwrap()));
    }
    reads
}

async fn deleted_users(t: &TestApp) -> Value {
    json_of(
        t.get(&format!("/api/v1/orgs/{}/deleted-users", t.org), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Waits until the org has no deleted user left (the purge's last step ran).
async fn purged(t: &TestApp) {
    for _ in 0..600 {
        if deleted_users(t).await["total"] == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the purge did not finish: {}", deleted_users(t).await);
}

fn blob_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { blob_files(&p) } else { 1 })
        .sum()
}

fn counts(t: &TestApp) -> Vec<(DataKind, u64)> {
    t.store.data_counts(t.org).unwrap().0
}

#[tokio::test]
async fn a_deleted_user_loses_access_and_content_at_once_and_a_restore_brings_back_everything() {
    let t = spawn_app().await;
    let s = scene(&t).await;
    let gone = t.member_session(GONE).await;
    let before = everything(&t, &s).await;
    let consumer_before = t.store.list_messages(t.org, s.consumer, None, 50).unwrap();

    // Members and group admins may not delete users; org admins may.
    let path = format!("{}/users/{}", s.org, urlencode(GONE));
    let admin_session = t.member_session(ADMIN).await;
    problem(
        t.send("DELETE", &path, &admin_session, Value::Null).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let deleted = json_of(t.send("DELETE", &path, &t.admin, Value::Null).await).await;
    assert_eq!(deleted["status"], "deleted");
    assert_eq!(deleted["memberships"], 1);
    assert!(
        deleted["deleted_by"]
            .as_str()
            .unwrap()
            .starts_with("token:")
    );
    let at: chrono::DateTime<Utc> = deleted["deleted_at"].as_str().unwrap().parse().unwrap();
    let due: chrono::DateTime<Utc> = deleted["purge_after"].as_str().unwrap().parse().unwrap();
    assert_eq!(due - at, chrono::Duration::days(30));
    problem(
        t.send("DELETE", &path, &t.admin, Value::Null).await,
        StatusCode::CONFLICT,
    )
    .await;

    // Their session no longer reaches the org; they cannot sign in to it either.
    let reached = t
        .get(&format!("{}/groups/{}/messages", s.org, s.group), &gone)
        .send()
        .await
        .unwrap();
    assert_eq!(reached.status(), StatusCode::NOT_FOUND);
    let sent = t.store.sms_outbox(100).unwrap().len();
    assert_eq!(
        t.otp_start(GONE).await.status(),
        StatusCode::ACCEPTED,
        "the answer never tells who is a user"
    );
    assert_eq!(
        t.store.sms_outbox(100).unwrap().len(),
        sent,
        "no code is sent to a deleted user"
    );

    // Their content in org groups is gone from every read; others' stays.
    let messages = json_of(
        t.get(&format!("{}/groups/{}/messages", s.org, s.group), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let bodies: Vec<&str> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["an answer that stays"]);
    let attachment = t
        .get(
            &format!("{}/groups/{}/attachments/{}", s.org, s.group, s.attachment),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(attachment.status(), StatusCode::NOT_FOUND);
    let actions = json_of(
        t.get(&format!("{}/actions", s.org), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(actions["total"], 1, "only the admin's action: {actions}");
    let reports = json_of(
        t.get(&format!("{}/reports", s.org), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let report = &reports["items"][0]["report"];
    assert_eq!(
        (
            report["members"].as_u64(),
            report["messages"].as_u64(),
            report["actions"].as_u64(),
            report["responses"].as_u64()
        ),
        (Some(2), Some(1), Some(1), Some(1)),
        "{reports}"
    );
    let members = json_of(
        t.get(&format!("{}/groups/{}/members", s.org, s.group), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!members.to_string().contains(GONE), "{members}");
    let users = json_of(
        t.get(&format!("{}/users", s.org), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(users["total"], 2);
    // The connector they made keeps serving the org's groups.
    let connectors = json_of(
        t.get(&format!("{}/connectors", s.org), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(connectors["total"], 1);
    // Content in the consumer group stays.
    assert_eq!(
        t.store.list_messages(t.org, s.consumer, None, 50).unwrap(),
        consumer_before
    );

    // The deleted-users list says who, when, by whom, until when, and what goes.
    let list = deleted_users(&t).await;
    assert_eq!(list["total"], 1);
    let entry = &list["items"][0];
    assert_eq!(entry["phone"], GONE);
    assert_eq!(entry["purge_after"], deleted["purge_after"]);
    assert_eq!(entry["held"], false);
    assert_eq!(
        entry["to_purge"],
        json!({"attachments": 1, "messages": 1, "action_responses": 2,
               "action_publications": 1, "actions": 1, "telemetry": entry["to_purge"]["telemetry"]}),
    );
    assert!(entry["to_purge"]["telemetry"].as_u64().unwrap() >= 3);

    // Adding the phone again is refused with the way out; so is changing them.
    let again = problem(
        t.send(
            "POST",
            &format!("{}/users", s.org),
            &t.admin,
            json!({"phone": GONE, "name": "Someone New"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let detail = again["detail"].as_str().unwrap();
    assert!(
        detail.contains("restore") && detail.contains("purge"),
        "{detail}"
    );
    problem(
        t.send("PATCH", &path, &t.admin, json!({"name": "Changed"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;

    // The restore brings back everything exactly as it was.
    let restored = json_of(
        t.send("POST", &format!("{path}/restore"), &t.admin, Value::Null)
            .await,
    )
    .await;
    assert_eq!(restored["status"], "active");
    assert_eq!(everything(&t, &s).await, before);
    let reached = t
        .get(&format!("{}/groups/{}/messages", s.org, s.group), &gone)
        .send()
        .await
        .unwrap();
    assert_eq!(reached.status(), StatusCode::OK);
    assert_eq!(deleted_users(&t).await["total"], 0);
    problem(
        t.send("POST", &format!("{path}/restore"), &t.admin, Value::Null)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Both are audited.
    let audit = json_of(
        t.get(&format!("{}/audit?limit=100", s.org), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"user.delete") && actions.contains(&"user.restore"));

    // Another org never sees any of it.
    let foreign = t
        .send(
            "DELETE",
            &format!("/api/v1/orgs/{}/users/{}", t.other_org, urlencode(GONE)),
            &t.admin,
            Value::Null,
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn after_the_window_the_scheduled_purge_removes_every_row_and_blob_and_leaves_a_receipt() {
    let t = spawn_app().await;
    let s = scene(&t).await;
    let rows_before = counts(&t);
    let blobs_before = blob_files(&t.data_dir().join("blobs"));
    let holds_marker = |t: &TestApp| {
        ["", "-wal"].iter().any(|suffix| {
            let file = t.data_dir().join(format!("orgs/{}.db{suffix}", t.org));
            let bytes = std::fs::read(&file).unwrap_or_default();
            bytes
                .windows(s.marker.len())
                .any(|w| w == s.marker.as_bytes())
        })
    };
    assert!(holds_marker(&t), "the text is on disk before the purge");
    let path = format!("{}/users/{}", s.org, urlencode(GONE));
    json_of(t.send("DELETE", &path, &t.admin, Value::Null).await).await;
    let to_purge = deleted_users(&t).await["items"][0]["to_purge"].clone();

    // Inside the window nothing is purged.
    t.clock.advance(chrono::Duration::days(29));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(deleted_users(&t).await["total"], 1);

    // Past it, the worker's scheduler queues the purge and it runs.
    t.clock.advance(chrono::Duration::days(2));
    purged(&t).await;

    // Exactly the user's org-group rows went, and the attachment's file.
    let rows_after = counts(&t);
    let gone = |kind: DataKind| {
        let of = |c: &[(DataKind, u64)]| c.iter().find(|(k, _)| *k == kind).unwrap().1;
        of(&rows_before) - of(&rows_after)
    };
    assert_eq!(gone(DataKind::Messages), 1);
    assert_eq!(gone(DataKind::Attachments), 1);
    assert_eq!(gone(DataKind::Actions), 1);
    assert_eq!(gone(DataKind::ActionResponses), 2);
    assert_eq!(gone(DataKind::Memberships), 1, "the org group's");
    assert_eq!(gone(DataKind::Groups), 0);
    assert_eq!(
        gone(DataKind::Connectors),
        0,
        "the org keeps its connectors"
    );
    assert_eq!(
        gone(DataKind::Users),
        0,
        "a stub stays: the consumer group still names them"
    );
    assert_eq!(
        gone(DataKind::Publications),
        1,
        "the publication of their action"
    );
    assert_eq!(blob_files(&t.data_dir().join("blobs")), blobs_before - 1);

    // The stub holds nothing of the org's record; the consumer group keeps its message.
    let stub = t
        .store
        .get_user(t.org, &PhoneNumber::from_e164(GONE).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(stub.name.as_str(), "Deleted user");
    assert!(stub.attributes.is_empty());
    assert_eq!(
        t.store
            .list_messages(t.org, s.consumer, None, 50)
            .unwrap()
            .len(),
        1
    );
    assert!(
        t.store
            .get_message(t.org, s.message.parse().unwrap())
            .unwrap()
            .is_none()
    );

    // The receipt: who, when, counts, the phone only as a salted hash.
    let receipts = json_of(
        t.get(&format!("{}/deletion-receipts", s.org), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(receipts["total"], 1);
    let receipt = &receipts["items"][0];
    assert!(!receipt.to_string().contains(&GONE[1..]), "{receipt}");
    assert_eq!(receipt["purged_by"], "scheduler");
    // Exactly what the deleted-users list announced (telemetry included: other
    // events keep coming, so the table's count is no measure of theirs).
    let mut removed = receipt["counts"].clone();
    assert_eq!(removed["blobs"], 1);
    removed.as_object_mut().unwrap().remove("blobs");
    assert_eq!(removed, to_purge);
    assert_eq!(receipt["phone_hash"].as_str().unwrap().len(), 64);
    let proof = json_of(
        t.get(
            &format!("{}/deletion-receipts?phone={}", s.org, urlencode(GONE)),
            &t.admin,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(proof["items"][0]["id"], receipt["id"]);
    let none = json_of(
        t.get(
            &format!("{}/deletion-receipts?phone={}", s.org, urlencode(OTHER)),
            &t.admin,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(none["total"], 0);

    // None of their text is left in the org's file or its write-ahead log.
    assert!(
        !holds_marker(&t),
        "the org's file or its log still holds the purged text"
    );

    // The phone is free again: adding it creates a new user.
    let added = t
        .send(
            "POST",
            &format!("{}/users", s.org),
            &t.admin,
            json!({"phone": GONE, "name": "Someone New"}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn purge_now_removes_a_user_for_good_and_their_row_too_when_nothing_else_names_them() {
    let t = spawn_app().await;
    t.add_users(&[ADMIN, GONE]);
    let group = t.group_with(ADMIN, &[GONE]);
    let org = format!("/api/v1/orgs/{}", t.org);
    let gone = t.member_session(GONE).await;
    for i in 0..5 {
        json_of(
            t.send(
                "POST",
                &format!("{org}/groups/{group}/messages"),
                &gone,
                json!({"text": format!("message {i}")}),
            )
            .await,
        )
        .await;
    }
    let users_before = counts(&t)[0];
    let path = format!("{org}/users/{}", urlencode(GONE));
    // Only a deleted user can be purged.
    problem(
        t.send("POST", &format!("{path}/purge"), &t.admin, Value::Null)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    json_of(t.send("DELETE", &path, &t.admin, Value::Null).await).await;
    let response = t
        .send("POST", &format!("{path}/purge"), &t.admin, Value::Null)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["kind"], "purge_users");
    purged(&t).await;
    assert_eq!(counts(&t)[0].1, users_before.1 - 1, "the row itself went");
    assert!(
        t.store
            .get_user(t.org, &PhoneNumber::from_e164(GONE).unwrap())
            .unwrap()
            .is_none()
    );
    let restore = t
        .send("POST", &format!("{path}/restore"), &t.admin, Value::Null)
        .await;
    assert_eq!(restore.status(), StatusCode::NOT_FOUND);
    let receipts = json_of(
        t.get(&format!("{org}/deletion-receipts"), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(receipts["items"][0]["counts"]["messages"], 5);
    assert!(
        receipts["items"][0]["purged_by"]
            .as_str()
            .unwrap()
            .starts_with("token:")
    );
}

#[tokio::test]
async fn a_legal_hold_keeps_deleted_users_from_the_purge_until_it_is_lifted() {
    let t = spawn_app().await;
    t.add_users(&[ADMIN, GONE, OTHER]);
    let org = format!("/api/v1/orgs/{}", t.org);
    let holds = format!("{org}/holds");

    // A reason is required; the phone must be a user of the org.
    let bad = problem(
        t.send(
            "POST",
            &holds,
            &t.admin,
            json!({"phone": GONE, "reason": " "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "reason");
    let bad = problem(
        t.send(
            "POST",
            &holds,
            &t.admin,
            json!({"phone": "+919800000000", "reason": "case 7"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "phone");
    let member = t.member_session(GONE).await;
    problem(
        t.send("POST", &holds, &member, json!({"reason": "mine"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let on_user = json_of(
        t.send(
            "POST",
            &holds,
            &t.admin,
            json!({"phone": GONE, "reason": "litigation 2026-14"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (on_user["scope"].as_str(), on_user["phone"].as_str()),
        (Some("user"), Some(GONE))
    );
    let on_org = json_of(
        t.send("POST", &holds, &t.admin, json!({"reason": "audit of 2026"}))
            .await,
    )
    .await;
    assert_eq!(on_org["scope"], "org");
    let listed = json_of(t.get(&holds, &t.admin).send().await.unwrap()).await;
    assert_eq!(listed["total"], 2);

    // Held users can still be deleted from view...
    for phone in [GONE, OTHER] {
        json_of(
            t.send(
                "DELETE",
                &format!("{org}/users/{}", urlencode(phone)),
                &t.admin,
                Value::Null,
            )
            .await,
        )
        .await;
    }
    let list = deleted_users(&t).await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["held"] == true)
    );
    // ...but never purged while held, neither at once nor when the window passes.
    let now = problem(
        t.send(
            "POST",
            &format!("{org}/users/{}/purge", urlencode(GONE)),
            &t.admin,
            Value::Null,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(now["detail"].as_str().unwrap().contains("hold"));
    t.clock.advance(chrono::Duration::days(31));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deleted_users(&t).await["total"], 2);

    // Lifting the org hold frees OTHER; GONE stays held by their own hold.
    let lifted = t
        .send(
            "DELETE",
            &format!("{holds}/{}", on_org["id"].as_str().unwrap()),
            &t.admin,
            Value::Null,
        )
        .await;
    assert_eq!(lifted.status(), StatusCode::OK);
    for _ in 0..200 {
        if deleted_users(&t).await["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = deleted_users(&t).await;
    assert_eq!(left["total"], 1, "{left}");
    assert_eq!(left["items"][0]["phone"], GONE);
    let lifted = t
        .send(
            "DELETE",
            &format!("{holds}/{}", on_user["id"].as_str().unwrap()),
            &t.admin,
            Value::Null,
        )
        .await;
    assert_eq!(lifted.status(), StatusCode::OK);
    purged(&t).await;
    problem(
        t.send(
            "DELETE",
            &format!("{holds}/{}", on_user["id"].as_str().unwrap()),
            &t.admin,
            Value::Null,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Holds are audited.
    let audit = json_of(
        t.get(&format!("{org}/audit?action=hold.add"), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
    let audit = json_of(
        t.get(&format!("{org}/audit?action=hold.remove"), &t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

#[tokio::test]
async fn the_org_may_shorten_the_purge_window_within_one_to_thirty_days() {
    let t = spawn_app().await;
    t.add_users(&[GONE]);
    let settings = format!("/api/v1/orgs/{}/settings/lifecycle", t.org);
    let shown = json_of(t.get(&settings, &t.admin).send().await.unwrap()).await;
    assert_eq!(shown["purge_window_days"], 30);
    for bad in [json!(0), json!(31), json!(-1), json!(1_000_000_000_000i64)] {
        let refused = problem(
            t.send(
                "PUT",
                &settings,
                &t.admin,
                json!({"purge_window_days": bad}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(refused["errors"][0]["field"], "purge_window_days");
    }
    let set = json_of(
        t.send("PUT", &settings, &t.admin, json!({"purge_window_days": 7}))
            .await,
    )
    .await;
    assert_eq!(set["purge_window_days"], 7);
    let deleted = json_of(
        t.send(
            "DELETE",
            &format!("/api/v1/orgs/{}/users/{}", t.org, urlencode(GONE)),
            &t.admin,
            Value::Null,
        )
        .await,
    )
    .await;
    let at: chrono::DateTime<Utc> = deleted["deleted_at"].as_str().unwrap().parse().unwrap();
    let due: chrono::DateTime<Utc> = deleted["purge_after"].as_str().unwrap().parse().unwrap();
    assert_eq!(due - at, chrono::Duration::days(7));
    t.clock.advance(chrono::Duration::days(8));
    purged(&t).await;
}

#[tokio::test]
async fn importing_a_deleted_phone_fails_its_row_saying_to_restore_or_purge() {
    let t = spawn_app().await;
    t.add_users(&[GONE]);
    json_of(
        t.send(
            "DELETE",
            &format!("/api/v1/orgs/{}/users/{}", t.org, urlencode(GONE)),
            &t.admin,
            Value::Null,
        )
        .await,
    )
    .await;
    let csv = format!("Phone Number,Name\n{OTHER},Someone\n{GONE},Back Again\n");
    let response = t
        .client
        .post(t.url(&format!(
            "/api/v1/orgs/{}/imports?file_name=people.csv",
            t.org
        )))
        .bearer_auth(&t.admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    let done = t.finished_import(job["id"].as_str().unwrap()).await;
    assert_eq!(done["counts"]["created"], 1);
    assert_eq!(done["counts"]["failed"], 1);
    let (_, errors) = t
        .download(&format!("{}/errors.csv", job["id"].as_str().unwrap()))
        .await;
    assert!(
        errors.contains("row 3") && errors.contains("restore") && errors.contains("purge"),
        "{errors}"
    );
    // The user is still deleted.
    assert_eq!(deleted_users(&t).await["total"], 1);
}
