//! The shared test harness: [`TestApp`] starts the real server through
//! `Application::build` on port 0, on a fresh data directory with a manual clock and
//! one fast-polling job worker, with two orgs and tokens ready to use.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::Value;
use steward_app::clock::ManualClock;
use steward_app::jobs::WorkerConfig;
use steward_app::{App, orgs, security, tokens};
use steward_domain::group::{Group, Membership};
use steward_domain::{
    AttributeChanges, GroupId, GroupName, GroupRole, OrgId, PersonName, PhoneNumber, Role,
    UserSource, UserUpsert,
};
use steward_store::prelude::*;
use steward_store_sqlite::SqliteStore;
use steward_web::{Application, ServerConfig, StorageConfig};

/// A running server and what the tests need around it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The server's use cases, for setup the API does not offer.
    pub app: App,
    /// The same database, opened beside the server (as the CLI does), for setup and
    /// checks below the use cases.
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ManualClock>,
    /// Org A ("Contoso"), with an org-admin token and a member token.
    pub org: OrgId,
    pub admin: String,
    pub member: String,
    /// Org B ("Fabrikam"), with an org-admin token.
    pub other_org: OrgId,
    pub other_admin: String,
    pub client: reqwest::Client,
    /// Dropped with the test app, which stops the server and its worker.
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// Builds and runs a server; returns its base URL, its app and what stops it.
async fn start(config: ServerConfig) -> (String, App, tokio::sync::oneshot::Sender<()>) {
    let application = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", application.port());
    let app = application.app().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));
    (base, app, stop)
}

/// Starts the server on port 0 in a fresh data directory.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with a configuration changed by `configure` (limits, workers, ...).
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        workers: 1,
        worker: WorkerConfig {
            poll: Duration::from_millis(20),
            schedule_every: Duration::from_millis(100),
            ..WorkerConfig::default()
        },
        clock: clock.clone(),
        ..ServerConfig::new(StorageConfig::embedded(dir.path()))
    };
    configure(&mut config);
    let (base, app, stop) = start(config).await;
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());

    let cli = steward_app::audit::AuditContext::cli();
    let org = orgs::create_org(&app, &cli, "Contoso", "IN").unwrap();
    let other = orgs::create_org(&app, &cli, "Fabrikam", "US").unwrap();
    let admin = tokens::create_token(&app, org.id, Role::OrgAdmin, "t", None)
        .unwrap()
        .1;
    let other_admin = tokens::create_token(&app, other.id, Role::OrgAdmin, "t", None)
        .unwrap()
        .1;
    let member = tokens::create_token(&app, org.id, Role::Member, "t", None)
        .unwrap()
        .1;

    TestApp {
        base,
        app,
        store,
        clock,
        org: org.id,
        admin,
        member,
        other_org: other.id,
        other_admin,
        client: reqwest::Client::new(),
        _stop: stop,
        _dir: dir,
    }
}

impl TestApp {
    /// The server's data directory (the store and `blobs/`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Stops the server and starts a new one on the same data directory and clock,
    /// as a process restart would (on a new port).
    pub async fn restart(&mut self) {
        let config = ServerConfig {
            listen: "127.0.0.1:0".into(),
            workers: 0,
            clock: self.clock.clone(),
            ..ServerConfig::new(StorageConfig::embedded(self._dir.path()))
        };
        let (base, app, stop) = start(config).await;
        // Dropping the old sender stops the old server.
        self._stop = stop;
        self.base = base;
        self.app = app;
    }

    pub fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    pub fn add_users(&self, phones: &[&str]) {
        let rows: Vec<_> = phones
            .iter()
            .map(|p| UserUpsert {
                phone: PhoneNumber::from_e164(p).unwrap(),
                name: PersonName::parse("Test Person").unwrap(),
                source: UserSource::Api,
                attributes: AttributeChanges::new(),
            })
            .collect();
        self.store
            .upsert_users(self.org, &rows, Utc::now())
            .unwrap();
    }

