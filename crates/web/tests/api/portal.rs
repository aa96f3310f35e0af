//! The portal's pages over HTTP: sign-in, the session cookie, CSRF on plain forms,
//! escaping, security headers, and what each role gets (pages, 403, 404).

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use steward_domain::{AttributeChanges, PersonName, PhoneNumber, UserSource, UserUpsert};
use steward_store::prelude::*;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

/// A browser-like client of the portal: keeps the session cookie, does not follow
/// redirects (so the tests see them).
pub struct Portal {
    pub base: String,
    pub client: reqwest::Client,
    pub cookie: Option<String>,
}

impl Portal {
    pub fn new(t: &TestApp) -> Portal {
        Portal {
            base: t.base.clone(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// Keeps the session cookie a response sets.
    fn keep_cookie(&mut self, response: &reqwest::Response) -> String {
        let set = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        self.cookie = Some(set.split(';').next().unwrap().to_owned());
        set
    }

    /// A sign-in form's cookie and CSRF token, as a browser gets them with the page.
    pub async fn sign_in_form(&self, path: &str) -> (String, String) {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK);
        let set = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            set.contains("SameSite=Strict") && set.contains("HttpOnly"),
            "{set}"
        );
        let pair = set.split(';').next().unwrap().to_owned();
        let html = response.text().await.unwrap();
        let start = html.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
        (pair, html[start..].split('"').next().unwrap().to_owned())
    }

    /// Posts a sign-in form with this browser's sign-in cookie and token.
    pub async fn post_sign_in(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let (cookie, token) = self.sign_in_form(path).await;
        let mut fields = vec![("csrf", token.as_str())];
        fields.extend_from_slice(form);
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// Signs an admin in through the form; returns the Set-Cookie header.
    pub async fn sign_in_admin(&mut self, email: &str) -> String {
        let response = self
            .post_sign_in(
                "/portal/sign-in",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/portal");
        self.keep_cookie(&response)
    }

    /// Signs a member in with phone and the code from the outbox.
    pub async fn sign_in_member(&mut self, t: &TestApp, phone: &str) {
        let response = self
            .post_sign_in("/portal/sign-in/phone", &[("phone", phone)])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.text().await.unwrap().contains("One-time code"));
        let code = t.last_code().unwrap();
        let (cookie, token) = self.sign_in_form("/portal/sign-in/phone").await;
        let form = [("csrf", token.as_str()), ("phone", phone), ("code", &code)];
        let response = self
            .client
            .post(format!("{}/portal/sign-in/code", self.base))
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        self.keep_cookie(&response);
    }

    /// A page's HTML, expecting 200.
    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }

    /// The CSRF token of the forms on a page.
    pub async fn csrf(&self, path: &str) -> String {
        let html = self.page(path).await;
        let start = html
            .find(r#"name="csrf" value=""#)
            .expect("a form with a csrf field")
            + r#"name="csrf" value=""#.len();
        html[start..].split('"').next().unwrap().to_owned()
    }
}

fn org_path(t: &TestApp, rest: &str) -> String {
    format!("/portal/orgs/{}{rest}", t.org)
}

#[tokio::test]
async fn the_root_sends_a_visitor_to_sign_in_with_strict_security_headers() {
    let t = spawn_app().await;
    let portal = Portal::new(&t);
    let response = portal.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/portal/sign-in");

    let response = portal.get("/portal/sign-in").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<label for="email">Email</label>"#));
    // No inline script or style anywhere: the policy would block it.
    assert!(!html.contains("<script>") && !html.contains("style="));

    // A page needing a session sends the visitor to sign in.
    let response = portal.get(&org_path(&t, "/users")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/portal/sign-in");
}

#[tokio::test]
async fn an_admin_signs_in_with_the_form_and_gets_the_api_session_cookie() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let mut portal = Portal::new(&t);

    // A sign-in form posted from elsewhere (no sign-in cookie and token) is refused.
    let forged = portal
        .post(
            "/portal/sign-in",
            &[("email", "ada@contoso.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );

    let wrong = portal
        .post_sign_in(
            "/portal/sign-in",
            &[
                ("email", "ada@contoso.example"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("the email or password is wrong")
    );

    let set_cookie = portal.sign_in_admin("ada@contoso.example").await;
    assert!(
        set_cookie.starts_with("steward_session=sts_"),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));

    let home = portal.get("/portal").await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], org_path(&t, "/users").as_str());
    let users = portal.page(&org_path(&t, "/users")).await;
    for word in [
        "Users",
        "Groups",
        "Reports",
        "Connectors",
        "Actions",
        "Upload Users History",
        "Settings",
    ] {
        assert!(
            users.contains(&format!(">{word}</a>")),
            "the nav lacks {word}"
        );
    }
    // The same cookie works for the API (GET needs no CSRF header).
    let me: serde_json::Value = portal.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["kind"], "admin");

    // Signing out ends the session.
    let csrf = portal.csrf(&org_path(&t, "/users")).await;
    let out = portal.post("/portal/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = portal.get(&org_path(&t, "/users")).await;
    assert_eq!(after.headers()["location"], "/portal/sign-in");
}

#[tokio::test]
async fn a_form_without_the_csrf_field_is_refused_and_changes_nothing() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;

    let form = [("phone", "+919876543210"), ("name", "Asha Rao")];
    let refused = portal.post(&org_path(&t, "/users"), &form).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("did not come from this site")
    );
    let wrong = [
        ("csrf", "forged"),
        ("phone", "+919876543210"),
        ("name", "Asha Rao"),
    ];
    let refused = portal.post(&org_path(&t, "/users"), &wrong).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let phone = PhoneNumber::from_e164("+919876543210").unwrap();
    assert!(t.store.get_user(t.org, &phone).unwrap().is_none());

    // With the token, the same form adds the user and shows them.
    let csrf = portal.csrf(&org_path(&t, "/users/new")).await;
    let ok = [
        ("csrf", csrf.as_str()),
        ("phone", "+919876543210"),
        ("name", "Asha Rao"),
    ];
    let added = portal.post(&org_path(&t, "/users"), &ok).await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let location = added.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.ends_with("/users/919876543210?done=created"),
        "{location}"
    );
    let detail = portal.page(&location).await;
    assert!(detail.contains("Asha Rao") && detail.contains("The user was added."));
    assert!(t.store.get_user(t.org, &phone).unwrap().is_some());
}

#[tokio::test]
async fn a_form_with_a_bad_value_shows_the_error_next_to_its_field() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;
    let csrf = portal.csrf(&org_path(&t, "/users/new")).await;
    let form = [("csrf", csrf.as_str()), ("phone", "12"), ("name", "Asha")];
    let response = portal.post(&org_path(&t, "/users"), &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"id="phone-error""#), "{html}");
    assert!(html.contains(r#"aria-invalid="true""#));
}

#[tokio::test]
async fn a_user_named_like_a_script_renders_as_text() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let evil = "<script>alert(1)</script>";
    let row = UserUpsert {
        phone: PhoneNumber::from_e164("+919876543210").unwrap(),
        name: PersonName::parse(evil).unwrap(),
        source: UserSource::Api,
        attributes: AttributeChanges::new(),
    };
    t.store.upsert_users(t.org, &[row], Utc::now()).unwrap();
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;
    for path in ["/users", "/users/919876543210", "/users?q=%3Cscript"] {
        let html = portal.page(&org_path(&t, path)).await;
        assert!(!html.contains(evil), "{path} has the raw script");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}: {html}"
        );
    }
}

