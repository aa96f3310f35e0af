//! The OpenAPI document: it matches the committed snapshot, names every route of the
//! router, and describes what the real server answers (each response body is
//! validated against the document's schema for its operation and status).
//!

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app};

/// The committed document, relative to this crate.
const SNAPSHOT: &str = "openapi.json";

#[test]
fn the_openapi_document_matches_the_committed_snapshot() {
    let generated = serde_json::to_string_pretty(&steward_web::openapi()).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "the OpenAPI document changed (first difference at line {}): review the change, \
             then update crates/web/{SNAPSHOT} with \
             `UPDATE_OPENAPI=1 cargo test -p steward-web --test api_openapi` and commit it",
            line + 1
        );
    }
}

#[test]
fn the_document_is_openapi_3_1_with_a_problem_schema() {
    let doc = serde_json::to_value(steward_web::openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let problem = &doc["components"]["schemas"]["Problem"];
    assert_eq!(
        problem["properties"]["errors"]["type"], "array",
        "{problem}"
    );
    let field = &doc["components"]["schemas"]["ProblemField"];
    for name in ["field", "reason"] {
        assert!(field["properties"][name].is_object(), "{field}");
    }
}

/// Every `.route(path, method(handler)...)` in the crate's source: the router as
/// written, so a route added without an annotation fails here.
fn routes_in_source() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        // The portal's pages (`src/portal/`) are HTML, not the API.
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        // A module's unit tests may build routers of their own; they are not the API.
        let text = text.split("#[cfg(test)]").next().unwrap();
        for (start, _) in text.match_indices(".route(") {
            let rest = &text[start + ".route(".len()..];
            // The call runs to its balancing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .unwrap()
                .0;
            let call = &rest[..end];
            let path = call.split('"').nth(1).unwrap().to_owned();
            let chain = &call[call.find(',').unwrap()..];
            for method in ["get", "post", "put", "patch", "delete"] {
                let called = chain.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0 || !chain[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if called {
                    routes.push((method.to_owned(), path.clone()));
                }
            }
        }
    }
    routes.sort();
    routes
}

#[test]
fn every_route_of_the_router_is_in_the_document() {
    let doc = serde_json::to_value(steward_web::openapi()).unwrap();
    let routes = routes_in_source();
    assert!(
        routes.len() > 40,
        "the source walk found the routes: {routes:?}"
    );
    let missing: Vec<_> = routes
        .iter()
        .filter(|(method, path)| !doc["paths"][path][method].is_object())
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "the document names exactly the router's operations"
    );
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "operation ids are unique");
}

/// The document's schemas, made strict: an object may carry only the properties the
/// document names, so an undocumented field fails like a missing one.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(strict);
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

