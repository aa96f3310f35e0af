//! Messages, actions, connectors and reports.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use steward_app::App;
use steward_app::content;
use steward_domain::content::Question;
use steward_store::PublishableKind as ItemKind;

use crate::ApiError;
use crate::auth::Caller;
use crate::auth::call;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::wire::{
    ActionJson, ActionPath, ActionResponseJson, AttachmentJson, AttachmentPath, ConnectorJson,
    ConnectorPath, GroupPath, GroupReportItem, Items, MessageJson, MessagePath, MessagesJson,
    OrgPath, OrgTotalsJson, QuestionJson, ReportsJson,
};

/// The routes of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    messages,
    post_message,
    attach,
    download,
    actions,
    create_action,
    publish_action,
    unpublish_action,
    respond,
    connectors,
    create_connector,
    publish_connector,
    unpublish_connector,
    reports
))]
pub(crate) struct Api;

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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Page {
    /// Messages older than this message id (the `next_cursor` of the previous page).
    before: Option<String>,
    /// Page size (default 50).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/groups/{id}/messages", tag = "content",
    summary = "A group's messages", params(OrgPath, GroupPath, Page),
    responses((status = 200, description = "One page, newest first", body = MessagesJson)))]
async fn messages(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<MessagesJson>, ApiError> {
    let (items, next) = call(app, &caller, move |app, c| {
        content::messages(app, c, &id, page.before.as_deref(), page.limit)
    })
    .await?;
    Ok(Json(MessagesJson {
        items: items.into_iter().map(MessageJson::from).collect(),
        next_cursor: next,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewMessage {
    text: String,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/groups/{id}/messages", tag = "content",
    summary = "Post a message", params(OrgPath, GroupPath), request_body = NewMessage,
    responses((status = 201, description = "The message", body = MessageJson)))]
async fn post_message(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<NewMessage>,
) -> Result<(StatusCode, Json<MessageJson>), ApiError> {
    let message = call(app, &caller, move |app, c| {
        content::post_message(app, c, &id, &body.text)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Mine {
    /// Only the caller's own (a member's).
    #[serde(default)]
    mine: bool,
}

/// `GET .../actions?mine=true`: self-created, or all in the org (everyone may see).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/actions", tag = "content", summary = "List actions",
    params(OrgPath, Mine), responses((status = 200, description = "The actions", body = Items<ActionJson>)))]
async fn actions(
    caller: Caller,
    State(app): State<App>,
    QueryParams(q): QueryParams<Mine>,
) -> Result<Json<Items<ActionJson>>, ApiError> {
    let items = call(app, &caller, move |app, c| {
        content::list_actions(app, c, q.mine)
    })
    .await?;
    Ok(Json(Items::of(items)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewAction {
    #[schema(schema_with = crate::wire::action_kind_schema)]
    kind: String,
    title: String,
    #[schema(value_type = Vec<QuestionJson>)]
    questions: Vec<Question>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/actions", tag = "content", summary = "Create an action",
    params(OrgPath), request_body = NewAction,
    responses((status = 201, description = "The action", body = ActionJson)))]
async fn create_action(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewAction>,
) -> Result<(StatusCode, Json<ActionJson>), ApiError> {
    let action = call(app, &caller, move |app, c| {
        content::create_action(app, c, &body.kind, &body.title, body.questions)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(action.into())))
}

/// The group to publish to or withdraw from.
#[derive(Deserialize, utoipa::ToSchema)]
struct ToGroup {
    #[schema(format = Uuid)]
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

#[utoipa::path(post, path = "/api/v1/orgs/{org}/actions/{id}/publish", tag = "content",
    summary = "Publish an action to a group", params(OrgPath, ActionPath), request_body = ToGroup,
    responses((status = 204, description = "Done")))]
async fn publish_action(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ToGroup>,
) -> Result<StatusCode, ApiError> {
    set_published(caller, app, ItemKind::Action, id, body, true).await
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/actions/{id}/unpublish", tag = "content",
    summary = "Withdraw an action from a group", params(OrgPath, ActionPath), request_body = ToGroup,
    responses((status = 204, description = "Done")))]
async fn unpublish_action(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ToGroup>,
) -> Result<StatusCode, ApiError> {
    set_published(caller, app, ItemKind::Action, id, body, false).await
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/connectors/{id}/publish", tag = "content",
    summary = "Publish a connector to a group", params(OrgPath, ConnectorPath), request_body = ToGroup,
    responses((status = 204, description = "Done")))]
async fn publish_connector(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ToGroup>,
) -> Result<StatusCode, ApiError> {
    set_published(caller, app, ItemKind::Connector, id, body, true).await
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/connectors/{id}/unpublish", tag = "content",
    summary = "Withdraw a connector from a group", params(OrgPath, ConnectorPath), request_body = ToGroup,
    responses((status = 204, description = "Done")))]
async fn unpublish_connector(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ToGroup>,
) -> Result<StatusCode, ApiError> {
    set_published(caller, app, ItemKind::Connector, id, body, false).await
}

/// A member's answers, one per question, in the group the action was seen in.
#[derive(Deserialize, utoipa::ToSchema)]
struct Answer {
    #[schema(format = Uuid)]
    group_id: String,
    answers: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/actions/{id}/responses", tag = "content",
    summary = "Answer an action", params(OrgPath, ActionPath), request_body = Answer,
    responses((status = 201, description = "The response", body = ActionResponseJson)))]
async fn respond(
    caller: Caller,
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Answer>,
) -> Result<(StatusCode, Json<ActionResponseJson>), ApiError> {
    let response = call(app, &caller, move |app, c| {
        content::respond(app, c, &id, &body.group_id, body.answers)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(response.into())))
}

/// `GET .../connectors?mine=true`: self-created, or all in the org.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/connectors", tag = "content", summary = "List connectors",
    params(OrgPath, Mine), responses((status = 200, description = "The connectors", body = Items<ConnectorJson>)))]
