//! Messages, actions, connectors and reports.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_app::App;
use steward_app::content;
use steward_domain::content::Question;
use steward_store::PublishableKind as ItemKind;

use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::{ApiError, call};

pub fn router() -> Router<WebState> {
    Router::new()
        .route(
            "/api/v1/orgs/{org}/groups/{id}/messages",
            get(messages).post(post_message),
        )
        .route(
            "/api/v1/orgs/{org}/groups/{id}/messages/{message}/attachments",
            post(attach),
        )
        .route(
            "/api/v1/orgs/{org}/groups/{id}/attachments/{attachment}",
            get(download),
        )
        .route(
            "/api/v1/orgs/{org}/actions",
            get(actions).post(create_action),
        )
        .route(
            "/api/v1/orgs/{org}/actions/{id}/publish",
            post(publish_action),
        )
        .route(
            "/api/v1/orgs/{org}/actions/{id}/unpublish",
            post(unpublish_action),
        )
        .route("/api/v1/orgs/{org}/actions/{id}/responses", post(respond))
        .route(
            "/api/v1/orgs/{org}/connectors",
            get(connectors).post(create_connector),
        )
        .route(
            "/api/v1/orgs/{org}/connectors/{id}/publish",
            post(publish_connector),
        )
        .route(
            "/api/v1/orgs/{org}/connectors/{id}/unpublish",
            post(unpublish_connector),
        )
        .route("/api/v1/orgs/{org}/reports", get(reports))
}

#[derive(Deserialize)]
struct Page {
    before: Option<String>,
    limit: Option<u32>,
}

async fn messages(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<Value>, ApiError> {
    let (items, next) = call(app, &caller, move |app, c| {
        content::messages(app, c, &id, page.before.as_deref(), page.limit)
    })
    .await?;
    Ok(Json(json!({"items": items, "next_cursor": next})))
}

#[derive(Deserialize)]
struct NewMessage {
    text: String,
}

async fn post_message(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<NewMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let message = call(app, &caller, move |app, c| {
        content::post_message(app, c, &id, &body.text)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(message))))
}

#[derive(Deserialize)]
struct Mine {
    #[serde(default)]
    mine: bool,
}

/// `GET .../actions?mine=true`: self-created, or all in the org (everyone may see).
async fn actions(
    caller: Caller,
    State(app): State<App>,
    QueryParams(q): QueryParams<Mine>,
) -> Result<Json<Value>, ApiError> {
    let items = call(app, &caller, move |app, c| {
        content::list_actions(app, c, q.mine)
    })
    .await?;
    Ok(Json(json!({"items": items, "total": items.len()})))
}

#[derive(Deserialize)]
struct NewAction {
    kind: String,
    title: String,
    questions: Vec<Question>,
}

async fn create_action(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewAction>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let action = call(app, &caller, move |app, c| {
        content::create_action(app, c, &body.kind, &body.title, body.questions)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(action))))
}

#[derive(Deserialize)]
struct ToGroup {
    group_id: String,
}

async fn set_published(
    caller: Caller,
    app: App,
    kind: ItemKind,
    id: String,
    body: ToGroup,
    published: bool,
) -> Result<StatusCode, ApiError> {
    call(app, &caller, move |app, c| {
        content::set_published(app, c, kind, &id, &body.group_id, published)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn publish_action(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ToGroup>,
) -> Result<StatusCode, ApiError> {
    set_published(caller, app, ItemKind::Action, id, body, true).await
}

async fn unpublish_action(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ToGroup>,
) -> Result<StatusCode, ApiError> {
    set_published(caller, app, ItemKind::Action, id, body, false).await
}

async fn publish_connector(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ToGroup>,
) -> Result<StatusCode, ApiError> {
    set_published(caller, app, ItemKind::Connector, id, body, true).await
}

async fn unpublish_connector(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ToGroup>,
) -> Result<StatusCode, ApiError> {
    set_published(caller, app, ItemKind::Connector, id, body, false).await
}

#[derive(Deserialize)]
struct Answer {
    group_id: String,
    answers: Vec<String>,
}

async fn respond(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Answer>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let response = call(app, &caller, move |app, c| {
        content::respond(app, c, &id, &body.group_id, body.answers)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(response))))
}

/// `GET .../connectors?mine=true`: self-created, or all in the org.
async fn connectors(
    caller: Caller,
    State(app): State<App>,
    QueryParams(q): QueryParams<Mine>,
) -> Result<Json<Value>, ApiError> {
    let items = call(app, &caller, move |app, c| {
        content::list_connectors(app, c, q.mine)
    })
    .await?;
    Ok(Json(json!({"items": items, "total": items.len()})))
}

#[derive(Deserialize)]
struct NewConnector {
    name: String,
    #[serde(default = "empty_object")]
    config: Value,
}

fn empty_object() -> Value {
    json!({})
}

async fn create_connector(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewConnector>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let connector = call(app, &caller, move |app, c| {
        content::create_connector(app, c, &body.name, body.config)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(connector))))
}

/// `GET .../reports`: one report per group the caller may see reports of (all org
/// groups for org admins, administered groups for group admins), with org totals for
/// org admins.
async fn reports(caller: Caller, State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let reports = call(app, &caller, content::reports).await?;
    let items: Vec<Value> = reports
        .groups
        .into_iter()
        .map(|(group, report)| json!({"group": group, "report": report}))
        .collect();
    let org_totals = reports
        .org
        .map(|t| json!({"messages": t.messages, "actions": t.actions, "responses": t.responses}));
    Ok(Json(json!({"items": items, "org": org_totals})))
}

#[derive(Deserialize)]
struct FileName {
    file_name: Option<String>,
}

/// `POST .../messages/{message}/attachments?file_name=`: the body is the file.
async fn attach(
    caller: Caller,
    State(app): State<App>,
    Path((_, id, message)): Path<(String, String, String)>,
    QueryParams(params): QueryParams<FileName>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let file_name = params.file_name.unwrap_or_else(|| "attachment".into());
    let caller = caller.caller;
    let attachment = crate::upload::receive(
        body,
        content::MAX_ATTACHMENT_BYTES,
        "attachments",
        move |reader| {
            Ok(content::attach(
                &app,
                &caller,
                &id,
                &message,
                &file_name,
                &content_type,
                reader,
            )?)
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!(attachment))))
}

/// `GET .../attachments/{attachment}`: always a download (never shown inline), with a
/// file name that cannot break the header.
async fn download(
    caller: Caller,
    State(app): State<App>,
    Path((_, id, attachment)): Path<(String, String, String)>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (attachment, file) = call(app, &caller, move |app, c| {
        content::open_attachment(app, c, &id, &attachment)
    })
    .await?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                content_disposition(&attachment.file_name),
            ),
            (header::CONTENT_LENGTH, attachment.size.to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`
/// (RFC 6266): quotes, backslashes, control and non-ASCII characters never reach the
/// quoted form.
pub(crate) fn content_disposition(name: &str) -> String {
    // Percent-encoding keeps CR/LF out of the header, but a browser decodes
    // `filename*` and would obey a right-to-left override: encode the safe form.
    let name = &*steward_domain::text::display_safe(name);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._-()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