/// How `body` breaks `schema`, whose `$ref`s point into the (strict) component
/// `schemas`; empty when it fits.
fn violations(schemas: &Value, schema: Value, body: &Value) -> Vec<String> {
    let mut root = json!({"allOf": [schema], "components": {"schemas": schemas}});
    strict(&mut root["allOf"]);
    let validator = jsonschema::draft202012::new(&root).unwrap();
    validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn the_check_refuses_bodies_that_break_the_schema() {
    let doc = serde_json::to_value(steward_web::openapi()).unwrap();
    let mut schemas = doc["components"]["schemas"].clone();
    strict(&mut schemas);
    let page = json!({"$ref": "#/components/schemas/Page_JobJson"});
    let fits = json!({"items": [], "next_cursor": null, "total": 0});
    assert!(violations(&schemas, page.clone(), &fits).is_empty());
    let job = json!({"id": "0190c7a0-0000-7000-8000-000000000000", "kind": "import_users",
        "status": "queued", "created_by": "cli", "created_at": "2026-01-31T09:00:00Z",
        "progress": {"done": 0, "total": 0}, "counts": {}, "attempts": 0});
    let with = |field: &str, value: Value| {
        let mut job = job.clone();
        job[field] = value;
        json!({"items": [job], "next_cursor": null, "total": 1})
    };
    assert!(violations(&schemas, page.clone(), &with("file_name", json!("a.csv"))).is_empty());
    for broken in [
        json!({"items": [], "next_cursor": null}),
        json!({"items": [], "next_cursor": null, "total": "many"}),
        with("status", json!("sleeping")),
        with("payload", json!({"blob": "orgs/x/imports/y/original.csv"})),
    ] {
        assert!(
            !violations(&schemas, page.clone(), &broken).is_empty(),
            "{broken}"
        );
    }
}

/// Checks real responses against the document served by the same server.
struct Conformance {
    doc: Value,
    schemas: Value,
    checked: Vec<String>,
}

impl Conformance {
    async fn fetch(t: &TestApp) -> Conformance {
        let response = t
            .client
            .get(format!("{}/api/openapi.json", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "served without credentials"
        );
        let doc: Value = response.json().await.unwrap();
        let mut schemas = doc["components"]["schemas"].clone();
        strict(&mut schemas);
        Conformance {
            doc,
            schemas,
            checked: Vec::new(),
        }
    }

    /// Sends `request` and validates the answer against `template`'s operation;
    /// returns the body.
    async fn check(
        &mut self,
        method: Method,
        template: &str,
        request: reqwest::RequestBuilder,
        expected: StatusCode,
    ) -> Value {
        let response = request.send().await.unwrap();
        let status = response.status();
        let media_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body: Value = if status == StatusCode::NO_CONTENT {
            Value::Null
        } else {
            response.json().await.unwrap()
        };
        let what = format!("{method} {template} -> {status}");
        assert_eq!(status, expected, "{what}: {body}");
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{what}: no such operation in the document");
        let responses = &op["responses"];
        let code = status.as_u16();
        let documented = [code.to_string(), format!("{}XX", code / 100)]
            .into_iter()
            .find_map(|key| responses.get(&key))
            .unwrap_or_else(|| panic!("{what}: status not in the document"));
        if status != StatusCode::NO_CONTENT {
            let schema = documented["content"][&media_type]["schema"].clone();
            assert!(
                schema.is_object(),
                "{what}: the document has no {media_type} body here"
            );
            let errors = violations(&self.schemas, schema, &body);
            assert!(errors.is_empty(), "{what}: {errors:#?}\nbody: {body:#}");
        }
        self.checked.push(format!("{method} {template}"));
        body
    }
}

/// Requests to the org's routes as its admin.
trait OrgAdmin {
    fn org_url(&self, path: &str) -> String;
    fn org_get(&self, path: &str) -> reqwest::RequestBuilder;
    fn org_post(&self, path: &str) -> reqwest::RequestBuilder;
}

impl OrgAdmin for TestApp {
    fn org_url(&self, path: &str) -> String {
        format!("{}/api/v1/orgs/{}{path}", self.base, self.org)
    }

    fn org_get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.org_url(path)).bearer_auth(&self.admin)
    }

    fn org_post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(self.org_url(path))
            .bearer_auth(&self.admin)
    }
}

