//! The HTTP API, tested against the real server on port 0 with a real store on disk
//! and a real job worker.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::Value;
use steward_app::worker::{Worker, WorkerConfig};
use steward_app::clock::ManualClock;
use steward_app::{App, orgs, security, tokens};
use steward_domain::{
    AttributeChanges, OrgId, PersonName, PhoneNumber, Role, UserSource, UserUpsert,
};
use steward_store::LocalBlobStore;
use steward_store_sqlite::SqliteStore;

struct TestApp {
    base: String,
    app: App,
    clock: Arc<ManualClock>,
    org: OrgId,
    admin: String,
    other_org: OrgId,
    other_admin: String,
    member: String,
    client: reqwest::Client,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let blobs = LocalBlobStore::open(dir.path().join("blobs")).unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = App::new(Arc::new(store), Arc::new(blobs), clock.clone());
    let org = orgs::create_org(&app, "Contoso", "IN").unwrap();
    let other = orgs::create_org(&app, "Fabrikam", "US").unwrap();
    let admin = tokens::create_token(&app, org.id, Role::OrgAdmin, "t", None)
        .unwrap()
        .1;
    let other_admin = tokens::create_token(&app, other.id, Role::OrgAdmin, "t", None)
        .unwrap()
        .1;
    let member = tokens::create_token(&app, org.id, Role::Member, "t", None)
        .unwrap()
        .1;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(steward_web::serve(
        app.clone(),
        Arc::new(steward_web::Security::default()),
        listener,
        std::future::pending(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let config = WorkerConfig {
        poll: Duration::from_millis(20),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(app.clone(), config, stop.clone());
    std::thread::spawn(move || worker.run());

    TestApp {
        base,
        app,
        clock,
        org: org.id,
        admin,
        other_org: other.id,
        other_admin,
        member,
        client: reqwest::Client::new(),
        stop,
        _dir: dir,
    }
}

impl TestApp {
    fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    fn add_users(&self, phones: &[&str]) {
        let rows: Vec<_> = phones
            .iter()
            .map(|p| UserUpsert {
                phone: PhoneNumber::from_e164(p).unwrap(),
                name: PersonName::parse("Test Person").unwrap(),
                source: UserSource::Api,
                attributes: AttributeChanges::new(),
            })
            .collect();
        self.app
            .store
            .upsert_users(self.org, &rows, Utc::now())
            .unwrap();
    }
}

async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    body
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let t = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = t
            .client
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let t = spawn_app().await;
    let response = t
        .client
        .get(format!("{}/healthz", t.base))
        .send()
        .await
        .unwrap();
    assert!(!response.headers()["x-request-id"].is_empty());
    let response = t
        .client
        .get(format!("{}/healthz", t.base))
        .header("x-request-id", "trace-me")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me");
}

#[tokio::test]
async fn listing_users_without_a_token_is_401_problem_json() {
    let t = spawn_app().await;
    let url = format!("{}/api/v1/orgs/{}/users", t.base, t.org);
    let response = t.client.get(url).send().await.unwrap();
    let body = problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(body["detail"].as_str().unwrap().contains("Bearer"));
    let response = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), "stw_bogus")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn another_orgs_users_answer_404_like_a_missing_org() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    let theirs = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &t.other_admin)
        .send()
        .await
        .unwrap();
    let missing = t
        .get(
            &format!("/api/v1/orgs/{}/users", OrgId::new()),
            &t.other_admin,
        )
        .send()
        .await
        .unwrap();
    let a = problem(theirs, StatusCode::NOT_FOUND).await;
    let b = problem(missing, StatusCode::NOT_FOUND).await;
    assert_eq!(a, b, "nothing tells another org's id from a missing one");
    let own = t
        .get(
            &format!("/api/v1/orgs/{}/users", t.other_org),
            &t.other_admin,
        )
        .send()
        .await
        .unwrap();
    let page: Value = own.json().await.unwrap();
    assert_eq!(page["total"], 0);
}

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
async fn unknown_paths_are_404_problem_json() {
    let t = spawn_app().await;
    let response = t
        .client
        .get(format!("{}/nope", t.base))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::NOT_FOUND).await;
}

fn urlencode(raw: &str) -> String {
    raw.replace('+', "%2B")
}
