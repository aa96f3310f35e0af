//! The portal in a real browser: headless Chromium driven through chromedriver
//! (Debian's `chromium` and `chromium-driver`) against the real server on port 0.
//!
//! Without `/usr/bin/chromedriver` these tests print why and pass as skipped, except
//! in CI (`CI=true`), where a missing browser is a failure. Every page visited is
//! checked with axe-core (vendored in `tests/assets`, injected by the test, never
//! served): no serious or critical accessibility violation. Screenshots of each main
//! page go to `$CARGO_TARGET_TMPDIR/screenshots`, or to `docs/screenshots` with
//! `STEWARD_SCREENSHOTS=docs` (how the README's pictures are made).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use steward_domain::group::{Group, Membership};
use steward_domain::{GroupId, GroupName, GroupRole, PhoneNumber};
use steward_store::prelude::*;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const AXE: &str = include_str!("../assets/axe.min.js");

/// A browser session; dropping it (also when a test fails) stops the chromedriver
/// this test started and the Chromium it runs.
struct Browser {
    client: Client,
    driver: Child,
    port: u16,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver's /shutdown ends its sessions, closing Chromium, then exits;
        // killing chromedriver alone would leave the browser running.
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            use std::io::{Read, Write};
            let request = format!(
                "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = stream.write_all(request.as_bytes());
            let _ = stream.read_to_end(&mut Vec::new());
        }
        for _ in 0..50 {
            if matches!(self.driver.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Starts chromedriver and a fresh headless Chromium, or says why not (None).
async fn browser() -> Option<Browser> {
    if !Path::new(CHROMEDRIVER).exists() {
        let message = format!(
            "browser tests SKIPPED: {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("{message}");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=1280,900".into(),
        // No password manager: its checks on a sign-in form's submit hold up the
        // navigation, and nothing here should be saved anyway.
        "--password-store=basic".into(),
        "--disable-features=PasswordLeakDetection,PasswordManagerOnboarding".into(),
    ];
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": args,
            "prefs": {"credentials_enable_service": false, "profile.password_manager_enabled": false},
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut client = None;
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let shots = match std::env::var("STEWARD_SCREENSHOTS").as_deref() {
        Ok("docs") => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"),
        _ => Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
    };
    std::fs::create_dir_all(&shots).unwrap();
    Some(Browser {
        client: client.expect("chromedriver answers"),
        driver,
        port,
        _profile: profile,
        shots,
    })
}

impl Browser {
    async fn open(&self, t: &TestApp, path: &str) {
        self.client.goto(&t.url(path)).await.unwrap();
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the browser is on a page whose path satisfies `ready`.
    async fn wait_for_path(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let path = self.path().await;
            if ready(&path) {
                return path;
            }
        }
        let _ = self.shot("failure").await;
        panic!(
            "the browser never reached {what}; it is on {}: {}",
            self.path().await,
            self.body().await
        );
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn heading(&self) -> String {
        self.text("h1").await
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    /// Saves a screenshot of the page as `name.png`.
    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Runs axe-core in the page; fails on any serious or critical violation.
    async fn check_accessibility(&self) {
        self.client.execute(AXE, vec![]).await.unwrap();
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ["violations"]}).then(r => done(JSON.stringify(
                r.violations
                  .filter(v => v.impact === "serious" || v.impact === "critical")
                  .map(v => ({id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.map(n => n.target.join(" "))})))));
        "#;
        let found = self.client.execute_async(script, vec![]).await.unwrap();
        let violations: Vec<Value> = serde_json::from_str(found.as_str().unwrap_or("[]")).unwrap();
        assert!(
            violations.is_empty(),
            "accessibility violations on {}: {violations:#?}",
            self.path().await
        );
    }

    /// Fetches a link's target with the page's own session (as following it would)
    /// and returns the body: downloads are attachments, which a headless browser
    /// saves instead of showing.
    async fn follow_download(&self, css: &str) -> String {
        let link = self.client.find(Locator::Css(css)).await.unwrap();
        let href = link.attr("href").await.unwrap().unwrap();
        let script = r#"
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {credentials: "same-origin"})
              .then(r => r.text().then(t => done(r.status + "\n" + r.headers.get("content-disposition") + "\n" + t)));
        "#;
        let body = self
            .client
            .execute_async(script, vec![Value::String(href)])
            .await
            .unwrap();
        body.as_str().unwrap().to_owned()
    }

    /// Ends the session; dropping the browser then stops chromedriver.
    async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

/// A small org to look at: an attribute schema, a group hierarchy, people in it.
async fn furnish(t: &TestApp) -> (GroupId, GroupId) {
    t.add_admin("ada@contoso.example");
    let schema = json!([
        {"key": "employee_id", "name": "Employee ID", "type": "string", "suggested": true},
        {"key": "department", "name": "Department", "type": "string", "suggested": true},
        {"key": "job_title", "name": "Job Title", "type": "string", "suggested": true},
        {"key": "is_contractor", "name": "Contractor", "type": "yes_no", "suggested": true},
    ]);
    assert!(t.put_schema(schema).await.status().is_success());
    t.add_users(&["+919876500001", "+919876500002", "+919876500003"]);
    let group = |name: &str, parent: Option<GroupId>| Group {
        id: GroupId::new(),
        org_id: t.org,
        parent_id: parent,
        name: GroupName::parse(name).unwrap(),
        org_mapped: true,
        created_at: Utc::now(),
    };
    let india = group("Contoso India", None);
    let sales = group("Field Sales", Some(india.id));
    let support = group("Support", Some(india.id));
    t.store
        .insert_groups(t.org, &[india.clone(), sales.clone(), support.clone()])
        .unwrap();
    let member = |phone: &str, group: &Group, role| {
        let user = t
            .store
            .get_user(t.org, &PhoneNumber::from_e164(phone).unwrap())
            .unwrap()
            .unwrap();
        Membership {
            org_id: t.org,
            group_id: group.id,
            user_id: user.id,
            role,
            joined_at: Utc::now(),
        }
    };
    t.store
        .insert_memberships(
            t.org,
            &[
                member("+919876500002", &sales, GroupRole::Admin),
                member("+919876500001", &sales, GroupRole::Member),
                member("+919876500003", &support, GroupRole::Admin),
            ],
        )
        .unwrap();
    (sales.id, support.id)
}

const PEOPLE: &str = "Phone Number,Name,Employee ID,Department,Job Title,Contractor
+91 98765 43210,Asha Rao,E-1001,Sales,Account Manager,No
+91 98765 43211,Ravi Kumar,E-1002,Sales,Sales Lead,No
+91 98765 43212,Meera Iyer,E-1003,Support,Support Engineer,Yes
+91 98765 43213,Arjun Singh,E-1004,Engineering,Developer,No
+91 98765 43214,Priya Nair,E-1005,Finance,Analyst,No
+91 98765 43215,Kiran Das,E-1006,Support,Team Lead,No
12,Nobody,E-9999,Sales,Ghost,No
";

#[tokio::test]
async fn an_admin_imports_a_file_with_a_bad_row_and_downloads_its_error_log_in_a_browser() {
    let t = spawn_app().await;
    let Some(b) = browser().await else { return };
    let (sales, _) = furnish(&t).await;
    let org = |rest: &str| format!("/portal/orgs/{}{rest}", t.org);

    // Signing in.
    b.open(&t, "/").await;
    b.wait_for_path("the sign-in page", |p| p == "/portal/sign-in")
        .await;
    b.check_accessibility().await;
    b.shot("sign-in").await;
    b.fill("#email", "ada@contoso.example").await;
    b.fill("#password", PASSWORD).await;
    b.click("form[action='/portal/sign-in'] button[type=submit]")
        .await;
    b.wait_for_path("the Users page", |p| p.ends_with("/users"))
        .await;
    assert_eq!(b.heading().await, "Users");

    // Users > Add Users > Import Multiple Users.
    b.click("details.menu summary").await;
    b.client
        .find(Locator::LinkText("Import Multiple Users"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_path("Import Multiple Users", |p| p.ends_with("/imports/new"))
        .await;
    b.check_accessibility().await;
    b.shot("import-multiple-users").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, PEOPLE).unwrap();
    b.client
        .find(Locator::Css("#file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    b.click("form[enctype='multipart/form-data'] button[type=submit]")
        .await;
    b.wait_for_path("Upload Users History", |p| p.contains("/imports?done="))
        .await;

    // Watch it finish: the page refreshes itself while the job runs; Refresh works too.
    let mut status = String::new();
    for _ in 0..100 {
        status = b.text("tbody .status-badge").await;
        if status == "Completed" || status == "Failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        b.client
            .find(Locator::LinkText("Refresh"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    assert_eq!(status, "Completed");
    let row = b.text("tbody tr").await;
    assert!(row.contains("people.csv"), "{row}");
    b.check_accessibility().await;
    b.shot("upload-users-history").await;
    let log = b.follow_download("a[href$='/errors.csv']").await;
    let mut lines = log.lines();
    assert_eq!(lines.next(), Some("200"));
    assert!(lines.next().unwrap().starts_with("attachment"));
    assert!(log.contains("Row,Column,Value,Reason"), "{log}");
    assert!(log.contains("8,Phone Number,12,"), "{log}");

    // More > Select Columns: two attributes next to phone and name.
    b.open(&t, &org("/users/columns")).await;
    b.check_accessibility().await;
    b.click("input[value=department]").await;
    b.click("input[value=job_title]").await;
    b.click("main form button[type=submit]").await;
    b.wait_for_path("the Users page", |p| p.contains("/users?done=columns"))
        .await;
    let head = b.text("thead").await;
    assert!(
        head.contains("Department") && head.contains("Job Title"),
        "{head}"
    );
    assert!(b.body().await.contains("Account Manager"));
    b.check_accessibility().await;
    b.shot("users").await;

    // A user's detail by phone.
    b.client
        .find(Locator::LinkText("+919876543210"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_path("the user's page", |p| p.ends_with("/users/919876543210"))
        .await;
    assert_eq!(b.heading().await, "Asha Rao");
    b.check_accessibility().await;
    b.shot("user").await;

    // Every other main page, looked at and checked.
    for (path, heading, shot) in [
        ("/attributes", "Change Attributes", "change-attributes"),
        ("/users/new", "Add a user", "add-user"),
        ("/groups", "Groups", "groups"),
        (&format!("/groups/{sales}"), "Field Sales", "group"),
        ("/reports", "Reports", "reports"),
        ("/connectors", "Connectors", "connectors"),
        ("/actions", "Actions", "actions"),
        ("/settings", "Settings", "settings"),
        ("/tokens", "API tokens", "api-tokens"),
        ("/audit", "Audit log", "audit-log"),
    ] {
        b.open(&t, &org(path)).await;
        assert_eq!(b.heading().await, heading, "{path}");
        b.check_accessibility().await;
        b.shot(shot).await;
    }

    // Change Attributes: making Department mandatory would break the people without
    // one; the warning sits next to the field, and "Save anyway" goes ahead.
    b.open(&t, &org("/attributes")).await;
    b.click("#mandatory-1").await;
    b.click("main form button[type=submit]").await;
    b.client
        .wait()
        .for_element(Locator::Css(".warning"))
        .await
        .unwrap();
    let warning = b.text("fieldset .warning").await;
    assert!(warning.contains("users have no Department"), "{warning}");
    b.check_accessibility().await;
    b.shot("change-attributes-warning").await;
    b.click("button[name=force]").await;
    b.wait_for_path("the Users page", |p| p.contains("/users?done=attributes"))
        .await;

    // The same Users page on a phone.
    b.client.set_window_size(390, 844).await.unwrap();
    b.open(&t, &org("/users")).await;
    b.check_accessibility().await;
    b.shot("users-phone").await;
    b.close().await;
}

#[tokio::test]
async fn a_group_admin_signs_in_with_a_code_and_sees_only_their_groups_in_a_browser() {
    let t = spawn_app().await;
    let Some(b) = browser().await else { return };
    furnish(&t).await;

    b.open(&t, "/portal/sign-in/phone").await;
    b.check_accessibility().await;
    b.fill("#phone", "+919876500002").await;
    b.click("form button[type=submit]").await;
    b.client
        .wait()
        .for_element(Locator::Css("#code"))
        .await
        .unwrap();
    b.check_accessibility().await;
    let code = t.last_code().unwrap();
    b.fill("#code", &code).await;
    b.click("form button[type=submit]").await;
    b.wait_for_path("My groups", |p| p.ends_with("/groups"))
        .await;
    assert_eq!(b.heading().await, "My groups");
    let tree = b.text("ul.tree").await;
    assert!(tree.contains("Field Sales"), "{tree}");
    assert!(
        !tree.contains("Support") && !tree.contains("Contoso India"),
        "{tree}"
    );
    b.check_accessibility().await;
    b.shot("group-admin-groups").await;

    // Their users are the people of their group.
    b.open(&t, &format!("/portal/orgs/{}/users", t.org)).await;
    let users = b.text("tbody").await;
    assert!(
        users.contains("+919876500001") && !users.contains("+919876500003"),
        "{users}"
    );
    b.close().await;
}

#[tokio::test]
async fn a_member_signs_in_with_a_code_from_the_outbox_and_gets_the_403_page_on_admin_pages() {
    let t = spawn_app().await;
    let Some(b) = browser().await else { return };
    furnish(&t).await;

    b.open(&t, "/").await;
    b.wait_for_path("the sign-in page", |p| p == "/portal/sign-in")
        .await;
    b.client
        .find(Locator::LinkText("Sign in with your phone"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_path("phone sign-in", |p| p == "/portal/sign-in/phone")
        .await;
    b.shot("sign-in-phone").await;
    b.fill("#phone", "+919876500001").await;
    b.click("form button[type=submit]").await;
    b.client
        .wait()
        .for_element(Locator::Css("#code"))
        .await
        .unwrap();
    let code = t.last_code().unwrap();
    b.fill("#code", &code).await;
    b.click("form button[type=submit]").await;
    b.wait_for_path("My groups", |p| p.ends_with("/groups"))
        .await;
    let nav = b.text("nav.side").await;
    assert!(!nav.contains("Users") && !nav.contains("Settings"), "{nav}");
    assert!(b.text("ul.tree").await.contains("Field Sales"));
    b.check_accessibility().await;
    b.shot("member-my-groups").await;

    b.open(&t, &format!("/portal/orgs/{}/users", t.org)).await;
    assert_eq!(b.heading().await, "You don't have access to this page");
    b.check_accessibility().await;
    b.shot("forbidden").await;
    b.open(&t, &format!("/portal/orgs/{}/groups", t.other_org))
        .await;
    assert_eq!(b.heading().await, "Page not found");
    b.check_accessibility().await;
    b.close().await;
}
