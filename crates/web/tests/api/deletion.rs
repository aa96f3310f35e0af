//! "Delete company data": the safeguards, access ending at once, the background
//! deletion that leaves no byte of the org in the data directory, the receipt, and a
//! canary org that stays exactly as it was.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use steward_app::Clock;
use steward_domain::{Counts, Job, JobId, JobKind, JobStatus, Progress};
use steward_store::prelude::*;
use steward_store::{JobCheckpoint, JobEnd, JobLease};

use crate::helpers::{PASSWORD, TestApp, problem, spawn_app, spawn_app_with};

fn deletion(t: &TestApp) -> String {
    format!("/api/v1/orgs/{}/deletion", t.org)
}

/// An admin's cookie session: the cookie, its CSRF token.
async fn admin(t: &TestApp, email: &str) -> (String, String) {
    t.add_admin(email);
    t.admin_session(email).await
}

async fn delete_with_session(
    t: &TestApp,
    (cookie, csrf): &(String, String),
    body: Value,
) -> reqwest::Response {
    t.client
        .post(t.url(&deletion(t)))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Follows a deletion with its status key until it ends.
async fn finished(t: &TestApp, key: &str) -> Value {
    for _ in 0..600 {
        let status: Value = t
            .get(&deletion(t), key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["finished_at"] != Value::Null {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the deletion did not finish");
}

#[tokio::test]
async fn only_an_org_admin_who_types_the_name_and_proves_it_again_can_delete_company_data() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211"]);
    t.group_with("+919876543210", &["+919876543211"]);
    let group_admin = t.member_session("+919876543210").await;
    let body = json!({"confirm_name": "Contoso", "skip_final_export": true});

    for token in [&t.member, &group_admin] {
        let refused = problem(
            t.send("POST", &deletion(&t), token, body.clone()).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(
            refused["detail"],
            "deleting company data needs the org-admin role"
        );
    }
    let token = problem(
        t.send("POST", &deletion(&t), &t.admin, body.clone()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        token["detail"].as_str().unwrap().contains("API token"),
        "{token}"
    );

    let session = admin(&t, "ada@contoso.example").await;
    let no_password = problem(
        delete_with_session(&t, &session, body.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(no_password["errors"][0]["field"], "password");
    let wrong_name = problem(
        delete_with_session(
            &t,
            &session,
            json!({"confirm_name": "contoso", "password": PASSWORD, "skip_final_export": true}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong_name["errors"][0]["field"], "confirm_name");
    problem(
        delete_with_session(
            &t,
            &session,
            json!({"confirm_name": "Contoso", "password": "not the password", "skip_final_export": true}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // Nothing happened: the org answers as before.
    let users = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &t.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK);
    let ready: Value = t
        .get(&deletion(&t), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "not_requested");
}

/// A tenant export job of the org that finished at `at`.
fn finished_tenant_export(t: &TestApp, at: chrono::DateTime<Utc>) {
    let job = Job {
        id: JobId::new(),
        org_id: t.org,
        kind: JobKind::ExportTenant,
        status: JobStatus::Queued,
        file_name: Some("tenant.zip".into()),
        created_by: "cli".into(),
        created_at: at,
        started_at: None,
        finished_at: None,
        progress: Progress::default(),
        counts: Counts::default(),
        payload: json!({}),
        checkpoint: None,
        attempts: 0,
        cancel_requested: false,
        error: None,
    };
    t.store.enqueue_job(&job).unwrap();
    t.store
        .claim_job(Some(job.id), "test", at, at + chrono::Duration::minutes(1))
        .unwrap()
        .unwrap();
    let lease = JobLease {
        job_id: job.id,
        org_id: t.org,
        worker_id: "test".into(),
    };
    let end = JobEnd {
        status: JobStatus::Completed,
        error: None,
        checkpoint: JobCheckpoint::default(),
    };
    t.store.finish_job(&lease, &end, at).unwrap();
}

#[tokio::test]
async fn a_deletion_waits_for_pending_jobs_and_a_recent_tenant_export() {
    // No worker: the import stays queued.
    let t = spawn_app_with(|config| config.workers = 0).await;
    let session = admin(&t, "ada@contoso.example").await;
    let import: Value = t
        .client
        .post(t.url(&format!("/api/v1/orgs/{}/imports", t.org)))
        .bearer_auth(&t.admin)
        .body("Phone Number,Name\n+919876543210,Asha Rao\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let import = import["id"].as_str().unwrap();
    let body = json!({"confirm_name": "Contoso", "password": PASSWORD});

    let blocked = problem(
        delete_with_session(&t, &session, body.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(blocked["jobs"][0]["id"], import, "{blocked}");
    assert_eq!(blocked["jobs"][0]["status"], "queued");
    let cancel = blocked["jobs"][0]["cancel"].as_str().unwrap();
    assert_eq!(
        cancel,
        format!("POST /api/v1/orgs/{}/jobs/{import}/cancel", t.org)
    );
    assert_eq!(
        blocked["jobs"][0]["cancel_command"],
        format!("steward jobs cancel {import}")
    );
    let ready: Value = t
        .get(&deletion(&t), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["pending_jobs"][0]["id"], import);

    let canceled = t
        .send(
            "POST",
            cancel.trim_start_matches("POST "),
            &t.admin,
            json!({}),
        )
        .await;
    assert_eq!(canceled.status(), StatusCode::OK);
    assert_eq!(
        canceled.json::<Value>().await.unwrap()["status"],
        "canceled"
    );

    // No tenant export yet, then one 25 hours old: both refused.
    for old in [None, Some(chrono::Duration::hours(25))] {
        if let Some(age) = old {
            finished_tenant_export(&t, t.clock.now() - age);
        }
        let no_export = problem(
            delete_with_session(&t, &session, body.clone()).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert!(
            no_export["detail"]
                .as_str()
                .unwrap()
                .contains("skip_final_export"),
            "{no_export}"
        );
    }
    finished_tenant_export(&t, t.clock.now() - chrono::Duration::hours(2));
    let started = delete_with_session(&t, &session, body).await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let started: Value = started.json().await.unwrap();
    assert!(
        started["deletion"]["events"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("tenant export finished"),
        "{started}"
    );
}

/// Text that appears nowhere but in what the test stores.
fn marker(what: &str) -> String {
    format!("zq{what}{}", uuid::Uuid::now_v7().simple())
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

/// Everything the API shows of the canary org, read with its org-admin token.
async fn full_read(t: &TestApp, org: steward_domain::OrgId, token: &str) -> Value {
    let base = format!("/api/v1/orgs/{org}");
    let read = |path: String| async move {
        let response = t.get(&path, token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json::<Value>().await.unwrap()
    };
    let groups = read(format!("{base}/groups")).await;
    let mut per_group = Vec::new();
    for group in groups["items"].as_array().unwrap() {
        let id = group["id"].as_str().unwrap();
        per_group.push(read(format!("{base}/groups/{id}")).await);
        per_group.push(read(format!("{base}/groups/{id}/messages?limit=500")).await);
    }
    json!({
        "users": read(format!("{base}/users?limit=1000")).await,
        "attributes": read(format!("{base}/attributes")).await,
        "groups": groups,
        "per_group": per_group,
        "actions": read(format!("{base}/actions")).await,
        "connectors": read(format!("{base}/connectors")).await,
        "reports": read(format!("{base}/reports")).await,
        "audit": read(format!("{base}/audit?limit=1000")).await,
        "imports": read(format!("{base}/imports")).await,
        "tokens": read(format!("{base}/tokens")).await,
    })
}

/// An org with people, a group, a message with an attachment, a connector, an
/// imported file and a member session, each holding a marker; answers the markers.
async fn fill(
    t: &TestApp,
    org: steward_domain::OrgId,
    token: &str,
    phones: [&str; 2],
) -> Vec<String> {
    let base = format!("/api/v1/orgs/{org}");
    let (person, file_person, body, attachment, connector) = (
        marker("person"),
        marker("fileperson"),
        marker("message"),
        marker("attachment"),
        marker("connector"),
    );
    let csv = format!(
        "Phone Number,Name\n{},{person}\n{},{file_person}\n",
        phones[0], phones[1]
    );
    let import: Value = t
        .client
        .post(t.url(&format!("{base}/imports?file_name=people.csv")))
        .bearer_auth(token)
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = import["id"].as_str().unwrap();
    for _ in 0..400 {
        let job: Value = t
            .get(&format!("{base}/imports/{id}"), token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["finished_at"] != Value::Null {
            assert_eq!(job["status"], "completed", "{job}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let group: Value = t
        .send(
            "POST",
            &format!("{base}/groups"),
            token,
            json!({"name": "Field Sales"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let group = group["id"].as_str().unwrap().to_owned();
    for (phone, role) in [(phones[0], "admin"), (phones[1], "member")] {
        let added = t
            .send(
                "POST",
                &format!("{base}/groups/{group}/members"),
                token,
                json!({"phone": phone, "role": role}),
            )
            .await;
        assert!(
            added.status().is_success(),
            "{}",
            added.text().await.unwrap()
        );
    }
    let member = t.member_session(phones[0]).await;
    let message: Value = t
        .send(
            "POST",
            &format!("{base}/groups/{group}/messages"),
            &member,
            json!({"text": body}),
        )
        .await
        .json()
        .await
        .unwrap();
    let message = message["id"].as_str().unwrap();
    let attached = t
        .client
        .post(t.url(&format!(
            "{base}/groups/{group}/messages/{message}/attachments?file_name=notes.txt"
        )))
        .bearer_auth(&member)
        .header("content-type", "text/plain")
        .body(attachment.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), StatusCode::CREATED);
    let made = t
        .send(
            "POST",
            &format!("{base}/connectors"),
            &member,
            json!({"name": connector, "config": {"feed": "x"}}),
        )
        .await;
    assert!(made.status().is_success(), "{}", made.text().await.unwrap());
    vec![person, file_person, body, attachment, connector]
}

#[tokio::test]
async fn deleting_company_data_ends_access_at_once_and_leaves_nothing_but_a_receipt() {
    let t = spawn_app().await;
    let doomed = fill(&t, t.org, &t.admin, ["+919876543210", "+919876543211"]).await;
    // The canary org shares a person with the doomed one: their sign-in stays.
    let canary = fill(
        &t,
        t.other_org,
        &t.other_admin,
        ["+14155550123", "+919876543211"],
    )
    .await;
    let member_of_doomed_only = t.member_session("+919876543210").await;
    let member_of_both = t.member_session("+919876543211").await;
    let session = admin(&t, "ada@contoso.example").await;
    // Every data file of a tenant export (all but the audit log and the jobs, which
    // record the export itself and are compared through the API).
    use steward_store::ArchiveKind;
    let data_kinds: Vec<&str> = ArchiveKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, ArchiveKind::Audit | ArchiveKind::Jobs))
        .map(ArchiveKind::as_str)
        .collect();
    let mut archive_before = t
        .tenant_archive(t.other_org, &t.other_admin, &data_kinds)
        .await;
    let before = full_read(&t, t.other_org, &t.other_admin).await;
    for text in &doomed {
        assert!(
            !files_holding(t.data_dir(), text).is_empty(),
            "{text} is stored before"
        );
    }

    let started = delete_with_session(
        &t,
        &session,
        json!({"confirm_name": "Contoso", "password": PASSWORD, "skip_final_export": true}),
    )
    .await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let started: Value = started.json().await.unwrap();
    let key = started["status_key"].as_str().unwrap().to_owned();
    assert_eq!(started["status_url"], deletion(&t));
    assert_eq!(started["deletion"]["counts"]["users"], 2, "{started}");
    assert_eq!(started["deletion"]["counts"]["connectors"], 1);

    // At once: every credential of the org has ended; the org is not found.
    let users = format!("/api/v1/orgs/{}/users", t.org);
    let cookie_read = t
        .client
        .get(t.url(&users))
        .header("cookie", &session.0)
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_read.status(), StatusCode::UNAUTHORIZED);
    for token in [&t.admin, &t.member, &member_of_doomed_only] {
        let response = t.get(&users, token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token}");
    }
    let groups = format!("/api/v1/orgs/{}/groups", t.org);
    let outsider = t.get(&groups, &member_of_both).send().await.unwrap();
    assert_eq!(outsider.status(), StatusCode::NOT_FOUND);
    let me: Value = t
        .get("/api/v1/me", &member_of_both)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["orgs"].as_array().unwrap().len(), 1, "{me}");
    assert_eq!(me["orgs"][0]["org_id"], t.other_org.to_string());
    // A wrong key reads nothing.
    let wrong = t.get(&deletion(&t), "sdk_wrong").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);

    let receipt = finished(&t, &key).await;
    assert_eq!(receipt["status"], "completed", "{receipt}");
    assert_eq!(receipt["progress"]["done"], 4);
    let counts = &receipt["counts"];
    assert_eq!(counts["users"], 2, "{receipt}");
    assert_eq!(counts["messages"], 1);
    assert_eq!(counts["removed_blobs"], 2, "the upload and the attachment");
    assert_eq!(counts["removed_phones"], 2);
    assert!(counts["removed_database_bytes"].as_u64().unwrap() > 0);
    assert_eq!(counts["removed_jobs"], 1, "the import");
    let steps: Vec<&str> = receipt["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "requested",
            "access_ended",
            "org_database_removed",
            "blobs_removed",
            "phones_forgotten",
            "completed"
        ]
    );
    assert_eq!(receipt["requested_by"], "account:ada@contoso.example");

    // No byte of the doomed org is left in any file of the data directory; the
    // canary's data is (the search works) and reads exactly as before.
    for text in doomed.iter().chain(["+919876543210".to_owned()].iter()) {
        assert_eq!(
            files_holding(t.data_dir(), text),
            Vec::<std::path::PathBuf>::new(),
            "{text}"
        );
    }
    assert!(!t.data_dir().join(format!("orgs/{}.db", t.org)).exists());
    assert!(!t.data_dir().join(format!("blobs/orgs/{}", t.org)).exists());
    for text in &canary {
        assert!(!files_holding(t.data_dir(), text).is_empty(), "{text}");
    }
    assert_eq!(full_read(&t, t.other_org, &t.other_admin).await, before);
    let mut archive_after = t
        .tenant_archive(t.other_org, &t.other_admin, &data_kinds)
        .await;
    // The manifest names its own export and time; every other file is byte-identical.
    assert!(archive_before.remove("manifest.json").is_some());
    assert!(archive_after.remove("manifest.json").is_some());
    assert!(
        archive_before.len() > data_kinds.len(),
        "attachments included"
    );
    assert!(
        archive_before == archive_after,
        "the canary's export changed"
    );
    let still = t.get("/api/v1/me", &member_of_both).send().await.unwrap();
    assert_eq!(still.status(), StatusCode::OK);
}
