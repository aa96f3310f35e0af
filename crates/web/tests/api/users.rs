//! The user directory: listing, paging, creating, reading and patching users, and what
//! group admins see of it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{problem, spawn_app, urlencode};

#[tokio::test]
async fn a_member_listing_users_gets_403_saying_what_is_missing() {
    let t = spawn_app().await;
    let response = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &t.member)
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"].as_str().unwrap().contains("org-admin"),
        "{body}"
    );
}

#[tokio::test]
async fn users_page_by_phone_with_a_cursor_and_a_total() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+14155550123", "+447400123456"]);
    let first: Value = t
        .get(&format!("/api/v1/orgs/{}/users?limit=2", t.org), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["total"], 3);
    assert_eq!(first["items"][0]["phone"], "+14155550123");
    assert_eq!(first["items"][0]["status"], "active");
    assert_eq!(first["items"][0]["source"], "api");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = t
        .get(
            &format!(
                "/api/v1/orgs/{}/users?limit=2&cursor={}",
                t.org,
                urlencode(cursor)
            ),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["phone"], "+919876543210");
    assert_eq!(second["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_bad_page_size_is_422_naming_the_field() {
    let t = spawn_app().await;
    let response = t
        .get(&format!("/api/v1/orgs/{}/users?limit=abc", t.org), &t.admin)
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "limit");
}

#[tokio::test]
async fn users_are_created_read_with_or_without_plus_and_patched() {
    let t = spawn_app().await;
    let schema = serde_json::json!([
        {"key": "employee_id", "name": "Employee ID", "type": "string", "mandatory": true},
        {"key": "remote", "name": "Remote", "type": "yes_no"}
    ]);
    assert_eq!(t.put_schema(schema).await.status(), StatusCode::OK);
    let users = format!("/api/v1/orgs/{}/users", t.org);
    let body = serde_json::json!({"phone": "098765 43210", "name": "Asha Rao", "attributes": {"employee_id": "E-1", "remote": true}});
    let created = t.send("POST", &users, &t.admin, body.clone()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let user: Value = created.json().await.unwrap();
    assert_eq!(
        (user["phone"].as_str(), user["source"].as_str()),
        (Some("+919876543210"), Some("api"))
    );
    assert_eq!(
        user["attributes"],
        serde_json::json!({"employee_id": "E-1", "remote": true})
    );
    let again = t.send("POST", &users, &t.admin, body).await;
    assert_eq!(
        problem(again, StatusCode::CONFLICT).await["detail"],
        "a user with the phone +919876543210 already exists"
    );

    for phone in ["+919876543210", "919876543210", "%2B919876543210"] {
        let got = t
            .get(&format!("{users}/{phone}"), &t.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK, "{phone}");
    }
    let patched: Value = t
        .send(
            "PATCH",
            &format!("{users}/919876543210"),
            &t.admin,
            serde_json::json!({"name": "Asha R.", "attributes": {"remote": null}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["name"], "Asha R.");
    assert_eq!(
        patched["attributes"],
        serde_json::json!({"employee_id": "E-1"})
    );
    let missing = t
        .get(&format!("{users}/14155550123"), &t.admin)
        .send()
        .await
        .unwrap();
    problem(missing, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bad_user_input_names_every_field_and_reason() {
    let t = spawn_app().await;
    t.put_schema(
        serde_json::json!([{"key": "level", "name": "Level", "type": "number", "mandatory": true}]),
    )
    .await;
    let users = format!("/api/v1/orgs/{}/users", t.org);
    let body = serde_json::json!({"phone": "12", "name": "", "attributes": {"level": "high", "colour": "red"}});
    let response = t.send("POST", &users, &t.admin, body).await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec!["phone", "name", "attributes.colour", "attributes.level"],
        "{body}"
    );
    let malformed = t
        .client
        .post(t.url(&users))
        .bearer_auth(&t.admin)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    problem(malformed, StatusCode::BAD_REQUEST).await;
    let missing_mandatory = t
        .send(
            "POST",
            &users,
            &t.admin,
            serde_json::json!({"phone": "+14155550123", "name": "Bob"}),
        )
        .await;
    let body = problem(missing_mandatory, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["reason"], "Level is mandatory");
}

#[tokio::test]
async fn a_group_admin_sees_only_the_users_of_groups_they_administer() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211", "+14155550123"]);
    t.group_with("+919876543210", &["+919876543211"]);
    t.otp_start("+919876543210").await;
    let code = t.last_code().unwrap();
    let token: Value = t
        .otp_verify("+919876543210", &code)
        .await
        .json()
        .await
        .unwrap();
    let page: Value = t
        .get(
            &format!("/api/v1/orgs/{}/users", t.org),
            token["token"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2, "{page}");
}

#[tokio::test]
async fn group_admins_manage_only_users_of_groups_they_administer() {
    let t = spawn_app().await;
    t.add_users(&[
        "+919876543210",
        "+919876543211",
        "+919876543212",
        "+919876543213",
    ]);
    t.group_with("+919876543210", &["+919876543211"]);
    t.group_with("+919876543212", &["+919876543213"]);
    let group_admin = t.member_session("+919876543210").await;
    let member = t.member_session("+919876543211").await;
    let users = format!("/api/v1/orgs/{}/users", t.org);
    let rename = serde_json::json!({"name": "Renamed"});
    let own = t
        .send(
            "PATCH",
            &format!("{users}/919876543211"),
            &group_admin,
            rename.clone(),
        )
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    let other = t
        .send(
            "PATCH",
            &format!("{users}/919876543213"),
            &group_admin,
            rename.clone(),
        )
        .await;
    problem(other, StatusCode::NOT_FOUND).await;
    let by_member = t
        .send(
            "PATCH",
            &format!("{users}/919876543211"),
            &member,
            rename.clone(),
        )
        .await;
    problem(by_member, StatusCode::FORBIDDEN).await;
    let create = serde_json::json!({"phone": "+14155550123", "name": "New"});
    problem(
        t.send("POST", &users, &group_admin, create.clone()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        t.send("POST", &users, &t.admin, create).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        t.send("PATCH", &format!("{users}/919876543213"), &t.admin, rename)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_manager_must_be_a_user_of_the_org_and_is_stored_by_phone() {
    let t = spawn_app().await;
    t.put_schema(serde_json::json!([{"key": "manager", "name": "Manager", "type": "string", "suggested": true}])).await;
    t.add_users(&["+919876543210"]);
    let users = format!("/api/v1/orgs/{}/users", t.org);
    let unknown = serde_json::json!({"phone": "+919876543211", "name": "Ravi", "attributes": {"manager": "+14155550123"}});
    let body = problem(
        t.send("POST", &users, &t.admin, unknown).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "attributes.manager");
    assert!(
        body["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a user of this org")
    );
    let known = serde_json::json!({"phone": "+919876543211", "name": "Ravi", "attributes": {"manager": "098765 43210"}});
    let created: Value = t
        .send("POST", &users, &t.admin, known)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        created["attributes"]["manager"], "+919876543210",
        "stored as E.164"
    );
}
