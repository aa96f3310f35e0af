//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations and
//! the wire types, served as JSON and as a readable reference page.
//!
//! Each resource module lists its own operations (`Api`); [`document`] merges them,
//! names the credentials, and gives every operation the problem+json answers, so an
//! error response is described once instead of on each handler.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::state::WebState;
use crate::{
    ApiError, admin, attributes, content, deletion, exports, groups, health, imports, jobs,
    lifecycle, sessions, user_deletions, users,
};

/// The media type of every error body.
const PROBLEM: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Steward API",
        description = "Users, groups, imports and content of Steward orgs. Every error is \
            `application/problem+json` (RFC 9457); a 422 lists each bad field in `errors`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(openapi_json, docs),
    components(schemas(crate::error::Problem)),
    security(("bearer" = []), ("session_cookie" = [])),
    tags(
        (name = "sessions", description = "Signing in and out, and who the caller is"),
        (name = "users", description = "The users directory"),
        (name = "attributes", description = "The org's attribute schema"),
        (name = "groups", description = "The group hierarchy and its members"),
        (name = "imports", description = "Bulk user imports from CSV"),
        (name = "exports", description = "Users exports, tenant archives and members' own data"),
        (name = "content", description = "Messages, actions, connectors and reports"),
        (name = "jobs", description = "Background jobs of every kind"),
        (name = "deletion", description = "Deleting company data, its status and receipt"),
        (name = "tokens", description = "API tokens"),
        (name = "audit", description = "The audit log"),
        (name = "health", description = "Liveness and readiness"),
        (name = "reference", description = "This document"),
    )
)]
struct ApiDoc;

/// The whole document: every route of [`crate::router`].
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    for part in [
        health::Api::openapi(),
        sessions::Api::openapi(),
        users::Api::openapi(),
        lifecycle::Api::openapi(),
        attributes::Api::openapi(),
        groups::Api::openapi(),
        content::Api::openapi(),
        imports::Api::openapi(),
        exports::Api::openapi(),
        jobs::Api::openapi(),
        user_deletions::Api::openapi(),
        deletion::Api::openapi(),
        admin::Api::openapi(),
    ] {
        doc.merge(part);
    }
    // After the merge, so they see every operation.
    for modifier in [&Credentials as &dyn Modify, &Problems, &OperationIds] {
        modifier.modify(&mut doc);
    }
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The two credentials: a bearer (API token or member session) or the admin cookie.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`stw_...`) or a member session (`sts_...`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "An admin session from sign-in; writes also send its CSRF token in x-csrf-token",
            ))),
        );
    }
}

/// Operation ids are the handlers' names, which repeat across modules (`list`,
/// `create`); the tag in front makes each unique, as OpenAPI requires.
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, doc: &mut Document) {
        for op in operations(doc) {
            let tag = op.tags.iter().flatten().next().cloned().unwrap_or_default();
            if let Some(id) = &mut op.operation_id {
                *id = format!("{tag}_{id}");
            }
        }
    }
}

/// Every operation of the document.
fn operations(doc: &mut Document) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
    })
}

/// Every operation can answer a problem: 4xx for the caller's mistakes (401, 403, 404,
/// 409, 413, 415, 422, 429) and 5xx for ours.
struct Problems;

impl Modify for Problems {
    fn modify(&self, doc: &mut Document) {
        let problem = || {
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build()
        };
        for op in operations(doc) {
            for (status, description) in [
                ("4XX", "The request was refused; `detail` says why"),
                (
                    "5XX",
                    "Something failed on the server; the log has the details",
                ),
            ] {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(description)
                                .content(PROBLEM, problem())
                                .build(),
                        )
                    });
            }
        }
    }
}

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs))
}

/// `GET /api/openapi.json`: this document, open to anyone.
#[utoipa::path(get, path = "/api/openapi.json", tag = "reference", summary = "The OpenAPI document",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)))]
async fn openapi_json() -> Json<Document> {
    Json(document())
}

/// `GET /api/docs`: the document as a page to read, with no script and nothing fetched
/// from elsewhere.
#[utoipa::path(get, path = "/api/docs", tag = "reference", summary = "The API reference page",
    security(()),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
async fn docs() -> Result<Response, ApiError> {
    let doc = serde_json::to_value(document()).map_err(|e| {
        tracing::error!(error = %e, "the OpenAPI document does not serialize");
        ApiError::internal()
    })?;
    let page = ReferencePage::of(&doc).render().map_err(|e| {
        tracing::error!(error = %e, "the API reference page does not render");
        ApiError::internal()
    })?;
    Ok((
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        )],
        Html(page),
    )
        .into_response())
}

/// The reference page: each operation with its parameters, body and answers, then each
/// schema.
#[derive(Template)]
#[template(path = "api_docs.html")]
struct ReferencePage {
    title: String,
    version: String,
    description: String,
    operations: Vec<OperationView>,
    schemas: Vec<SchemaView>,
}

struct OperationView {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    public: bool,
    params: Vec<ParamView>,
    body: Vec<ContentView>,
    responses: Vec<ResponseView>,
}

struct ParamView {
    name: String,
    location: String,
    required: bool,
    description: String,
    schema: String,
}

struct ContentView {
    media_type: String,
    schema: String,
}

struct ResponseView {
    status: String,
    description: String,
    content: Vec<ContentView>,
}

struct SchemaView {
    name: String,
    json: String,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// A schema in a few words: a component's name, `array of X`, or its type.
fn schema_label(schema: &Value) -> String {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return name.to_owned();
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", schema_label(items));
    }
    if let Some(values) = schema["enum"].as_array() {
        let names: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("one of {}", names.join(", "));
    }
    match (&schema["type"], schema["format"].as_str()) {
        (Value::Null, _) => "any".to_owned(),
        (ty, Some(format)) => format!("{} ({format})", type_label(ty)),
        (ty, None) => type_label(ty),
    }
}

fn type_label(ty: &Value) -> String {
    match ty {
        Value::Array(types) => types.iter().map(text).collect::<Vec<_>>().join(" or "),
        other => text(other),
    }
}

fn contents(content: &Value) -> Vec<ContentView> {
    content
        .as_object()
        .map(|media| {
            media
                .iter()
                .map(|(media_type, c)| ContentView {
                    media_type: media_type.clone(),
                    schema: schema_label(&c["schema"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl ReferencePage {
    fn of(doc: &Value) -> ReferencePage {
        let mut operations = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else {
                    continue;
                };
                let params = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| ParamView {
                        name: text(&p["name"]),
                        location: text(&p["in"]),
                        required: p["required"].as_bool().unwrap_or(false),
                        description: text(&p["description"]),
                        schema: schema_label(&p["schema"]),
                    })
                    .collect();
                let responses = op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| ResponseView {
                        status: status.clone(),
                        description: text(&r["description"]),
                        content: contents(&r["content"]),
                    })
                    .collect();
                operations.push(OperationView {
                    anchor: format!("{method}-{path}").replace(['/', '{', '}', '.'], "-"),
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(&op["summary"]),
                    description: text(&op["description"]),
                    public: op["security"].as_array().is_some_and(|s| {
                        s.iter()
                            .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
                    }),
                    params,
                    body: contents(&op["requestBody"]["content"]),
                    responses,
                });
            }
        }
        let schemas = doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| SchemaView {
                name: name.clone(),
                json: serde_json::to_string_pretty(schema).unwrap_or_default(),
            })
            .collect();
        ReferencePage {
            title: text(&doc["info"]["title"]),
            version: text(&doc["info"]["version"]),
            description: text(&doc["info"]["description"]),
            operations,
            schemas,
        }
    }
}