    /// Polls an import until it ends.
    pub async fn finished_import(&self, id: &str) -> Value {
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

    pub async fn download(&self, path: &str) -> (reqwest::header::HeaderMap, String) {
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn add_admin(&self, email: &str) {
        let operator = steward_app::Caller::operator(&self.app, self.org).unwrap();
        security::add_admin(&self.app, &operator, email, Some(PASSWORD)).unwrap();
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Signs an admin in; returns the cookie header value and the CSRF token.
    pub async fn admin_session(&self, email: &str) -> (String, String) {
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

    pub async fn otp_start(&self, phone: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/otp/start"))
            .json(&serde_json::json!({"phone": phone}))
            .send()
            .await
            .unwrap()
    }

    pub async fn otp_verify(&self, phone: &str, code: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/otp/verify"))
            .json(&serde_json::json!({"phone": phone, "code": code}))
            .send()
            .await
            .unwrap()
    }

    pub fn last_code(&self) -> Option<String> {
        let outbox = self.store.sms_outbox(1).unwrap();
        outbox.first().map(|m| {
            m.body
                .chars()
                .filter(char::is_ascii_digit)
                .take(6)
                .collect()
        })
    }

    /// Group A administered by `admin_phone`, with `member_phones` as members.
    pub fn group_with(&self, admin_phone: &str, member_phones: &[&str]) -> GroupId {
        let group = Group {
            id: GroupId::new(),
            org_id: self.org,
            parent_id: None,
            name: GroupName::parse("Field Sales").unwrap(),
            org_mapped: true,
            created_at: Utc::now(),
        };
        self.store
            .insert_groups(self.org, std::slice::from_ref(&group))
            .unwrap();
        let member = |phone: &str, role| {
            let user = self
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
        self.store.insert_memberships(self.org, &rows).unwrap();
        group.id
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Value,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A tenant export of `org` through the API (its data `kinds`), downloaded and
    /// unzipped: its files by name.
    pub async fn tenant_archive(
        &self,
        org: OrgId,
        token: &str,
        kinds: &[&str],
    ) -> std::collections::BTreeMap<String, Vec<u8>> {
        let exports = format!("/api/v1/orgs/{org}/exports");
        let body = serde_json::json!({"kind": "tenant", "scope": {"kinds": kinds}});
        let queued = self.send("POST", &exports, token, body).await;
        assert_eq!(queued.status(), StatusCode::ACCEPTED);
        let id = queued.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..400 {
            let export: Value = self
                .get(&format!("{exports}/{id}"), token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if export["finished_at"] != Value::Null {
                assert_eq!(export["status"], "completed", "{export}");
                let download = self
                    .get(&format!("{exports}/{id}/download"), token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(download.status(), StatusCode::OK);
                return unzip(&download.bytes().await.unwrap());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("export {id} did not finish");
    }

    pub async fn put_schema(&self, attributes: Value) -> reqwest::Response {
        let path = format!("/api/v1/orgs/{}/attributes", self.org);
        self.send(
            "PUT",
            &path,
            &self.admin,
            serde_json::json!({"attributes": attributes}),
        )
        .await
    }

    /// A member session for a phone, through the real sign-in.
    pub async fn member_session(&self, phone: &str) -> String {
        assert_eq!(self.otp_start(phone).await.status(), StatusCode::ACCEPTED);
        let code = self.last_code().unwrap();
        let body: Value = self.otp_verify(phone, &code).await.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }
}

/// The password of every admin account the tests add.
pub const PASSWORD: &str = "correct horse battery staple";

/// Checks that `response` is a problem+json answer with `status`; returns its body.
/// The files of a zip, by name.
pub fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut content).unwrap();
            (file.name().unwrap().to_string(), content)
        })
        .collect()
}

pub async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
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

/// Escapes what a query value needs escaped in these tests: the `+` of a phone.
pub fn urlencode(raw: &str) -> String {
    raw.replace('+', "%2B")
}
