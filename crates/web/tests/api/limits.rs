//! Per-org limits and upload sizes: a request over a limit is refused naming it.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use steward_app::Limits;

use crate::helpers::{TestApp, problem, spawn_app, spawn_app_with};

fn imports_url(t: &TestApp) -> String {
    t.url(&format!("/api/v1/orgs/{}/imports", t.org))
}

#[tokio::test]
async fn a_5_mb_multipart_form_upload_imports() {
    let t = spawn_app().await;
    let notes = "n".repeat(4000);
    let mut csv = String::from("Phone Number,Name,Notes\n");
    for i in 0..1300 {
        csv.push_str(&format!("+9198{i:08},Person {i},{notes}\n"));
    }
    assert!(csv.len() > 5_000_000);
    let form = Form::new()
        .text(
            "mapping",
            json!({"columns": {"Notes": "ignore"}}).to_string(),
        )
        .part(
            "file",
            Part::bytes(csv.into_bytes())
                .file_name("people.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let response = t
        .client
        .post(imports_url(&t))
        .bearer_auth(&t.admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["file_name"], "people.csv");
    let done = t.finished_import(job["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["counts"]["created"], 1300, "{done}");
}

#[tokio::test]
async fn an_upload_over_the_configured_cap_answers_413_as_a_form_and_as_a_body() {
    let t = spawn_app_with(|config| {
        config.limits = Limits {
            upload_bytes: 64 * 1024,
            ..Limits::default()
        }
    })
    .await;
    let mut csv = String::from("Phone Number,Name\n");
    for i in 0..5000 {
        csv.push_str(&format!("+9198{i:08},Person {i}\n"));
    }
    let form = Form::new().part(
        "file",
        Part::bytes(csv.clone().into_bytes()).file_name("big.csv"),
    );
    let response = t
        .client
        .post(imports_url(&t))
        .bearer_auth(&t.admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(
        body["detail"].as_str().unwrap().contains("64 KiB"),
        "{body}"
    );
    let response = t
        .client
        .post(imports_url(&t))
        .bearer_auth(&t.admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    // A file under the cap still goes through.
    let response = t
        .client
        .post(imports_url(&t))
        .bearer_auth(&t.admin)
        .header("content-type", "text/csv")
        .body("Phone Number,Name\n+919876543210,Asha\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn per_org_limits_refuse_attributes_groups_tokens_and_imports_naming_the_limit() {
    let t = spawn_app_with(|config| {
        // No worker: imports stay queued, so they count as in flight.
        config.workers = 0;
        config.limits = Limits {
            attributes_per_org: 2,
            groups_per_org: 1,
            tokens_per_org: 3,
            imports_in_flight_per_org: 1,
            ..Limits::default()
        };
    })
    .await;
    let attr = |key: &str| json!({"key": key, "name": key, "type": "string"});
    let response = t.put_schema(json!([attr("a"), attr("b")])).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = t.put_schema(json!([attr("a"), attr("b"), attr("c")])).await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body.to_string().contains("at most 2 attributes"), "{body}");

    let groups = format!("/api/v1/orgs/{}/groups", t.org);
    let response = t
        .send("POST", &groups, &t.admin, json!({"name": "One"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = t
        .send("POST", &groups, &t.admin, json!({"name": "Two"}))
        .await;
    let body = problem(response, StatusCode::CONFLICT).await;
    assert!(
        body["detail"].as_str().unwrap().contains("1 groups"),
        "{body}"
    );

    // The test app made two tokens of this org; a third fits, a fourth does not.
    let tokens = format!("/api/v1/orgs/{}/tokens", t.org);
    let response = t.send("POST", &tokens, &t.admin, json!({})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = t.send("POST", &tokens, &t.admin, json!({})).await;
    let body = problem(response, StatusCode::CONFLICT).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("3 active API tokens"),
        "{body}"
    );

    let upload = || {
        t.client
            .post(imports_url(&t))
            .bearer_auth(&t.admin)
            .header("content-type", "text/csv")
            .body("Phone Number,Name\n+919876543210,Asha\n")
            .send()
    };
    assert_eq!(upload().await.unwrap().status(), StatusCode::ACCEPTED);
    let body = problem(upload().await.unwrap(), StatusCode::CONFLICT).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("queued or running"),
        "{body}"
    );
    // Other orgs are not affected.
    let theirs = t
        .client
        .post(t.url(&format!("/api/v1/orgs/{}/imports", t.other_org)))
        .bearer_auth(&t.other_admin)
        .header("content-type", "text/csv")
        .body("Phone Number,Name\n+14155550123,Ada\n")
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::ACCEPTED);
}
