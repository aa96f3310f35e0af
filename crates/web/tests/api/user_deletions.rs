//! Bulk user deletion: a CSV of phones deletes users as a job, with a dry run, a
//! history, an error log and a result file, like an import.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

async fn upload(t: &TestApp, csv: &str, dry_run: bool) -> Value {
    let response = t
        .client
        .post(t.url(&format!(
            "/api/v1/orgs/{}/users/deletions?file_name=leavers.csv&dry_run={dry_run}",
            t.org
        )))
        .bearer_auth(&t.admin)
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["kind"], "delete_users");
    let id = job["id"].as_str().unwrap().to_owned();
    for _ in 0..400 {
        let job: Value = t
            .get(
                &format!("/api/v1/orgs/{}/users/deletions/{id}", t.org),
                &t.admin,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["finished_at"] != Value::Null {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the deletion did not finish");
}

async fn text(t: &TestApp, path: String) -> String {
    let response = t.get(&path, &t.admin).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

async fn status_of(t: &TestApp, phone: &str) -> Value {
    let user: Value = t
        .get(
            &format!("/api/v1/orgs/{}/users/{}", t.org, phone.replace('+', "%2B")),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    user["status"].clone()
}

#[tokio::test]
async fn a_csv_of_phones_deletes_users_as_a_job_after_a_dry_run_with_error_log_and_result_file() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211", "+919876543212"]);
    let csv = "Phone Number,Note\n+919876543210,left in May\n98765 43211,left in June\n+14155550199,never here\nnot a phone,typo\n";

    let dry = upload(&t, csv, true).await;
    assert_eq!(dry["status"], "completed_with_errors", "{dry}");
    assert_eq!(dry["options"]["dry_run"], true);
    assert_eq!(
        (
            dry["counts"]["deleted"].as_u64(),
            dry["counts"]["failed"].as_u64()
        ),
        (Some(2), Some(2)),
        "{dry}"
    );
    assert_eq!(
        status_of(&t, "+919876543210").await,
        "active",
        "a dry run deletes no one"
    );

    let job = upload(&t, csv, false).await;
    assert_eq!(job["status"], "completed_with_errors", "{job}");
    assert_eq!(job["counts"]["deleted"], 2);
    assert_eq!(job["counts"]["failed"], 2);
    assert_eq!(job["progress"]["done"], 4);
    for phone in ["+919876543210", "+919876543211"] {
        assert_eq!(status_of(&t, phone).await, "deleted", "{phone}");
    }
    assert_eq!(status_of(&t, "+919876543212").await, "active");

    let base = format!("/api/v1/orgs/{}/users/deletions", t.org);
    let id = job["id"].as_str().unwrap();
    let errors = text(&t, format!("{base}/{id}/errors.csv")).await;
    assert!(
        errors.contains("4,Phone Number,'+14155550199,no user of the org has this phone"),
        "{errors}"
    );
    assert!(errors.contains("5,Phone Number,not a phone,"), "{errors}");
    let result = text(&t, format!("{base}/{id}/result.csv")).await;
    let lines: Vec<&str> = result.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "Phone Number,Note,Import Status,Import Message");
    assert!(
        lines[1].starts_with("'+919876543210,left in May,deleted,"),
        "{result}"
    );
    assert!(
        lines[3].contains(",failed,Phone Number: no user"),
        "{result}"
    );

    // Again: the deleted ones are already deleted, nobody is deleted twice.
    let again = upload(&t, csv, false).await;
    assert_eq!(again["counts"]["already_deleted"], 2, "{again}");
    assert_eq!(again["counts"]["deleted"], 0);

    let history: Value = t
        .get(&base, &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["total"], 3);
    assert_eq!(history["items"][0]["file_name"], "leavers.csv");
    // Org admins only; an import's route does not show it.
    let member = t.get(&base, &t.member).send().await.unwrap();
    assert_eq!(member.status(), StatusCode::FORBIDDEN);
    let as_import = t
        .get(&format!("/api/v1/orgs/{}/imports/{id}", t.org), &t.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(as_import.status(), StatusCode::NOT_FOUND);
}
