//! Actions, connectors, messages, attachments and reports, under the permission matrix.

use reqwest::StatusCode;
use serde_json::Value;
use steward_domain::GroupId;
use steward_store::prelude::*;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn content_follows_the_matrix_for_actions_connectors_messages_and_reports() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211", "+919876543212"]);
    let a = t.group_with("+919876543210", &["+919876543211"]);
    let b = t.group_with("+919876543212", &[]);
    let group_admin = t.member_session("+919876543210").await;
    let member = t.member_session("+919876543211").await;
    let org = format!("/api/v1/orgs/{}", t.org);
    let status = |r: reqwest::Response| r.status();

    // Members post to their groups and read them.
    let posted = t
        .send(
            "POST",
            &format!("{org}/groups/{a}/messages"),
            &member,
            serde_json::json!({"text": "Hello team"}),
        )
        .await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/groups/{b}/messages"),
                &member,
                serde_json::json!({"text": "hi"})
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    let read: Value = t
        .get(&format!("{org}/groups/{a}/messages"), &group_admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["items"][0]["body"], "Hello team");

    // Anyone creates actions; publishing is for admins of the target group.
    let poll = serde_json::json!({"kind": "poll", "title": "Lunch?", "questions": [{"text": "Where", "options": ["Canteen", "Out"]}]});
    let created: Value = t
        .send("POST", &format!("{org}/actions"), &member, poll)
        .await
        .json()
        .await
        .unwrap();
    let action = created["id"].as_str().unwrap().to_owned();
    let to = |g: GroupId| serde_json::json!({"group_id": g});
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/actions/{action}/publish"),
                &member,
                to(a)
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/actions/{action}/publish"),
                &group_admin,
                to(b)
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/actions/{action}/publish"),
                &group_admin,
                to(a)
            )
            .await
        ),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/actions/{action}/publish"),
                &t.admin,
                to(b)
            )
            .await
        ),
        StatusCode::NO_CONTENT
    );
    // Members answer actions published to their groups, with valid options.
    let answer = |answers: Value| serde_json::json!({"group_id": a, "answers": answers});
    let bad = t
        .send(
            "POST",
            &format!("{org}/actions/{action}/responses"),
            &member,
            answer(serde_json::json!(["Home"])),
        )
        .await;
    assert_eq!(
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "answers[0]"
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/actions/{action}/responses"),
                &member,
                answer(serde_json::json!(["Out"]))
            )
            .await
        ),
        StatusCode::CREATED
    );
    // Self-created or all: everyone sees all actions; `mine` narrows to one's own.
    for (token, mine) in [
        (&t.admin, None),
        (&group_admin, Some(0)),
        (&member, Some(1)),
    ] {
        let all: Value = t
            .get(&format!("{org}/actions"), token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(all["total"], 1);
        if let Some(expected) = mine {
            let own: Value = t
                .get(&format!("{org}/actions?mine=true"), token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(own["total"], expected);
        }
    }
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/actions/{action}/unpublish"),
                &group_admin,
                to(b)
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/actions/{action}/unpublish"),
                &t.admin,
                to(b)
            )
            .await
        ),
        StatusCode::NO_CONTENT
    );

    // Connectors: the same rules.
    let made: Value = t
        .send(
            "POST",
            &format!("{org}/connectors"),
            &group_admin,
            serde_json::json!({"name": "Alerts", "config": {"feed": "x"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let connector = made["id"].as_str().unwrap().to_owned();
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/connectors/{connector}/publish"),
                &member,
                to(a)
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/connectors/{connector}/publish"),
                &group_admin,
                to(a)
            )
            .await
        ),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{org}/connectors/{connector}/publish"),
                &group_admin,
                to(b)
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    let seen: Value = t
        .get(&format!("{org}/connectors"), &member)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["total"], 1);

    // Reports: org admin all groups and org totals; group admin their groups; member none.
    let full: Value = t
        .get(&format!("{org}/reports"), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(full["items"].as_array().unwrap().len(), 2);
    assert_eq!(full["org"]["messages"], 1);
    let own: Value = t
        .get(&format!("{org}/reports"), &group_admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = own["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let report = &items[0]["report"];
    assert_eq!(
        (
            report["members"].as_u64(),
            report["messages"].as_u64(),
            report["responses"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(
        report["active_members_7d"], 1,
        "the member who posted and answered"
    );
    assert_eq!(own["org"], Value::Null);
    problem(
        t.get(&format!("{org}/reports"), &member)
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;

    // Sign-ins, messages and responses left telemetry.
    let counts = t.store.data_counts(t.org).unwrap();
    let telemetry = counts.get(steward_store::DataKind::Telemetry);
    assert!(
        telemetry >= 4,
        "2 sign-ins, a message, a response: {telemetry}"
    );
}

#[tokio::test]
async fn attachments_upload_and_download_safely_within_the_size_cap() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211", "+919876543212"]);
    let a = t.group_with("+919876543210", &["+919876543211"]);
    let member = t.member_session("+919876543211").await;
    let outsider = t.member_session("+919876543212").await;
    let org = format!("/api/v1/orgs/{}", t.org);
    let message: Value = t
        .send(
            "POST",
            &format!("{org}/groups/{a}/messages"),
            &member,
            serde_json::json!({"text": "the report"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let message = message["id"].as_str().unwrap();
    let upload = |body: Vec<u8>| {
        t.client
            .post(t.url(&format!("{org}/groups/{a}/messages/{message}/attachments?file_name=my%20%22report%22%20%C3%BC.pdf")))
            .bearer_auth(&member)
            .header("content-type", "application/pdf")
            .body(body)
            .send()
    };
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let created = upload(bytes.clone()).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let attachment: Value = created.json().await.unwrap();
    assert_eq!(
        (
            attachment["size"].as_u64(),
            attachment["file_name"].as_str()
        ),
        (Some(100_000), Some("my \"report\" ü.pdf"))
    );

    let path = format!(
        "{org}/groups/{a}/attachments/{}",
        attachment["id"].as_str().unwrap()
    );
    let download = t.get(&path, &member).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        "attachment; filename=\"my _report_ _.pdf\"; filename*=UTF-8''my%20%22report%22%20%C3%BC.pdf"
    );
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(download.bytes().await.unwrap().to_vec(), bytes);

    problem(
        t.get(&path, &outsider).send().await.unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        t.get(&path, &t.other_admin).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let too_big = upload(vec![0u8; 25 * 1024 * 1024 + 1]).await.unwrap();
    problem(too_big, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn an_action_with_too_many_or_too_long_questions_is_refused_naming_the_field() {
    let t = spawn_app().await;
    t.add_users(&["+919876543211"]);
    let member = t.member_session("+919876543211").await;
    let url = format!("/api/v1/orgs/{}/actions", t.org);
    let question = serde_json::json!({"text": "Where", "options": ["Canteen"]});
    let many =
        serde_json::json!({"kind": "poll", "title": "Lunch?", "questions": vec![question; 51]});
    let long_option = serde_json::json!({"kind": "poll", "title": "Lunch?",
        "questions": [{"text": "Where", "options": ["x".repeat(201)]}]});
    for (body, field) in [
        (many, "questions"),
        (long_option, "questions[0].options[0]"),
    ] {
        let response = t.send("POST", &url, &member, body).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
}