#[tokio::test]
async fn a_member_signs_in_by_phone_sees_my_groups_and_gets_403_on_admin_pages() {
    let t = spawn_app().await;
    t.add_users(&["+919876500001", "+919876500002"]);
    let group = t.group_with("+919876500002", &["+919876500001"]);
    let mut portal = Portal::new(&t);
    portal.sign_in_member(&t, "+919876500001").await;

    let home = portal.get("/portal").await;
    assert_eq!(home.headers()["location"], org_path(&t, "/groups").as_str());
    let groups = portal.page(&org_path(&t, "/groups")).await;
    assert!(groups.contains("My groups") && groups.contains("Field Sales"));
    assert!(!groups.contains(">Users</a>") && !groups.contains(">Settings</a>"));
    let detail = portal
        .page(&org_path(&t, &format!("/groups/{group}")))
        .await;
    assert!(detail.contains("+919876500002"));
    assert!(!detail.contains("Add a member"));

    for admin_page in [
        "/users",
        "/imports",
        "/imports/new",
        "/attributes",
        "/audit",
        "/tokens",
        "/reports",
        "/settings",
    ] {
        let response = portal.get(&org_path(&t, admin_page)).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{admin_page}: {:?}",
            response.headers()
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("have access to this page"), "{admin_page}");
        // The 403 page keeps the member's navigation.
        assert!(html.contains(">My groups</a>"), "{admin_page}");
    }
    // Another org's id, and a path that does not exist, are the 404 page.
    let other = portal
        .get(&format!("/portal/orgs/{}/groups", t.other_org))
        .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    assert!(other.text().await.unwrap().contains("Page not found"));
    let missing = portal.get("/portal/no-such-page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn a_group_admin_sees_only_their_groups_and_their_users() {
    let t = spawn_app().await;
    t.add_users(&["+919876500001", "+919876500002", "+919876500003"]);
    t.group_with("+919876500002", &["+919876500001"]);
    let mut portal = Portal::new(&t);
    portal.sign_in_member(&t, "+919876500002").await;

    let users = portal.page(&org_path(&t, "/users")).await;
    assert!(users.contains("Group admin"));
    assert!(users.contains("+919876500001") && users.contains("+919876500002"));
    assert!(
        !users.contains("+919876500003"),
        "a user outside their groups"
    );
    assert!(!users.contains("Upload Users History"));
    let outside = portal.get(&org_path(&t, "/users/919876500003")).await;
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
    let groups = portal.page(&org_path(&t, "/groups")).await;
    assert!(groups.contains("My groups") && groups.contains("Field Sales"));
    let imports = portal.get(&org_path(&t, "/imports")).await;
    assert_eq!(imports.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_uploads_a_file_through_the_portal_form_and_sees_it_in_the_history() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;
    let csrf = portal.csrf(&org_path(&t, "/imports/new")).await;
    let csv = "Phone Number,Name\n+919876543210,Asha Rao\n12,Nobody\n";
    let file = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
        .file_name("people.csv")
        .mime_str("text/csv")
        .unwrap();

    // Without the token first, the upload is refused before the file is stored.
    let no_token = reqwest::multipart::Form::new().part("file", file);
    let refused = portal
        .client
        .post(format!("{}{}", portal.base, org_path(&t, "/imports")))
        .header("cookie", portal.cookie.clone().unwrap())
        .multipart(no_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let file = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
        .file_name("people.csv")
        .mime_str("text/csv")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("mapping", "")
        .part("file", file);
    let uploaded = portal
        .client
        .post(format!("{}{}", portal.base, org_path(&t, "/imports")))
        .header("cookie", portal.cookie.clone().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let history: serde_json::Value = t
        .get(&format!("/api/v1/orgs/{}/imports", t.org), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = history["items"][0]["id"].as_str().unwrap().to_owned();
    t.finished_import(&id).await;
    let html = portal.page(&org_path(&t, "/imports")).await;
    assert!(
        html.contains("people.csv") && html.contains(">Completed<"),
        "{html}"
    );
    assert!(html.contains(&format!("/api/v1/orgs/{}/imports/{id}/errors.csv", t.org)));
    // The error log downloads with the portal's cookie.
    let log = portal
        .get(&format!("/api/v1/orgs/{}/imports/{id}/errors.csv", t.org))
        .await;
    assert_eq!(log.status(), StatusCode::OK);
    assert!(
        log.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(log.text().await.unwrap().contains("3,Phone Number,12,"));
}

#[tokio::test]
async fn change_attributes_warns_next_to_the_field_and_saves_anyway_when_asked() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let schema = serde_json::json!([{"key": "department", "name": "Department", "type": "string"}]);
    assert!(t.put_schema(schema).await.status().is_success());
    t.add_users(&["+919876500001", "+919876500002"]);
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;
    let page = portal.page(&org_path(&t, "/attributes")).await;
    assert!(page.contains(r#"value="department""#) && page.contains("Add New"));
    let csrf = portal.csrf(&org_path(&t, "/attributes")).await;
    let mandatory = [
        ("csrf", csrf.as_str()),
        ("key.0", "department"),
        ("name.0", "Department"),
        ("type.0", "string"),
        ("mandatory.0", "on"),
        ("new_suggested", "job_title"),
    ];
    let warned = portal.post(&org_path(&t, "/attributes"), &mandatory).await;
    assert_eq!(warned.status(), StatusCode::OK);
    let html = warned.text().await.unwrap();
    assert!(
        html.contains("Warning: 2 users have no Department"),
        "{html}"
    );
    assert!(
        html.contains(r#"name="force" value="true""#),
        "no Save anyway"
    );
    // The suggested attribute picked alongside stays on the form.
    assert!(html.contains(r#"value="job_title""#));

    let mut forced = mandatory.to_vec();
    forced.push(("force", "true"));
    let saved = portal.post(&org_path(&t, "/attributes"), &forced).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let schema: serde_json::Value = t
        .get(&format!("/api/v1/orgs/{}/attributes", t.org), &t.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = schema["attributes"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{schema}");
    assert_eq!(list[0]["mandatory"], true);
    assert_eq!(list[1]["key"], "job_title");
}

#[tokio::test]
async fn an_admin_edits_a_user_and_manages_a_groups_members_through_forms() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    t.add_users(&["+919876500001", "+919876500002"]);
    let group = t.group_with("+919876500002", &[]);
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;

    let org_home = portal.get(&format!("/portal/orgs/{}", t.org)).await;
    assert_eq!(
        org_home.headers()["location"],
        org_path(&t, "/users").as_str()
    );
    let edit = org_path(&t, "/users/919876500001/edit");
    let csrf = portal.csrf(&edit).await;
    let saved = portal
        .post(&edit, &[("csrf", csrf.as_str()), ("name", "Asha Rao")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let phone = PhoneNumber::from_e164("+919876500001").unwrap();
    let user = t.store.get_user(t.org, &phone).unwrap().unwrap();
    assert_eq!(user.name.to_string(), "Asha Rao");

    let members = org_path(&t, &format!("/groups/{group}/members"));
    let added = portal
        .post(
            &members,
            &[
                ("csrf", csrf.as_str()),
                ("phone", "+919876500001"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let page = portal
        .page(&org_path(&t, &format!("/groups/{group}?done=added")))
        .await;
    assert!(page.contains("Asha Rao") && page.contains("The member was added."));
    let remove = format!("{members}/919876500001/remove");
    let removed = portal.post(&remove, &[("csrf", csrf.as_str())]).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let page = portal
        .page(&org_path(&t, &format!("/groups/{group}")))
        .await;
    assert!(!page.contains("Asha Rao"));
}

#[tokio::test]
async fn an_api_token_made_in_the_portal_is_shown_once_works_and_can_be_revoked() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;
    let tokens = org_path(&t, "/tokens");
    let csrf = portal.csrf(&tokens).await;
    let created = portal
        .post(
            &tokens,
            &[
                ("csrf", csrf.as_str()),
                ("label", "nightly sync"),
                ("role", "org-admin"),
                ("expires_in_days", ""),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let html = created.text().await.unwrap();
    let start = html.find("stw_").expect("the secret is shown");
    let secret: String = html[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric_or_underscore)
        .collect();
    let me = t.get("/api/v1/me", &secret).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // Shown once: the list shows the label, never the secret.
    let list = portal.page(&tokens).await;
    assert!(list.contains("nightly sync") && !list.contains(&secret));
    // The revoke form in the row of this token (the test app has tokens of its own).
    let row = list
        .split("<tr>")
        .find(|r| r.contains("nightly sync"))
        .unwrap();
    let revoke = row
        .split(r#"action=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let revoked = portal.post(&revoke, &[("csrf", csrf.as_str())]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let me = t.get("/api/v1/me", &secret).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    // The audit log page shows both, and filters by action.
    let audit = portal
        .page(&org_path(&t, "/audit?action=token.revoke"))
        .await;
    assert!(
        audit.contains("token.revoke") && !audit.contains("token.create"),
        "{audit}"
    );
}

trait TokenChar {
    fn is_ascii_alphanumeric_or_underscore(&self) -> bool;
}

impl TokenChar for char {
    fn is_ascii_alphanumeric_or_underscore(&self) -> bool {
        self.is_ascii_alphanumeric() || *self == '_'
    }
}

#[tokio::test]
async fn a_group_admin_publishes_a_connector_to_their_group_only() {
    let t = spawn_app().await;
    t.add_users(&["+919876500001", "+919876500002"]);
    let group = t.group_with("+919876500002", &["+919876500001"]);
    let phone = PhoneNumber::from_e164("+919876500001").unwrap();
    let principal = steward_app::security::Principal::Member(phone);
    let maker = steward_app::security::caller_in(&t.app, &principal, t.org, None, None).unwrap();
    let connector = steward_app::content::create_connector(
        &t.app,
        &maker,
        "<b>Release notes</b>",
        serde_json::json!({}),
    )
    .unwrap();

    // The member who made it sees it under "Created by me" but may not publish.
    let mut member = Portal::new(&t);
    member.sign_in_member(&t, "+919876500001").await;
    let mine = member.page(&org_path(&t, "/connectors?mine=true")).await;
    assert!(
        mine.contains("&#60;b&#62;Release notes&#60;/b&#62;"),
        "{mine}"
    );
    assert!(!mine.contains("Publish</button>"));

    let mut admin = Portal::new(&t);
    admin.sign_in_member(&t, "+919876500002").await;
    let page = admin.page(&org_path(&t, "/connectors")).await;
    assert!(page.contains("Publish</button>") && page.contains("Field Sales"));
    let csrf = admin.csrf(&org_path(&t, "/connectors")).await;
    let action = org_path(&t, &format!("/connectors/{}/publication", connector.id));
    let group = group.to_string();
    let published = admin
        .post(
            &action,
            &[
                ("csrf", csrf.as_str()),
                ("group", group.as_str()),
                ("publish", "true"),
            ],
        )
        .await;
    assert_eq!(published.status(), StatusCode::SEE_OTHER);
    assert!(
        admin
            .page(&org_path(&t, "/connectors?done=published"))
            .await
            .contains("Published to the group.")
    );
    let unpublished = admin
        .post(
            &action,
            &[
                ("csrf", csrf.as_str()),
                ("group", group.as_str()),
                ("publish", "false"),
            ],
        )
        .await;
    assert_eq!(unpublished.status(), StatusCode::SEE_OTHER);
    // Unpublishing again: nothing is published there, which the page says.
    let again = admin
        .post(
            &action,
            &[
                ("csrf", csrf.as_str()),
                ("group", group.as_str()),
                ("publish", "false"),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("done=not-published")
    );
}

#[tokio::test]
async fn a_member_of_two_orgs_chooses_one_and_a_group_admin_sees_reports_and_settings_of_their_group()
 {
    let t = spawn_app().await;
    t.add_users(&["+919876500001", "+919876500002"]);
    t.group_with("+919876500002", &["+919876500001"]);
    let row = UserUpsert {
        phone: PhoneNumber::from_e164("+919876500002").unwrap(),
        name: PersonName::parse("Ravi").unwrap(),
        source: UserSource::Api,
        attributes: AttributeChanges::new(),
    };
    t.store
        .upsert_users(t.other_org, &[row], Utc::now())
        .unwrap();
    let mut portal = Portal::new(&t);
    portal.sign_in_member(&t, "+919876500002").await;
    let choice = portal.page("/portal").await;
    assert!(
        choice.contains("Contoso") && choice.contains("Fabrikam"),
        "{choice}"
    );

    let reports = portal.page(&org_path(&t, "/reports")).await;
    assert!(reports.contains("Field Sales"));
    assert!(
        !reports.contains("Messages in the organization"),
        "org totals are for org admins"
    );
    let settings = portal.page(&org_path(&t, "/settings")).await;
    assert!(settings.contains("Field Sales") && settings.contains("Unmap"));
    assert!(!settings.contains("API tokens"));
}

#[tokio::test]
async fn an_admin_creates_a_group_under_another_from_the_groups_page() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    t.add_users(&["+919876500002"]);
    let parent = t.group_with("+919876500002", &[]).to_string();
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;
    let groups = org_path(&t, "/groups");
    let csrf = portal.csrf(&groups).await;
    let empty = portal
        .post(
            &groups,
            &[("csrf", csrf.as_str()), ("name", " "), ("parent", "")],
        )
        .await;
    assert_eq!(empty.status(), StatusCode::OK);
    assert!(empty.text().await.unwrap().contains("Name: "));
    let created = portal
        .post(
            &groups,
            &[
                ("csrf", csrf.as_str()),
                ("name", "North Zone"),
                ("parent", parent.as_str()),
                ("org_mapped", "on"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let page = portal.page(&location).await;
    assert!(
        page.contains("North Zone") && page.contains("Part of") && page.contains("Field Sales")
    );
    let tree = portal.page(&groups).await;
    assert!(
        tree.contains(r#"class="d1""#),
        "North Zone sits under Field Sales"
    );
}

#[tokio::test]
async fn the_import_form_takes_files_larger_than_the_default_body_limit() {
    let t = spawn_app().await;
    t.add_admin("ada@contoso.example");
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;
    let csrf = portal.csrf(&org_path(&t, "/imports/new")).await;
    // 3 MB: more than axum's 2 MB default for a request body.
    let mut csv = String::from("Phone Number,Name\n");
    while csv.len() < 3 * 1024 * 1024 {
        csv.push_str("+919876543210,Asha Rao\n");
    }
    let file = reqwest::multipart::Part::bytes(csv.into_bytes())
        .file_name("big.csv")
        .mime_str("text/csv")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("dry_run", "true")
        .part("file", file);
    let uploaded = portal
        .client
        .post(format!("{}{}", portal.base, org_path(&t, "/imports")))
        .header("cookie", portal.cookie.clone().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = uploaded.status();
    let body = uploaded.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        &body[body.find("<main").unwrap_or(0)..]
    );
    let history = portal.page(&org_path(&t, "/imports")).await;
    assert!(
        history.contains("big.csv") && history.contains("(dry run)"),
        "{history}"
    );
}

#[tokio::test]
async fn an_admin_exports_the_users_shown_from_the_users_page_and_downloads_it_from_the_history() {
    let t = spawn_app().await;
    t.add_users(&["+919876543210", "+919876543211"]);
    t.add_admin("ada@contoso.example");
    let mut portal = Portal::new(&t);
    portal.sign_in_admin("ada@contoso.example").await;
    let users = portal.page(&org_path(&t, "/users?q=%2B9198765432")).await;
    assert!(users.contains("Export Users"), "{users}");
    let csrf = portal.csrf(&org_path(&t, "/users")).await;
    let forged = portal
        .post(
            &org_path(&t, "/exports"),
            &[("csrf", "forged"), ("kind", "users")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let queued = portal
        .post(
            &org_path(&t, "/exports"),
            &[
                ("csrf", csrf.as_str()),
                ("kind", "users"),
                ("format", "csv"),
                ("q", "+919876543211"),
                ("sort", "phone"),
            ],
        )
        .await;
    assert_eq!(queued.status(), StatusCode::SEE_OTHER);
    assert!(
        queued.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/exports?done=queued")
    );
    let mut html = String::new();
    for _ in 0..400 {
        html = portal.page(&org_path(&t, "/exports")).await;
        if html.contains(">Completed<") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        html.contains(">Completed<") && html.contains("1 exported"),
        "{html}"
    );
    let start = html.find("/download").expect("a download link");
    let href_start = html[..start].rfind("href=\"").unwrap() + "href=\"".len();
    let href = &html[href_start..start + "/download".len()];
    let file = portal.get(href).await;
    assert_eq!(file.status(), StatusCode::OK);
    let text = file.text().await.unwrap();
    assert!(
        text.contains("'+919876543211"),
        "the search applied: {text}"
    );
    assert!(!text.contains("'+919876543210"), "{text}");
    // Members see no export page.
    let mut member = Portal::new(&t);
    member.sign_in_member(&t, "+919876543210").await;
    let refused = member.get(&org_path(&t, "/exports")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
