//! The attribute schema: mandatory attributes, type changes and suggestions.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn making_an_attribute_mandatory_is_refused_with_a_count_unless_forced() {
    let t = spawn_app().await;
    t.put_schema(serde_json::json!([{"key": "level", "name": "Level", "type": "string"}]))
        .await;
    t.add_users(&["+919876543210", "+919876543211"]);
    let mandatory =
        serde_json::json!([{"key": "level", "name": "Level", "type": "string", "mandatory": true}]);
    let refused = problem(
        t.put_schema(mandatory.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let reason = refused["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("2 users have no Level (e.g. +919876543210, +919876543211)"),
        "{reason}"
    );
    let path = format!("/api/v1/orgs/{}/attributes", t.org);
    let forced = t
        .send(
            "PUT",
            &path,
            &t.admin,
            serde_json::json!({"attributes": mandatory, "force": true}),
        )
        .await;
    assert_eq!(forced.status(), StatusCode::OK);
    let audit: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=attributes.put", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"][0]["outcome"], "forced");
}

#[tokio::test]
async fn changing_a_type_converts_values_and_removing_an_attribute_removes_them() {
    let t = spawn_app().await;
    t.put_schema(serde_json::json!([
        {"key": "level", "name": "Level", "type": "string"},
        {"key": "team", "name": "Team", "type": "string"}
    ]))
    .await;
    let users = format!("/api/v1/orgs/{}/users", t.org);
    for (phone, level) in [("+919876543210", "3"), ("+919876543211", "senior")] {
        let body = serde_json::json!({"phone": phone, "name": "X", "attributes": {"level": level, "team": "Blue"}});
        assert_eq!(
            t.send("POST", &users, &t.admin, body).await.status(),
            StatusCode::CREATED
        );
    }
    let as_number = serde_json::json!([{"key": "level", "name": "Level", "type": "number"}]);
    let refused = problem(
        t.put_schema(as_number.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        refused["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("1 users have a Level that is not a number")
    );
    let path = format!("/api/v1/orgs/{}/attributes?force=true", t.org);
    assert_eq!(
        t.send(
            "PUT",
            &path,
            &t.admin,
            serde_json::json!({"attributes": as_number})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let first: Value = t
        .get(&format!("{users}/919876543210"), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        first["attributes"],
        serde_json::json!({"level": 3}),
        "converted, and team removed"
    );
    let second: Value = t
        .get(&format!("{users}/919876543211"), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["attributes"], serde_json::json!({}));
    let audit: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=attributes.remove", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"][0]["target"], "team");
}

#[tokio::test]
async fn suggested_attributes_include_the_seeds_examples() {
    let t = spawn_app().await;
    let body: Value = t
        .get(
            &format!("/api/v1/orgs/{}/attributes/suggestions", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for name in [
        "Employee ID",
        "Job Title",
        "Department",
        "Manager",
        "Location",
        "Email",
        "Hire Date",
    ] {
        assert!(names.contains(&name), "{name}");
    }
}
