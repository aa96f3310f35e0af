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
use steward_app::clock::ManualClock;
use steward_app::worker::{Worker, WorkerConfig};
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

impl TestApp {
    /// Polls an import until it ends.
    async fn finished_import(&self, id: &str) -> Value {
        for _ in 0..400 {
            let job: Value = self
                .get(
                    &format!("/api/v1/orgs/{}/imports/{id}", self.org),
                    &self.admin,
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
        panic!("import {id} did not finish");
    }

    async fn download(&self, path: &str) -> (reqwest::header::HeaderMap, String) {
        let response = self
            .get(
                &format!("/api/v1/orgs/{}/imports/{path}", self.org),
                &self.admin,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        (response.headers().clone(), response.text().await.unwrap())
    }
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

// ---- Access control -------------------------------------------------------------------

use steward_domain::group::{Group, Membership};
use steward_domain::{GroupId, GroupName, GroupRole};

const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn add_admin(&self, email: &str) {
        security::add_admin(&self.app, self.org, email, Some(PASSWORD)).unwrap();
    }

    async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Signs an admin in; returns the cookie header value and the CSRF token.
    async fn admin_session(&self, email: &str) -> (String, String) {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        let pair = cookie.split(';').next().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        (pair, body["csrf_token"].as_str().unwrap().to_owned())
    }

    async fn otp_start(&self, phone: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/otp/start"))
            .json(&serde_json::json!({"phone": phone}))
            .send()
            .await
            .unwrap()
    }

    async fn otp_verify(&self, phone: &str, code: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/otp/verify"))
            .json(&serde_json::json!({"phone": phone, "code": code}))
            .send()
            .await
            .unwrap()
    }

    fn last_code(&self) -> Option<String> {
        let outbox = self.app.store.sms_outbox(1).unwrap();
        outbox.first().map(|m| {
            m.body
                .chars()
                .filter(char::is_ascii_digit)
                .take(6)
                .collect()
        })
    }

    /// Group A administered by `admin_phone`, with `member_phones` as members.
    fn group_with(&self, admin_phone: &str, member_phones: &[&str]) -> GroupId {
        let group = Group {
            id: GroupId::new(),
            org_id: self.org,
            parent_id: None,
            name: GroupName::parse("Field Sales").unwrap(),
            org_mapped: true,
            created_at: Utc::now(),
        };
        self.app
            .store
            .insert_groups(self.org, std::slice::from_ref(&group))
            .unwrap();
        let member = |phone: &str, role| {
            let user = self
                .app
                .store
                .get_user(self.org, &PhoneNumber::from_e164(phone).unwrap())
                .unwrap()
                .unwrap();
            Membership {
                org_id: self.org,
                group_id: group.id,
                user_id: user.id,
                role,
                joined_at: Utc::now(),
            }
        };
        let mut rows = vec![member(admin_phone, GroupRole::Admin)];
        rows.extend(member_phones.iter().map(|p| member(p, GroupRole::Member)));
        self.app.store.insert_memberships(self.org, &rows).unwrap();
        group.id
    }
}

#[tokio::test]
async fn an_admin_login_sets_a_locked_down_session_cookie_and_a_fresh_one_each_time() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let response = t.login("ADA@contoso.example", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("steward_session=sts_"), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "Secure only when configured for TLS"
    );
    let (first, _) = t.admin_session("ada@contoso.example").await;
    let (second, _) = t.admin_session("ada@contoso.example").await;
    assert_ne!(first, second, "every login gets a new session id");

    let me: Value = t
        .client
        .get(t.url("/api/v1/me"))
        .header("cookie", &first)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["kind"].as_str(), me["email"].as_str()),
        (Some("admin"), Some("ada@contoso.example"))
    );
    let users = t
        .client
        .get(t.url(&format!("/api/v1/orgs/{}/users", t.org)))
        .header("cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let unknown = problem(
        t.login("bob@contoso.example", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let wrong = problem(
        t.login("ada@contoso.example", "wrong password!!").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(unknown, wrong);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_even_for_the_right_password() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    for _ in 0..5 {
        assert_eq!(
            t.login("ada@contoso.example", "wrong password!!")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    problem(
        t.login("ada@contoso.example", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    t.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        t.login("ada@contoso.example", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn cookie_authenticated_writes_need_the_csrf_token() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let (cookie, csrf) = t.admin_session("ada@contoso.example").await;
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    let body = serde_json::json!({"label": "ci"});
    let without = t
        .client
        .post(&url)
        .header("cookie", &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem_body = problem(without, StatusCode::FORBIDDEN).await;
    assert!(
        problem_body["detail"]
            .as_str()
            .unwrap()
            .contains("x-csrf-token")
    );
    let wrong = t
        .client
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", "nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let with = t
        .client
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn sessions_end_at_logout_after_30_idle_minutes_and_after_12_hours() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let me = |cookie: String| {
        let request = t.client.get(t.url("/api/v1/me")).header("cookie", cookie);
        async move { request.send().await.unwrap().status() }
    };
    let (cookie, csrf) = t.admin_session("ada@contoso.example").await;
    let out = t
        .client
        .post(t.url("/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(cookie).await, StatusCode::UNAUTHORIZED);

    let (idle, _) = t.admin_session("ada@contoso.example").await;
    t.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(me(idle.clone()).await, StatusCode::OK);
    t.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(
        me(idle).await,
        StatusCode::UNAUTHORIZED,
        "idle for 31 minutes"
    );

    let (busy, _) = t.admin_session("ada@contoso.example").await;
    for _ in 0..(12 * 3 - 1) {
        t.clock.advance(chrono::Duration::minutes(20));
        assert_eq!(me(busy.clone()).await, StatusCode::OK);
    }
    t.clock.advance(chrono::Duration::minutes(20));
    assert_eq!(
        me(busy).await,
        StatusCode::UNAUTHORIZED,
        "12 hours after sign-in"
    );
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_at_once() {
    let t = spawn_app().await;
    let (account, _) =
        security::add_admin(&t.app, t.org, "ada@contoso.example", Some(PASSWORD)).unwrap();
    let (cookie, _) = t.admin_session("ada@contoso.example").await;
    t.app
        .store
        .disable_account(t.org, account.id, Utc::now())
        .unwrap();
    let me = t
        .client
        .get(t.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.login("ada@contoso.example", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_member_signs_in_with_a_code_and_sees_their_orgs_but_no_admin_work() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    let start = t.otp_start("+91 98765 43210").await;
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let start_body: Value = start.json().await.unwrap();
    let code = t.last_code().unwrap();
    assert_eq!(code.len(), 6);

    // A stranger's number gets the same answer, and no message.
    let stranger: Value = t.otp_start("+14155550123").await.json().await.unwrap();
    assert_eq!(stranger, start_body);
    assert_eq!(t.app.store.sms_outbox(10).unwrap().len(), 1);

    let verified = t.otp_verify("919876543210", &code).await;
    assert_eq!(verified.status(), StatusCode::OK);
    let token = verified.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me: Value = t
        .client
        .get(t.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["kind"], "member");
    assert_eq!(me["orgs"][0]["org_id"], t.org.to_string());
    let users = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &token)
        .send()
        .await
        .unwrap();
    problem(users, StatusCode::FORBIDDEN).await;
    let other = t
        .get(&format!("/api/v1/orgs/{}/users", t.other_org), &token)
        .send()
        .await
        .unwrap();
    problem(other, StatusCode::NOT_FOUND).await;
    let reused = t.otp_verify("+919876543210", &code).await;
    problem(reused, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_code_expires_after_10_minutes() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    t.otp_start("+919876543210").await;
    let code = t.last_code().unwrap();
    t.clock.advance(chrono::Duration::minutes(10));
    problem(
        t.otp_verify("+919876543210", &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn five_wrong_codes_burn_the_code() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    t.otp_start("+919876543210").await;
    let code = t.last_code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        problem(
            t.otp_verify("+919876543210", wrong).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    problem(
        t.otp_verify("+919876543210", &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn code_requests_are_throttled_per_phone() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210"]);
    for _ in 0..5 {
        assert_eq!(
            t.otp_start("+919876543210").await.status(),
            StatusCode::ACCEPTED
        );
    }
    problem(
        t.otp_start("+919876543210").await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
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
async fn tokens_are_shown_once_listed_with_last_use_and_revoked() {
    let t = spawn_app().await;
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    let created: Value = t
        .client
        .post(&url)
        .bearer_auth(&t.admin)
        .json(&serde_json::json!({"label": "sync"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("stw_") && secret.len() >= 4 + 32,
        "at least 128 random bits"
    );
    assert_eq!(
        t.get(&format!("/api/v1/orgs/{}/users", t.org), &secret)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let listed: Value = t
        .client
        .get(&url)
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == created["id"])
        .unwrap()
        .clone();
    assert!(entry["last_used_at"].is_string(), "{entry}");
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is never shown again"
    );
    let revoke = t
        .client
        .delete(format!("{url}/{}", created["id"].as_str().unwrap()))
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let after = t
        .get(&format!("/api/v1/orgs/{}/users", t.org), &secret)
        .send()
        .await
        .unwrap();
    problem(after, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn state_changes_are_audited_with_actor_request_id_and_ip() {
    let t = spawn_app().await;
    let url = t.url(&format!("/api/v1/orgs/{}/tokens", t.org));
    let created = t
        .client
        .post(&url)
        .bearer_auth(&t.admin)
        .header("x-request-id", "req-42")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let audit: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=token.create", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1, "{audit}");
    let entry = &audit["items"][0];
    assert!(entry["actor"].as_str().unwrap().starts_with("token:"));
    assert_eq!(
        (
            entry["request_id"].as_str(),
            entry["ip"].as_str(),
            entry["outcome"].as_str()
        ),
        (Some("req-42"), Some("127.0.0.1"), Some("ok"))
    );
    let bad = t
        .get(
            &format!("/api/v1/orgs/{}/audit?from=yesterday", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "from"
    );
    let by_member = t
        .get(&format!("/api/v1/orgs/{}/audit", t.org), &t.member)
        .send()
        .await
        .unwrap();
    problem(by_member, StatusCode::FORBIDDEN).await;
}

/// Every org route, with a harmless request: `{org}` and `{id}` are filled in.
const ORG_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/orgs/{org}/users"),
    ("GET", "/api/v1/orgs/{org}/imports"),
    ("POST", "/api/v1/orgs/{org}/imports"),
    ("GET", "/api/v1/orgs/{org}/imports/{id}"),
    ("GET", "/api/v1/orgs/{org}/imports/{id}/errors.csv"),
    ("GET", "/api/v1/orgs/{org}/imports/{id}/result.csv"),
    ("GET", "/api/v1/orgs/{org}/imports/{id}/original"),
    ("GET", "/api/v1/orgs/{org}/imports/template.csv"),
    ("GET", "/api/v1/orgs/{org}/tokens"),
    ("POST", "/api/v1/orgs/{org}/tokens"),
    ("DELETE", "/api/v1/orgs/{org}/tokens/{id}"),
    ("GET", "/api/v1/orgs/{org}/audit"),
    ("POST", "/api/v1/orgs/{org}/users"),
    ("GET", "/api/v1/orgs/{org}/users/{phone}"),
    ("PATCH", "/api/v1/orgs/{org}/users/{phone}"),
    ("GET", "/api/v1/orgs/{org}/attributes"),
    ("PUT", "/api/v1/orgs/{org}/attributes"),
    ("GET", "/api/v1/orgs/{org}/attributes/suggestions"),
    ("GET", "/api/v1/orgs/{org}/groups"),
    ("POST", "/api/v1/orgs/{org}/groups"),
    ("GET", "/api/v1/orgs/{org}/groups/{group}"),
    ("PATCH", "/api/v1/orgs/{org}/groups/{group}"),
    ("GET", "/api/v1/orgs/{org}/groups/{group}/members"),
    ("POST", "/api/v1/orgs/{org}/groups/{group}/members"),
    (
        "DELETE",
        "/api/v1/orgs/{org}/groups/{group}/members/{phone}",
    ),
    ("GET", "/api/v1/orgs/{org}/groups/{group}/messages"),
    ("POST", "/api/v1/orgs/{org}/groups/{group}/messages"),
    (
        "POST",
        "/api/v1/orgs/{org}/groups/{group}/messages/{id}/attachments",
    ),
    ("GET", "/api/v1/orgs/{org}/groups/{group}/attachments/{id}"),
    ("GET", "/api/v1/orgs/{org}/actions"),
    ("POST", "/api/v1/orgs/{org}/actions"),
    ("POST", "/api/v1/orgs/{org}/actions/{id}/publish"),
    ("POST", "/api/v1/orgs/{org}/actions/{id}/unpublish"),
    ("POST", "/api/v1/orgs/{org}/actions/{id}/responses"),
    ("GET", "/api/v1/orgs/{org}/connectors"),
    ("POST", "/api/v1/orgs/{org}/connectors"),
    ("POST", "/api/v1/orgs/{org}/connectors/{id}/publish"),
    ("POST", "/api/v1/orgs/{org}/connectors/{id}/unpublish"),
    ("GET", "/api/v1/orgs/{org}/reports"),
];

#[tokio::test]
async fn every_org_route_hides_other_orgs_and_needs_a_credential() {
    let t = spawn_app().await;
    // Ids that exist in org A: an import job and a token.
    let job = steward_app::import::enqueue(
        &t.app,
        t.org,
        steward_app::import::NewImport {
            file_name: "a.csv".into(),
            ..Default::default()
        },
        &mut &b"Phone,Name\n"[..],
    )
    .unwrap();
    let (token, _) = tokens::create_token(&t.app, t.org, Role::OrgAdmin, "a", None).unwrap();
    for (method, template) in ORG_ROUTES {
        let id = if template.contains("tokens") {
            token.id.to_string()
        } else {
            job.id.to_string()
        };
        let path = template
            .replace("{org}", &t.org.to_string())
            .replace("{id}", &id);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = |token: Option<&str>| {
            let mut r = t
                .client
                .request(method.clone(), t.url(&path))
                .header("content-type", "application/json")
                .body("{}");
            if let Some(token) = token {
                r = r.bearer_auth(token);
            }
            r
        };
        let anonymous = request(None).send().await.unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a credential"
        );
        let other = request(Some(&t.other_admin)).send().await.unwrap();
        assert_eq!(
            other.status(),
            StatusCode::NOT_FOUND,
            "{method} {path} from another org"
        );
    }
    // Nothing of org A changed.
    assert!(
        t.app
            .store
            .find_api_token(&tokens::hash_secret(&t.admin))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        t.app
            .store
            .list_api_tokens(t.org)
            .unwrap()
            .iter()
            .filter(|t| t.revoked_at.is_some())
            .count(),
        0
    );
}

// ---- Directory ------------------------------------------------------------------------

impl TestApp {
    async fn send(&self, method: &str, path: &str, token: &str, body: Value) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn put_schema(&self, attributes: Value) -> reqwest::Response {
        let path = format!("/api/v1/orgs/{}/attributes", self.org);
        self.send(
            "PUT",
            &path,
            &self.admin,
            serde_json::json!({"attributes": attributes}),
        )
        .await
    }
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

impl TestApp {
    /// A member session for a phone, through the real sign-in.
    async fn member_session(&self, phone: &str) -> String {
        assert_eq!(self.otp_start(phone).await.status(), StatusCode::ACCEPTED);
        let code = self.last_code().unwrap();
        let body: Value = self.otp_verify(phone, &code).await.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn groups_follow_the_matrix_for_org_admins_group_admins_and_members() {
    let t = spawn_app().await;
    // Group A: admin +...210, member +...211; group B: admin +...212. +...213 is in neither.
    t.add_users(&[
        "+919876543210",
        "+919876543211",
        "+919876543212",
        "+919876543213",
    ]);
    let a = t.group_with("+919876543210", &["+919876543211"]);
    let b = t.group_with("+919876543212", &[]);
    let group_admin = t.member_session("+919876543210").await;
    let member = t.member_session("+919876543211").await;
    let groups = format!("/api/v1/orgs/{}/groups", t.org);
    let status = |r: reqwest::Response| r.status();

    // The hierarchy is open to all.
    for token in [&t.admin, &group_admin, &member] {
        let tree: Value = t
            .get(&groups, token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(tree["total"], 2);
    }
    // Creating groups is org-admin work.
    let new = serde_json::json!({"name": "Night Shift", "parent_id": a});
    assert_eq!(
        status(t.send("POST", &groups, &group_admin, new.clone()).await),
        StatusCode::FORBIDDEN
    );
    let created: Value = t
        .send("POST", &groups, &t.admin, new)
        .await
        .json()
        .await
        .unwrap();
    let child = created["id"].as_str().unwrap().to_owned();
    // No cycles: A cannot move under its own child.
    let cycle = t
        .send(
            "PATCH",
            &format!("{groups}/{a}"),
            &t.admin,
            serde_json::json!({"parent_id": child}),
        )
        .await;
    let body = problem(cycle, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "parent_id");

    // Details and members: org admin all, group admin and member their own groups.
    for (token, group, expected) in [
        (&t.admin, b, StatusCode::OK),
        (&group_admin, a, StatusCode::OK),
        (&group_admin, b, StatusCode::FORBIDDEN),
        (&member, a, StatusCode::OK),
        (&member, b, StatusCode::FORBIDDEN),
    ] {
        assert_eq!(
            status(
                t.get(&format!("{groups}/{group}"), token)
                    .send()
                    .await
                    .unwrap()
            ),
            expected
        );
        assert_eq!(
            status(
                t.get(&format!("{groups}/{group}/members"), token)
                    .send()
                    .await
                    .unwrap()
            ),
            expected
        );
    }
    // Adding and removing members: org admin all groups, group admin own groups, member none.
    let add = serde_json::json!({"phone": "+919876543213"});
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{groups}/{b}/members"),
                &group_admin,
                add.clone()
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{groups}/{a}/members"),
                &member,
                add.clone()
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{groups}/{a}/members"),
                &group_admin,
                add.clone()
            )
            .await
        ),
        StatusCode::CREATED
    );
    assert_eq!(
        status(
            t.send("POST", &format!("{groups}/{b}/members"), &t.admin, add)
                .await
        ),
        StatusCode::CREATED
    );
    let listed: Value = t
        .get(&format!("{groups}/{a}/members"), &member)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 3);
    let remove = format!("{groups}/{a}/members/919876543213");
    assert_eq!(
        status(t.send("DELETE", &remove, &member, Value::Null).await),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(t.send("DELETE", &remove, &group_admin, Value::Null).await),
        StatusCode::NO_CONTENT
    );

    // A new person joins the org through a group, with source "group".
    let newcomer =
        serde_json::json!({"phone": "+14155550123", "name": "Grace Hopper", "role": "member"});
    let added: Value = t
        .send(
            "POST",
            &format!("{groups}/{a}/members"),
            &group_admin,
            newcomer,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(added["user"]["source"], "group");

    // Mapping to the org: org admin any group, group admin their own.
    let unmap = serde_json::json!({"org_mapped": false});
    assert_eq!(
        status(
            t.send(
                "PATCH",
                &format!("{groups}/{b}"),
                &group_admin,
                unmap.clone()
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send("PATCH", &format!("{groups}/{a}"), &member, unmap.clone())
                .await
        ),
        StatusCode::FORBIDDEN
    );
    let unmapped: Value = t
        .send("PATCH", &format!("{groups}/{a}"), &group_admin, unmap)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unmapped["org_mapped"], false);
    let audit: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=group.unmap", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1);
}

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
    let counts = t.app.store.data_counts(t.org).unwrap();
    let telemetry = counts
        .iter()
        .find(|(table, _)| table == "telemetry_events")
        .unwrap()
        .1;
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