async fn connectors(
    caller: Caller,
    State(app): State<App>,
    QueryParams(q): QueryParams<Mine>,
) -> Result<Json<Items<ConnectorJson>>, ApiError> {
    let items = call(app, &caller, move |app, c| {
        content::list_connectors(app, c, q.mine)
    })
    .await?;
    Ok(Json(Items::of(items)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewConnector {
    name: String,
    /// Integration-specific settings; never secrets.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object, required = false)]
    config: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/connectors", tag = "content", summary = "Create a connector",
    params(OrgPath), request_body = NewConnector,
    responses((status = 201, description = "The connector", body = ConnectorJson)))]
async fn create_connector(
    caller: Caller,
    State(app): State<App>,
    JsonBody(body): JsonBody<NewConnector>,
) -> Result<(StatusCode, Json<ConnectorJson>), ApiError> {
    let connector = call(app, &caller, move |app, c| {
        content::create_connector(app, c, &body.name, body.config)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(connector.into())))
}

/// `GET .../reports`: one report per group the caller may see reports of (all org
/// groups for org admins, administered groups for group admins), with org totals for
/// org admins.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/reports", tag = "content", summary = "Group reports",
    params(OrgPath), responses((status = 200, description = "The reports the caller may see", body = ReportsJson)))]
async fn reports(caller: Caller, State(app): State<App>) -> Result<Json<ReportsJson>, ApiError> {
    let reports = call(app, &caller, content::reports).await?;
    let items = reports
        .groups
        .into_iter()
        .map(|(group, report)| GroupReportItem {
            group: group.into(),
            report: report.into(),
        })
        .collect();
    let org = reports.org.map(|t| OrgTotalsJson {
        messages: t.messages,
        actions: t.actions,
        responses: t.responses,
    });
    Ok(Json(ReportsJson { items, org }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FileName {
    /// The file's name (default `attachment`).
    file_name: Option<String>,
}

/// `POST .../messages/{message}/attachments?file_name=`: the body is the file.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/groups/{id}/messages/{message}/attachments", tag = "content",
    summary = "Attach a file to a message", params(OrgPath, GroupPath, MessagePath, FileName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file itself, with its type in Content-Type"),
    responses((status = 201, description = "The attachment", body = AttachmentJson)))]
async fn attach(
    caller: Caller,
    State(app): State<App>,
    Path((_, id, message)): Path<(String, String, String)>,
    QueryParams(params): QueryParams<FileName>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<AttachmentJson>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(attachment.into())))
}

/// `GET .../attachments/{attachment}`: always a download (never shown inline), with a
/// file name that cannot break the header.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/groups/{id}/attachments/{attachment}", tag = "content",
    summary = "Download an attachment", params(OrgPath, GroupPath, AttachmentPath),
    responses((status = 200, description = "The file, as an attachment", content_type = "application/octet-stream", body = Vec<u8>)))]
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
    let body = crate::upload::send(file);
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
