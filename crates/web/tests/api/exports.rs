//! Exports: users exports that import again unchanged, downloads with their length,
//! name and digest, the history, who may export, expiry, and the error log.

use std::time::Duration;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, problem, spawn_app, unzip};

/// Asks for an export; answers the queued export.
async fn request_export(t: &TestApp, body: Value) -> Value {
    let response = t
        .send(
            "POST",
            &format!("/api/v1/orgs/{}/exports", t.org),
            &t.admin,
            body,
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.unwrap()
}

/// Polls an export until its job ends.
async fn finished_export(t: &TestApp, id: &str) -> Value {
    for _ in 0..400 {
        let export: Value = t
            .get(&format!("/api/v1/orgs/{}/exports/{id}", t.org), &t.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if export["finished_at"] != Value::Null {
            return export;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("export {id} did not finish");
}

/// Exports and downloads; answers the export and the response of its download.
async fn export_and_download(t: &TestApp, body: Value) -> (Value, reqwest::Response) {
    let queued = request_export(t, body).await;
    let id = queued["id"].as_str().unwrap().to_owned();
    let export = finished_export(t, &id).await;
    let download = t
        .get(
            &format!("/api/v1/orgs/{}/exports/{id}/download", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    (export, download)
}

/// Imports a file through the API and answers the finished import.
async fn import(t: &TestApp, file_name: &str, body: Vec<u8>) -> Value {
    let response = t
        .client
        .post(t.url(&format!(
            "/api/v1/orgs/{}/imports?file_name={file_name}",
            t.org
        )))
        .bearer_auth(&t.admin)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    t.finished_import(job["id"].as_str().unwrap()).await
}

/// A schema of every attribute type, and users whose names and values are what
/// spreadsheets and CSV parsers get wrong.
async fn hostile_users(t: &TestApp) -> usize {
    let schema = json!([
        {"key": "notes", "name": "Notes", "type": "string"},
        {"key": "score", "name": "Score", "type": "number"},
        {"key": "remote", "name": "Remote", "type": "yes_no"},
        {"key": "joined", "name": "Joined", "type": "datetime"},
    ]);
    assert_eq!(t.put_schema(schema).await.status(), StatusCode::OK);
    let users = [
        (
            "+919876543210",
            "Zoë, \"The\" Boss",
            json!({"notes": "a, b; \"c\"", "score": -5, "remote": true, "joined": "2024-05-31T14:30:00Z"}),
        ),
        (
            "+919876543211",
            "=1+2",
            json!({"notes": "=HYPERLINK(\"http://x\",\"y\")", "score": 3.25}),
        ),
        (
            "+919876543212",
            "+Plus Name",
            json!({"notes": "+91 not a phone", "remote": false}),
        ),
        (
            "+919876543213",
            "-Minus Name",
            json!({"notes": "-2+3", "score": 0}),
        ),
        ("+919876543214", "@At Name", json!({"notes": "@SUM(A1:A2)"})),
        (
            "+919876543215",
            "'=already quoted",
            json!({"notes": "'+quoted too"}),
        ),
        (
            "+919876543216",
            "名前 テスト",
            json!({"notes": "日本語のメモ"}),
        ),
        ("+919876543217", "محمد علي", json!({"notes": "ملاحظة"})),
        (
            "+919876543218",
            "Emoji 🎉 Person",
            json!({"notes": "👍🏽 family: 👨‍👩‍👧"}),
        ),
        ("+14155550123", "Ada Lovelace", json!({})),
    ];
    for (phone, name, attributes) in &users {
        let response = t
            .send(
                "POST",
                &format!("/api/v1/orgs/{}/users", t.org),
                &t.admin,
                json!({"phone": phone, "name": name, "attributes": attributes}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{name}");
    }
    users.len()
}

#[tokio::test]
async fn a_users_csv_export_imports_again_with_every_row_unchanged_even_with_hostile_values() {
    let t = spawn_app().await;
    let n = hostile_users(&t).await;
    let (export, download) = export_and_download(&t, json!({"kind": "users"})).await;
    assert_eq!(export["status"], "completed", "{export}");
    assert_eq!(export["counts"]["exported"], n);
    assert_eq!(download.status(), StatusCode::OK);
    let csv = download.bytes().await.unwrap().to_vec();
    let text = String::from_utf8(csv.clone()).unwrap();
    assert!(
        text.starts_with("\u{feff}Phone Number,Name,Notes,Score,Remote,Joined\n"),
        "the import template's columns: {text}"
    );
    // Formulas are neutralized, phones included (a leading + is one).
    assert!(text.contains("'+919876543211,'=1+2,"), "{text}");
    assert!(text.contains(",'-5,Yes,2024-05-31T14:30:00Z"), "{text}");
    assert!(text.contains("''=already quoted"), "{text}");
    assert!(!text.contains(",=1+2"), "no cell starts a formula: {text}");

    let imported = import(&t, "users-export.csv", csv).await;
    assert_eq!(imported["status"], "completed", "{imported}");
    assert_eq!(
        imported["counts"],
        json!({"created": 0, "updated": 0, "unchanged": n, "failed": 0}),
        "every row reads back to what is stored"
    );
}

#[tokio::test]
async fn a_filtered_export_holds_only_the_matching_users() {
    let t = spawn_app().await;
    hostile_users(&t).await;
    let (export, download) =
        export_and_download(&t, json!({"kind": "users", "filter": {"remote": true}})).await;
    assert_eq!(export["counts"]["exported"], 1, "{export}");
    let text = download.text().await.unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("'+919876543210"), "{text}");
}

#[tokio::test]
async fn a_download_sends_its_length_name_digest_and_type() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211"]);
    let (export, download) = export_and_download(&t, json!({"kind": "users"})).await;
    let headers = download.headers().clone();
    let body = download.bytes().await.unwrap();
    let file = &export["file"];
    let name = file["name"].as_str().unwrap();
    assert!(
        name.starts_with("users-") && name.ends_with(".csv"),
        "{name}"
    );
    assert_eq!(headers["content-length"], body.len().to_string().as_str());
    assert_eq!(file["size"], body.len());
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}").as_str()
    );
    let digest = Sha256::digest(&body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(file["sha256"], hex.as_str());
    assert_eq!(
        headers["repr-digest"],
        format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
        .as_str()
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn the_history_lists_each_export_with_who_asked_its_counts_size_and_expiry() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    let (first, _) = export_and_download(&t, json!({"kind": "users"})).await;
    let (second, _) = export_and_download(&t, json!({"kind": "users", "retention_days": 1})).await;
    let history: Value = t
        .get(
            &format!("/api/v1/orgs/{}/exports?kind=users", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["total"], 2, "{history}");
    let items = history["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], second["id"], "newest first");
    assert_eq!(items[1]["id"], first["id"]);
    for item in items {
        assert_eq!(item["kind"], "export_users");
        assert_eq!(item["label"], "Completed");
        assert!(item["created_by"].as_str().unwrap().starts_with("token:"));
        assert_eq!(item["counts"]["exported"], 1);
        assert!(item["duration_ms"].as_i64().is_some());
        assert!(item["file"]["size"].as_u64().unwrap() > 0);
        assert_eq!(item["file"]["expired"], false);
    }
    let expiry = |item: &Value| {
        chrono::DateTime::parse_from_rfc3339(item["file"]["expires_at"].as_str().unwrap()).unwrap()
    };
    let finished = |item: &Value| {
        chrono::DateTime::parse_from_rfc3339(item["finished_at"].as_str().unwrap()).unwrap()
    };
    assert_eq!(
        (expiry(&items[1]) - finished(&items[1])).num_days(),
        7,
        "kept 7 days by default"
    );
    assert_eq!((expiry(&items[0]) - finished(&items[0])).num_days(), 1);
    let tenant: Value = t
        .get(
            &format!("/api/v1/orgs/{}/exports?kind=tenant", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tenant["total"], 0);
    let audit: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=export.users", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

#[tokio::test]
async fn group_admins_and_members_may_not_export_and_another_org_sees_nothing() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211"]);
    t.group_with("+919876543210", &["+919876543211"]);
    let path = format!("/api/v1/orgs/{}/exports", t.org);
    let group_admin = t.member_session("+919876543210").await;
    let member = t.member_session("+919876543211").await;
    for token in [&t.member, &group_admin, &member] {
        for body in [json!({"kind": "users"}), json!({"kind": "tenant"})] {
            let refused = t.send("POST", &path, token, body).await;
            problem(refused, StatusCode::FORBIDDEN).await;
        }
        problem(
            t.get(&path, token).send().await.unwrap(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let (export, _) = export_and_download(&t, json!({"kind": "users"})).await;
    let id = export["id"].as_str().unwrap();
    for suffix in ["", "/download", "/errors.csv"] {
        let theirs = t
            .get(
                &format!("/api/v1/orgs/{}/exports/{id}{suffix}", t.other_org),
                &t.other_admin,
            )
            .send()
            .await
            .unwrap();
        problem(theirs, StatusCode::NOT_FOUND).await;
        let across = t
            .get(
                &format!("/api/v1/orgs/{}/exports/{id}{suffix}", t.org),
                &t.other_admin,
            )
            .send()
            .await
            .unwrap();
        problem(across, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn an_expired_export_answers_gone_and_its_file_is_deleted_while_the_history_keeps_it() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    let (export, download) = export_and_download(&t, json!({"kind": "users"})).await;
    assert_eq!(download.status(), StatusCode::OK);
    let id = export["id"].as_str().unwrap();
    let blob = t
        .data_dir()
        .join("blobs/orgs")
        .join(t.org.to_string())
        .join("exports")
        .join(id)
        .join(export["file"]["name"].as_str().unwrap());
    assert!(blob.is_file(), "{}", blob.display());

    // A day short of the retention, the file is still offered.
    t.clock.advance(chrono::Duration::days(6));
    let still = t
        .get(
            &format!("/api/v1/orgs/{}/exports/{id}/download", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);

    t.clock.advance(chrono::Duration::days(1));
    let mut detail = Value::Null;
    for _ in 0..400 {
        detail = t
            .get(&format!("/api/v1/orgs/{}/exports/{id}", t.org), &t.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if detail["file"]["deleted_at"] != Value::Null {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_ne!(
        detail["file"]["deleted_at"],
        Value::Null,
        "the worker deletes it: {detail}"
    );
    assert_eq!(detail["file"]["expired"], true);
    assert_eq!(detail["label"], "Expired");
    assert_eq!(detail["status"], "completed", "the job's own status stays");
    assert!(!blob.exists(), "the blob is gone");
    let gone = t
        .get(
            &format!("/api/v1/orgs/{}/exports/{id}/download", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    let body = problem(gone, StatusCode::GONE).await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let history: Value = t
        .get(&format!("/api/v1/orgs/{}/exports", t.org), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["total"], 1);
    assert_eq!(history["items"][0]["label"], "Expired");
}

#[tokio::test]
async fn the_error_log_lists_rows_that_would_not_import_again() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211"]);
    // The schema makes Department mandatory after the users were stored.
    let response = t
        .send(
            "PUT",
            &format!("/api/v1/orgs/{}/attributes", t.org),
            &t.admin,
            json!({"attributes": [{"key": "department", "name": "Department", "type": "string", "mandatory": true}], "force": true}),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    let (export, _) = export_and_download(&t, json!({"kind": "users"})).await;
    assert_eq!(export["status"], "completed_with_errors", "{export}");
    assert_eq!(export["counts"], json!({"exported": 2, "warnings": 2}));
    let id = export["id"].as_str().unwrap();
    let errors = t
        .get(
            &format!("/api/v1/orgs/{}/exports/{id}/errors.csv", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(errors.status(), StatusCode::OK);
    let text = errors.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Row,Column,Value,Reason");
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].starts_with("2,Department,,Department is mandatory"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_export_requests_name_the_field_and_why() {
    let t = spawn_app().await;
    let path = format!("/api/v1/orgs/{}/exports", t.org);
    for (body, field) in [
        (json!({"kind": "everything"}), "kind"),
        (json!({"kind": "users", "format": "pdf"}), "format"),
        (
            json!({"kind": "users", "filter": {"nope": "x"}}),
            "filter.nope",
        ),
        (
            json!({"kind": "users", "filter": {"limit": "5"}}),
            "filter.limit",
        ),
        (
            json!({"kind": "users", "retention_days": 0}),
            "retention_days",
        ),
        (
            json!({"kind": "users", "retention_days": 91}),
            "retention_days",
        ),
    ] {
        let response = t.send("POST", &path, &t.admin, body.clone()).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let history = t
        .get(&format!("{path}?kind=nope"), &t.admin)
        .send()
        .await
        .unwrap();
    problem(history, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn an_xlsx_export_is_a_workbook_offered_with_its_type() {
    let t = spawn_app().await;
    hostile_users(&t).await;
    let (export, download) =
        export_and_download(&t, json!({"kind": "users", "format": "xlsx"})).await;
    assert_eq!(export["status"], "completed", "{export}");
    assert_eq!(
        download.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let body = download.bytes().await.unwrap();
    assert!(body.starts_with(b"PK\x03\x04"), "a zip container");
    assert!(export["file"]["name"].as_str().unwrap().ends_with(".xlsx"));
}

#[tokio::test]
async fn a_tenant_export_is_a_zip_whose_manifest_an_independent_reader_confirms() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211"]);
    t.group_with("+919876543210", &["+919876543211"]);
    let (export, download) = export_and_download(
        &t,
        json!({"kind": "tenant", "scope": {"kinds": ["users", "groups", "memberships"]}}),
    )
    .await;
    assert_eq!(export["status"], "completed", "{export}");
    assert_eq!(download.headers()["content-type"], "application/zip");
    let bytes = download.bytes().await.unwrap();
    let files = unzip(&bytes);
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{manifest}");
    for file in listed {
        let content = &files[file["name"].as_str().unwrap()];
        let hex: String = Sha256::digest(content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(file["sha256"], hex.as_str(), "{file}");
        assert_eq!(file["bytes"], content.len());
    }
    assert_eq!(export["counts"]["files"], 3);
}

#[tokio::test]
async fn a_tenant_export_on_a_plan_without_it_is_a_plan_problem_not_a_role_problem() {
    let t = spawn_app().await;
    steward_app::plans::set_plan(
        &t.app,
        &steward_app::audit::AuditContext::cli(),
        t.org,
        steward_domain::Plan::Free,
    )
    .unwrap();
    let path = format!("/api/v1/orgs/{}/exports", t.org);
    let plan = t
        .send("POST", &path, &t.admin, json!({"kind": "tenant"}))
        .await;
    let plan = problem(plan, StatusCode::FORBIDDEN).await;
    assert_ne!(plan["type"], "about:blank", "{plan}");
    assert!(
        plan["detail"].as_str().unwrap().contains("standard"),
        "{plan}"
    );
    let role = t
        .send("POST", &path, &t.member, json!({"kind": "tenant"}))
        .await;
    let role = problem(role, StatusCode::FORBIDDEN).await;
    assert_ne!(
        role["type"], plan["type"],
        "a missing role is another problem"
    );
    // Users exports are on every plan.
    request_export(&t, json!({"kind": "users"})).await;
}

#[tokio::test]
async fn a_member_exports_their_own_data_and_only_they_can_download_it() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211"]);
    t.group_with("+919876543210", &["+919876543211"]);
    let asha = t.member_session("+919876543210").await;
    let ravi = t.member_session("+919876543211").await;
    let response = t
        .client
        .post(t.url("/api/v1/me/export"))
        .bearer_auth(&asha)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let queued: Value = response.json().await.unwrap();
    assert_eq!(queued["total"], 1, "one org: {queued}");
    let id = queued["items"][0]["id"].as_str().unwrap().to_owned();
    let export = finished_export(&t, &id).await;
    assert_eq!(export["status"], "completed", "{export}");
    assert_eq!(export["created_by"], "user:+919876543210");

    let own = format!("/api/v1/me/exports/{id}/download");
    let download = t.get(&own, &asha).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let files = unzip(&download.bytes().await.unwrap());
    let users = String::from_utf8(files["users.csv"].clone()).unwrap();
    assert!(users.contains("919876543210"), "{users}");
    for (name, content) in &files {
        assert!(
            !String::from_utf8_lossy(content).contains("919876543211"),
            "{name} holds no other person's phone"
        );
    }
    // Nobody else: another member, the org admin's token, another org.
    problem(
        t.get(&own, &ravi).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        t.get(&own, &t.admin).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let admin = t
        .get(
            &format!("/api/v1/orgs/{}/exports/{id}/download", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    problem(admin, StatusCode::FORBIDDEN).await;
    let token = t
        .client
        .post(t.url("/api/v1/me/export"))
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap();
    problem(token, StatusCode::FORBIDDEN).await;
}
