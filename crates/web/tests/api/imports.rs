//! CSV imports: uploads, background jobs, mappings, dry runs, idempotency and their files.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use steward_store::{JobStore, UserStore};

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn an_uploaded_csv_is_imported_in_the_background_with_a_downloadable_error_log() {
    let t = spawn_app().await;
    let csv = "\u{feff}Phone Number;Name\r\n+91 98765 43210;Asha Rao\r\n98765 43211;Ravi\r\n12;Nobody\r\n";
    let response = t
        .client
        .post(format!(
            "{}/api/v1/orgs/{}/imports?file_name=people.csv",
            t.base, t.org
        ))
        .bearer_auth(&t.admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    assert_eq!(
        (job["status"].as_str(), job["file_name"].as_str()),
        (Some("queued"), Some("people.csv"))
    );
    let id = job["id"].as_str().unwrap().to_owned();

    let mut done = Value::Null;
    for _ in 0..200 {
        done = t
            .get(&format!("/api/v1/orgs/{}/imports/{id}", t.org), &t.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if done["finished_at"] != Value::Null {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(done["status"], "completed_with_errors", "{done}");
    assert_eq!(done["counts"]["created"], 2);
    assert_eq!(done["counts"]["failed"], 1);
    assert_eq!(done["progress"]["done"], 3);

    let errors = t
        .get(
            &format!("/api/v1/orgs/{}/imports/{id}/errors.csv", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(errors.status(), StatusCode::OK);
    let text = errors.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Row,Column,Value,Reason"));
    let line = lines.next().unwrap();
    assert!(line.starts_with("4,Phone Number,12,"), "{line}");

    // The other org sees none of it.
    let theirs = t
        .get(
            &format!("/api/v1/orgs/{}/imports/{id}", t.other_org),
            &t.other_admin,
        )
        .send()
        .await
        .unwrap();
    problem(theirs, StatusCode::NOT_FOUND).await;
    let history: Value = t
        .get(&format!("/api/v1/orgs/{}/imports", t.org), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["total"], 1);
}

#[tokio::test]
async fn a_form_upload_with_a_mapping_dry_runs_and_offers_its_files() {
    let t = spawn_app().await;
    let csv = "Mobile Phone,Display Name,Fax\n+91 98765 43210,Asha Rao,1\n12,Bad,2\n";
    let form = reqwest::multipart::Form::new()
        .text("dry_run", "true")
        .text("mapping", "m365")
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("m365 users.csv"),
        );
    let response = t
        .client
        .post(format!("{}/api/v1/orgs/{}/imports", t.base, t.org))
        .bearer_auth(&t.admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["file_name"], "m365 users.csv");
    assert_eq!(job["options"]["dry_run"], true);
    let id = job["id"].as_str().unwrap().to_owned();
    let done = t.finished_import(&id).await;
    assert_eq!(
        (&done["counts"]["created"], &done["counts"]["failed"]),
        (&Value::from(1), &Value::from(1)),
        "{done}"
    );
    assert!(done["duration_ms"].as_i64().is_some(), "{done}");
    let users: Value = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["total"], 0, "a dry run writes no user");

    let (headers, original) = t.download(&format!("{id}/original")).await;
    assert_eq!(original, csv);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"m365 users.csv\"")
    );
    let (_, result) = t.download(&format!("{id}/result.csv")).await;
    assert!(result.contains("Asha Rao,1,would create,"), "{result}");
    assert!(result.contains("12,Bad,2,failed,"), "{result}");
    let (headers, template) = t.download("template.csv").await;
    assert_eq!(template, "\u{feff}Phone Number,Name\n");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn an_upload_repeated_with_its_idempotency_key_gives_back_the_same_job() {
    let t = spawn_app().await;
    let send = |key: &'static str, body: &'static str| {
        t.client
            .post(format!("{}/api/v1/orgs/{}/imports", t.base, t.org))
            .bearer_auth(&t.admin)
            .header("idempotency-key", key)
            .body(body)
            .send()
    };
    let first: Value = send("k1", "Phone,Name\n+919876543210,Asha\n")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again = send("k1", "Phone,Name\n+919876543210,Asha\n")
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let other = send("k1", "Phone,Name\n+919876543211,Ravi\n")
        .await
        .unwrap();
    let body = problem(other, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("another file"));
    let history: Value = t
        .get(&format!("/api/v1/orgs/{}/imports", t.org), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["total"], 1);
}

#[tokio::test]
async fn an_unknown_mapping_name_is_refused_naming_the_presets() {
    let t = spawn_app().await;
    let response = t
        .client
        .post(format!(
            "{}/api/v1/orgs/{}/imports?mapping=nope",
            t.base, t.org
        ))
        .bearer_auth(&t.admin)
        .body("Phone,Name\n")
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("m365"),
        "{body}"
    );
}

#[tokio::test]
async fn a_failure_on_our_side_answers_500_with_nothing_internal_in_the_body() {
    let t = spawn_app().await;
    let response = t
        .client
        .post(format!("{}/api/v1/orgs/{}/imports", t.base, t.org))
        .bearer_auth(&t.admin)
        .body("Phone Number,Name\r\n+919876543210,Asha Rao\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    t.finished_import(&id).await;
    // The stored upload turns unreadable under the server (a disk fault, say).
    let stored = t
        .store
        .get_job(t.org, id.parse().unwrap())
        .unwrap()
        .unwrap();
    let blob = t
        .data_dir()
        .join("blobs")
        .join(stored.payload["blob"].as_str().unwrap());
    std::fs::remove_file(&blob).unwrap();
    std::fs::create_dir(&blob).unwrap();

    let response = t
        .get(
            &format!("/api/v1/orgs/{}/imports/{id}/result.csv", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::INTERNAL_SERVER_ERROR).await;
    let text = body.to_string();
    assert_eq!(body["title"], "Internal error");
    for internal in ["blobs", "orgs/", "original", "os error", "directory"] {
        assert!(!text.contains(internal), "{internal:?} leaked: {text}");
    }
}

#[tokio::test]
async fn a_hostile_upload_file_name_is_kept_as_data_and_downloaded_under_a_safe_name() {
    let t = spawn_app().await;
    let name = "a\r\nSet-Cookie: x=1\u{1b}[31m\u{202e}vsc.exe";
    let encoded: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
    let response = t
        .client
        .post(t.url(&format!(
            "/api/v1/orgs/{}/imports?file_name={encoded}",
            t.org
        )))
        .bearer_auth(&t.admin)
        .header("content-type", "text/csv")
        .body("Phone Number,Name\n+919876543210,Asha\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["file_name"], name, "JSON keeps the name as sent");
    let id = job["id"].as_str().unwrap();
    let (headers, _) = t.download(&format!("{id}/original")).await;
    assert!(headers.get("set-cookie").is_none());
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    for hazard in ["%0D", "%0A", "%1B", "%E2%80%AE"] {
        assert!(!disposition.contains(hazard), "{disposition}");
    }
    assert!(disposition.contains("%EF%BF%BD"), "{disposition}");
    let long = "n".repeat(300);
    let response = t
        .client
        .post(t.url(&format!("/api/v1/orgs/{}/imports?file_name={long}", t.org)))
        .bearer_auth(&t.admin)
        .body("Phone Number,Name\n")
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "file_name");
}

/// Records of a CSV download, whatever its quoting.
fn records(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn a_workbook_is_recognized_by_its_content_and_imported_with_its_multi_line_cells() {
    let t = spawn_app().await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows: [[&str; 2]; 3] = [
        ["Phone Number", "Name"],
        ["+919876543210", "Asha\nRao"],
        ["12", "Bad\nPhone"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    // A phone Excel stored as a number.
    sheet.write_number(3, 0, 919876543211.0).unwrap();
    sheet.write_string(3, 1, "Ravi").unwrap();
    let bytes = book.save_to_buffer().unwrap();

    // As a form whose file is named .csv, and as a raw body: the content decides.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone()).file_name("people.csv"),
    );
    let as_form: Value = t
        .client
        .post(format!("{}/api/v1/orgs/{}/imports", t.base, t.org))
        .bearer_auth(&t.admin)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let done = t.finished_import(as_form["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed_with_errors", "{done}");
    assert_eq!(
        (&done["counts"]["created"], &done["counts"]["failed"]),
        (&Value::from(2), &Value::from(1)),
        "{done}"
    );
    let asha: Value = t
        .get(
            &format!("/api/v1/orgs/{}/users/%2B919876543210", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asha["name"], "Asha\nRao");
    let id = done["id"].as_str().unwrap();
    let (_, errors) = t.download(&format!("{id}/errors.csv")).await;
    let errors = records(&errors);
    assert_eq!(errors[1][..3], ["3", "Phone Number", "12"], "{errors:?}");
    let (headers, original) = t
        .client
        .get(t.url(&format!("/api/v1/orgs/{}/imports/{id}/original", t.org)))
        .bearer_auth(&t.admin)
        .send()
        .await
        .map(|r| (r.headers().clone(), r))
        .unwrap();
    assert_eq!(
        headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(original.bytes().await.unwrap().to_vec(), bytes);
    let (_, result) = t.download(&format!("{id}/result.csv")).await;
    let result = records(&result);
    assert_eq!(result[1][1..], ["Asha\nRao", "created", ""], "{result:?}");
    assert_eq!(result[3][0], "919876543211", "digits, never 9.19877E+11");

    let as_body: Value = t
        .client
        .post(format!("{}/api/v1/orgs/{}/imports", t.base, t.org))
        .bearer_auth(&t.admin)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again = t.finished_import(as_body["id"].as_str().unwrap()).await;
    assert_eq!(
        (&again["counts"]["unchanged"], &again["counts"]["failed"]),
        (&Value::from(2), &Value::from(1)),
        "{again}"
    );
}

#[tokio::test]
async fn a_workbook_too_big_to_read_in_bounded_memory_is_refused_with_413() {
    let t = crate::helpers::spawn_app_with(|config| {
        config.limits = steward_app::Limits {
            xlsx_in_memory_bytes: 4 * 1024,
            ..steward_app::Limits::default()
        }
    })
    .await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Phone Number").unwrap();
    sheet.write_string(0, 1, "Name").unwrap();
    for row in 1..500u32 {
        sheet
            .write_string(row, 0, format!("+9198765{row:05}"))
            .unwrap();
        sheet.write_string(row, 1, format!("Person {row}")).unwrap();
    }
    let response = t
        .client
        .post(format!("{}/api/v1/orgs/{}/imports", t.base, t.org))
        .bearer_auth(&t.admin)
        .body(book.save_to_buffer().unwrap())
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("4 KiB") && detail.contains("CSV UTF-8"),
        "{detail}"
    );
    let history: Value = t
        .get(&format!("/api/v1/orgs/{}/imports", t.org), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["total"], 0, "no job");
}

/// An API write that comes while an import runs takes its turn between the import's
/// steps: it completes while the job still has most of the file to write, instead of
/// waiting for the job to let go of the org's file.
#[tokio::test]
async fn an_api_write_during_an_import_completes_between_its_steps() {
    let t = spawn_app().await;
    // The org has users, so the import takes the usual path (not the bulk path of an
    // empty org, whose first step is large).
    t.add_users(&["+919800000000"]);
    let rows: u64 = 20_000;
    let mut csv = String::from("Phone Number,Name\n");
    for i in 1..=rows {
        csv.push_str(&format!("+9198{i:08},Person {i}\n"));
    }
    let job: Value = t
        .client
        .post(t.url(&format!(
            "/api/v1/orgs/{}/imports?file_name=people.csv",
            t.org
        )))
        .bearer_auth(&t.admin)
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job_url = format!(
        "/api/v1/orgs/{}/imports/{}",
        t.org,
        job["id"].as_str().unwrap()
    );
    let progress = || async {
        let job: Value = t
            .get(&job_url, &t.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        job
    };
    // Mid-way: a step is committed, most of the file is not.
    let mut job = progress().await;
    while job["progress"]["done"].as_u64().unwrap_or(0) == 0 {
        assert_eq!(job["finished_at"], Value::Null, "{job}");
        tokio::time::sleep(Duration::from_millis(5)).await;
        job = progress().await;
    }
    assert!(job["progress"]["done"].as_u64() < Some(rows / 2), "{job}");

    let created = t
        .client
        .post(t.url(&format!("/api/v1/orgs/{}/users", t.org)))
        .bearer_auth(&t.admin)
        .json(&serde_json::json!({"phone": "+919700000001", "name": "Walk In"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let renamed = t
        .client
        .patch(t.url(&format!("/api/v1/orgs/{}/users/%2B919800000000", t.org)))
        .bearer_auth(&t.admin)
        .json(&serde_json::json!({"name": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    let job = progress().await;
    assert_eq!(
        job["finished_at"],
        Value::Null,
        "the writes waited for the import: {job}"
    );
    assert!(job["progress"]["done"].as_u64() < Some(rows), "{job}");

    let mut job = progress().await;
    for _ in 0..2400 {
        if job["finished_at"] != Value::Null {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        job = progress().await;
    }
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["counts"]["created"].as_u64(), Some(rows), "{job}");
    assert_eq!(t.store.count_users(t.org).unwrap(), rows + 2);
}
