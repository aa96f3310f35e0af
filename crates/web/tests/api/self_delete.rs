//! A member deletes their own data (`DELETE /api/v1/me`): their consumer content and
//! sign-in go, after a fresh one-time code; what the org keeps about them stays.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use steward_domain::group::{Group, Membership};
use steward_domain::{GroupId, GroupName, GroupRole, PhoneNumber};
use steward_store::prelude::*;

use crate::helpers::{TestApp, problem, spawn_app};

const ME: &str = "+919876543211";

/// A group not mapped to the org, with `ME` as a member.
fn consumer_group(t: &TestApp) -> GroupId {
    let group = Group {
        id: GroupId::new(),
        org_id: t.org,
        parent_id: None,
        name: GroupName::parse("Cricket friends").unwrap(),
        org_mapped: false,
        created_at: Utc::now(),
    };
    t.store
        .insert_groups(t.org, std::slice::from_ref(&group))
        .unwrap();
    let me = t
        .store
        .get_user(t.org, &PhoneNumber::from_e164(ME).unwrap())
        .unwrap()
        .unwrap();
    let membership = Membership {
        org_id: t.org,
        group_id: group.id,
        user_id: me.id,
        role: GroupRole::Member,
        joined_at: Utc::now(),
    };
    t.store.insert_memberships(t.org, &[membership]).unwrap();
    group.id
}

async fn post_message(t: &TestApp, token: &str, group: GroupId, text: &str) -> String {
    let path = format!("/api/v1/orgs/{}/groups/{group}/messages", t.org);
    let posted = t.send("POST", &path, token, json!({"text": text})).await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    posted.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn files_holding(dir: &std::path::Path, needle: &str) -> usize {
    let mut found = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                found += 1;
            }
        }
    }
    found
}

#[tokio::test]
async fn a_member_deletes_their_consumer_data_and_sign_in_while_org_records_stay() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", ME]);
    let work = t.group_with("+919876543210", &[ME]);
    let friends = consumer_group(&t);
    let session = t.member_session(ME).await;
    let for_the_org = format!("zqorg{}", uuid::Uuid::now_v7().simple());
    let for_friends = format!("zqfriends{}", uuid::Uuid::now_v7().simple());
    let picture = format!("zqpicture{}", uuid::Uuid::now_v7().simple());
    post_message(&t, &session, work, &for_the_org).await;
    let message = post_message(&t, &session, friends, &for_friends).await;
    let attached = t
        .client
        .post(t.url(&format!(
            "/api/v1/orgs/{}/groups/{friends}/messages/{message}/attachments?file_name=p.txt",
            t.org
        )))
        .bearer_auth(&session)
        .header("content-type", "text/plain")
        .body(picture.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), StatusCode::CREATED);

    // Who they are, before.
    let me: Value = t
        .get("/api/v1/me", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["phone"].as_str(), me["orgs"].as_array().unwrap().len()),
        (Some(ME), 1)
    );

    // An API token is no person; a code older than 5 minutes is not fresh.
    problem(
        t.send("DELETE", "/api/v1/me", &t.admin, json!({})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    t.clock.advance(Duration::minutes(6));
    let stale = problem(
        t.client
            .delete(t.url("/api/v1/me"))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        stale["detail"]
            .as_str()
            .unwrap()
            .contains("fresh one-time code"),
        "{stale}"
    );
    let wrong = t
        .send("DELETE", "/api/v1/me", &session, json!({"code": "000000"}))
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(t.otp_start(ME).await.status(), StatusCode::ACCEPTED);
    let code = t.last_code().unwrap();
    let deleted = t
        .send("DELETE", "/api/v1/me", &session, json!({"code": code}))
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let deleted: Value = deleted.json().await.unwrap();
    let removed = &deleted["removed"];
    assert_eq!(
        (
            removed["messages"].as_u64(),
            removed["attachments"].as_u64(),
            removed["memberships"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{deleted}"
    );
    assert_eq!(removed["sessions"], 1, "{deleted}");
    assert!(removed["sign_in_codes"].as_u64().unwrap() >= 2);
    assert_eq!(deleted["orgs_keeping_records"], 1);

    // Signed out everywhere; the consumer content is gone from every file.
    let after = t.get("/api/v1/me", &session).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(files_holding(t.data_dir(), &for_friends), 0);
    assert_eq!(files_holding(t.data_dir(), &picture), 0);
    assert!(
        t.store
            .latest_otp(&PhoneNumber::from_e164(ME).unwrap())
            .unwrap()
            .is_none()
    );

    // The org's records stay: the user, their membership and message in the org group.
    let base = format!("/api/v1/orgs/{}", t.org);
    let user = t
        .get(
            &format!("{base}/users/{}", ME.replace('+', "%2B")),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), StatusCode::OK);
    let messages: Value = t
        .get(&format!("{base}/groups/{work}/messages"), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages["items"][0]["body"], for_the_org, "{messages}");
    assert!(files_holding(t.data_dir(), &for_the_org) > 0);
    let audit: Value = t
        .get(&format!("{base}/audit?action=me.delete"), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1, "{audit}");

    // They can sign in again: the org still knows them.
    let again = t.member_session(ME).await;
    assert_eq!(
        t.get("/api/v1/me", &again).send().await.unwrap().status(),
        StatusCode::OK
    );
}