#[tokio::test]
async fn real_responses_match_the_documented_schemas() {
    let t = spawn_app().await;
    let mut c = Conformance::fetch(&t).await;
    let org = "/api/v1/orgs/{org}";
    let (get, post, put, patch) = (Method::GET, Method::POST, Method::PUT, Method::PATCH);

    // Attributes, then users with a value of each.
    let suggestions = c
        .check(
            get.clone(),
            &format!("{org}/attributes/suggestions"),
            t.org_get("/attributes/suggestions"),
            StatusCode::OK,
        )
        .await;
    assert!(
        suggestions["attributes"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let schema = json!({"attributes": [
        {"key": "employee_id", "name": "Employee ID", "type": "string"},
        {"key": "remote", "name": "Remote", "type": "yes_no"},
    ]});
    c.check(
        put,
        &format!("{org}/attributes"),
        t.client
            .put(t.org_url("/attributes"))
            .bearer_auth(&t.admin)
            .json(&schema),
        StatusCode::OK,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/attributes"),
        t.org_get("/attributes"),
        StatusCode::OK,
    )
    .await;
    let user = json!({"phone": "+14155550123", "name": "Ada Lovelace",
        "attributes": {"employee_id": "E-17", "remote": true}});
    c.check(
        post.clone(),
        &format!("{org}/users"),
        t.org_post("/users").json(&user),
        StatusCode::CREATED,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/users"),
        t.org_get("/users"),
        StatusCode::OK,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/users/{{phone}}"),
        t.org_get("/users/%2B14155550123"),
        StatusCode::OK,
    )
    .await;
    c.check(
        patch,
        &format!("{org}/users/{{phone}}"),
        t.client
            .patch(t.org_url("/users/%2B14155550123"))
            .bearer_auth(&t.admin)
            .json(&json!({"name": "Ada King"})),
        StatusCode::OK,
    )
    .await;

    // Problems: a 404 and a 422 with its field errors.
    let missing = c
        .check(
            get.clone(),
            &format!("{org}/users/{{phone}}"),
            t.org_get("/users/%2B14155550199"),
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_eq!(missing["status"], 404);
    let invalid = c
        .check(
            post.clone(),
            &format!("{org}/users"),
            t.org_post("/users")
                .json(&json!({"phone": "not a phone", "name": "X"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(
        invalid["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{invalid}"
    );

    // Groups and members.
    let group = c
        .check(
            post.clone(),
            &format!("{org}/groups"),
            t.org_post("/groups").json(&json!({"name": "Field team"})),
            StatusCode::CREATED,
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    c.check(
        get.clone(),
        &format!("{org}/groups"),
        t.org_get("/groups"),
        StatusCode::OK,
    )
    .await;
    c.check(
        post.clone(),
        &format!("{org}/groups/{{id}}/members"),
        t.org_post(&format!("/groups/{gid}/members"))
            .json(&json!({"phone": "+14155550123", "role": "admin"})),
        StatusCode::CREATED,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/groups/{{id}}"),
        t.org_get(&format!("/groups/{gid}")),
        StatusCode::OK,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/groups/{{id}}/members"),
        t.org_get(&format!("/groups/{gid}/members")),
        StatusCode::OK,
    )
    .await;

    // Content: messages, actions, connectors and reports.
    c.check(
        get.clone(),
        &format!("{org}/groups/{{id}}/messages"),
        t.org_get(&format!("/groups/{gid}/messages")),
        StatusCode::OK,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/actions"),
        t.org_get("/actions"),
        StatusCode::OK,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/connectors"),
        t.org_get("/connectors"),
        StatusCode::OK,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/reports"),
        t.org_get("/reports"),
        StatusCode::OK,
    )
    .await;

    // Imports: upload, then the job as it runs and once it is done.
    let csv = "phone,name,Employee ID\n+14155550124,Grace Hopper,E-18\nbad,Nobody,E-19\n";
    let job = c
        .check(
            post.clone(),
            &format!("{org}/imports"),
            t.org_post("/imports?file_name=people.csv").body(csv),
            StatusCode::ACCEPTED,
        )
        .await;
    assert!(
        job.get("payload").is_none() && job.get("checkpoint").is_none(),
        "{job}"
    );
    let id = job["id"].as_str().unwrap().to_owned();
    let mut done = Value::Null;
    for _ in 0..400 {
        done = c
            .check(
                get.clone(),
                &format!("{org}/imports/{{id}}"),
                t.org_get(&format!("/imports/{id}")),
                StatusCode::OK,
            )
            .await;
        if done["finished_at"] != Value::Null {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(done["counts"]["created"], 1, "{done}");
    assert_eq!(done["counts"]["failed"], 1, "{done}");
    c.check(
        get.clone(),
        &format!("{org}/imports"),
        t.org_get("/imports"),
        StatusCode::OK,
    )
    .await;

    // Tokens, the audit log, and who the caller is.
    c.check(
        post.clone(),
        &format!("{org}/tokens"),
        t.org_post("/tokens")
            .json(&json!({"role": "member", "label": "kiosk"})),
        StatusCode::CREATED,
    )
    .await;
    c.check(
        get.clone(),
        &format!("{org}/tokens"),
        t.org_get("/tokens"),
        StatusCode::OK,
    )
    .await;
    let audit = c
        .check(
            get.clone(),
            &format!("{org}/audit"),
            t.org_get("/audit"),
            StatusCode::OK,
        )
        .await;
    assert!(audit["total"].as_u64().is_some_and(|n| n > 0), "{audit}");
    c.check(
        get.clone(),
        "/api/v1/me",
        t.client
            .get(format!("{}/api/v1/me", t.base))
            .bearer_auth(&t.admin),
        StatusCode::OK,
    )
    .await;

    // An admin signs in with a password and asks who they are.
    t.add_admin("ada@contoso.example");
    let login = c
        .check(
            post.clone(),
            "/api/v1/auth/login",
            t.client
                .post(format!("{}/api/v1/auth/login", t.base))
                .json(&json!({"email": "ada@contoso.example", "password": PASSWORD})),
            StatusCode::OK,
        )
        .await;
    assert!(login["csrf_token"].is_string(), "{login}");
    c.check(
        post,
        "/api/v1/auth/otp/start",
        t.client
            .post(format!("{}/api/v1/auth/otp/start", t.base))
            .json(&json!({"phone": "+14155550123"})),
        StatusCode::ACCEPTED,
    )
    .await;

    assert!(c.checked.len() >= 25, "{:?}", c.checked);
}

#[tokio::test]
async fn the_reference_page_is_served_whole_with_nothing_fetched_from_elsewhere() {
    let t = spawn_app().await;
    let response = t
        .client
        .get(format!("{}/api/docs", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    for expected in [
        "/api/v1/orgs/{org}/users",
        "/api/v1/orgs/{org}/imports/{id}/errors.csv",
        "Problem",
        "JobJson",
    ] {
        assert!(page.contains(expected), "the page shows {expected}");
    }
    assert!(!page.contains("<script"), "no script");
    assert!(
        !page.contains("src=\"http"),
        "nothing loaded from elsewhere"
    );
}
