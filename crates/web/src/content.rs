//! Messages, actions, connectors and reports.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use steward_app::content::{self, Item};
use steward_app::{App, AppError, groups};
use steward_domain::access::{Action as Do, GroupRef};
use steward_domain::content::Question;
use steward_domain::group::Group;
use steward_domain::{MessageId, Role};

use crate::admin::audit_context;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::state::WebState;
use crate::wire::{
    ActionJson, ActionPath, ActionResponseJson, AttachmentJson, AttachmentPath, ConnectorJson,
    ConnectorPath, GroupPath, GroupReportItem, Items, MessageJson, MessagePath, MessagesJson,
    OrgPath, OrgTotalsJson, QuestionJson, ReportsJson,
};
use crate::{ApiError, blocking};

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

fn target(g: &Group) -> GroupRef {
    GroupRef {
        id: g.id,
        org_mapped: g.org_mapped,
    }
}

async fn load_group(caller: &Caller, app: &App, raw: String) -> Result<Group, ApiError> {
    let org = caller.authorize(&Do::ViewHierarchy)?.org;
    let app = app.clone();
    blocking(move || Ok(groups::get_group(&app, org, &raw)?)).await
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
    let group = load_group(&caller, &app, id).await?;
    caller.authorize(&Do::ViewGroup(target(&group)))?;
    let before: Option<MessageId> = match page.before {
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| ApiError::invalid("before", "not a message id"))?,
        ),
        None => None,
    };
    let limit = page.limit.unwrap_or(50);
    let items = blocking(move || {
        Ok(app
            .store
            .list_messages(group.org_id, group.id, before, limit)
            .map_err(AppError::from)?)
    })
    .await?;
    let next = (items.len() as u32 >= limit)
        .then(|| items.last().map(|m| m.id.to_string()))
        .flatten();
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
    let group = load_group(&caller, &app, id).await?;
    caller.authorize(&Do::ViewGroup(target(&group)))?;
    let actor = caller.actor.clone();
    let message =
        blocking(move || Ok(content::post_message(&app, &actor, &group, &body.text)?)).await?;
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
    let org = caller.authorize(&Do::ViewActions)?.org;
    let by =
        if q.mine {
            Some(caller.actor.user.ok_or_else(|| {
                ApiError::invalid("mine", "only a member has actions of their own")
            })?)
        } else {
            None
        };
    let items =
        blocking(move || Ok(app.store.list_actions(org, by).map_err(AppError::from)?)).await?;
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
    let org = caller.authorize(&Do::ViewActions)?.org;
    let actor = caller.actor.clone();
    let action = blocking(move || {
        Ok(content::create_action(
            &app,
            &actor,
            org,
            &body.kind,
            &body.title,
            body.questions,
        )?)
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
    item: Item,
    group: String,
    published: bool,
) -> Result<StatusCode, ApiError> {
    let group = load_group(&caller, &app, group).await?;
    let action = match item {
        Item::Action(_) => Do::PublishAction(target(&group)),
        Item::Connector(_) => Do::PublishConnector(target(&group)),
    };
    caller.authorize(&action)?;
    let ctx = audit_context(&caller);
    blocking(move || Ok(content::set_published(&app, &ctx, item, &group, published)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn action_item(caller: &Caller, app: &App, raw: String) -> Result<Item, ApiError> {
    let org = caller.authorize(&Do::ViewActions)?.org;
    let app = app.clone();
    let action = blocking(move || Ok(content::get_action(&app, org, &raw)?)).await?;
    Ok(Item::Action(action.id))
}

async fn connector_item(caller: &Caller, app: &App, raw: String) -> Result<Item, ApiError> {
    let org = caller.authorize(&Do::ViewConnectors)?.org;
    let app = app.clone();
    let connector = blocking(move || Ok(content::get_connector(&app, org, &raw)?)).await?;
    Ok(Item::Connector(connector.id))
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
    let item = action_item(&caller, &app, id).await?;
    set_published(caller, app, item, body.group_id, true).await
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
    let item = action_item(&caller, &app, id).await?;
    set_published(caller, app, item, body.group_id, false).await
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
    let item = connector_item(&caller, &app, id).await?;
    set_published(caller, app, item, body.group_id, true).await
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
    let item = connector_item(&caller, &app, id).await?;
    set_published(caller, app, item, body.group_id, false).await
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
    let org = caller.authorize(&Do::ViewActions)?.org;
    let group = load_group(&caller, &app, body.group_id).await?;
    let actor = caller.actor.clone();
    let response = blocking(move || {
        let action = content::get_action(&app, org, &id)?;
        Ok(content::respond(
            &app,
            &actor,
            &action,
            &group,
            body.answers,
        )?)
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
    let org = caller.authorize(&Do::ViewConnectors)?.org;
    let by = if q.mine {
        Some(caller.actor.user.ok_or_else(|| {
            ApiError::invalid("mine", "only a member has connectors of their own")
        })?)
    } else {
        None
    };
    let items =
        blocking(move || Ok(app.store.list_connectors(org, by).map_err(AppError::from)?)).await?;
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
    let org = caller.authorize(&Do::ViewConnectors)?.org;
    let (ctx, actor) = (audit_context(&caller), caller.actor.clone());
    let connector = blocking(move || {
        Ok(content::create_connector(
            &app,
            &ctx,
            &actor,
            org,
            &body.name,
            body.config,
        )?)
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
    let org = caller.authorize(&Do::ViewHierarchy)?.org;
    let org_admin = caller.authorize(&Do::ViewOrgReport).is_ok();
    if !org_admin && caller.actor.admin_of.is_empty() {
        caller.authorize(&Do::ViewOrgReport)?;
    }
    let actor = caller.actor.clone();
    let body = blocking(move || {
        let all = app.store.list_groups(org).map_err(AppError::from)?;
        let visible: Vec<Group> = all
            .into_iter()
            .filter(|g| {
                steward_domain::access::authorize(&actor, &Do::ViewGroupReport(target(g))).is_ok()
            })
            .collect();
        let mut items = Vec::new();
        let mut totals = steward_store::GroupReport::default();
        for group in visible {
            let report = content::group_report(&app, &group)?;
            totals.messages += report.messages;
            totals.actions += report.actions;
            totals.responses += report.responses;
            items.push(GroupReportItem {
                group: group.into(),
                report: report.into(),
            });
        }
        let org_totals = (actor.role == Role::OrgAdmin).then_some(OrgTotalsJson {
            messages: totals.messages,
            actions: totals.actions,
            responses: totals.responses,
        });
        Ok(ReportsJson {
            items,
            org: org_totals,
        })
    })
    .await?;
    Ok(Json(body))
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
    let group = load_group(&caller, &app, id).await?;
    caller.authorize(&Do::ViewGroup(target(&group)))?;
    let message: MessageId = message.parse().map_err(|_| AppError::NotFound("message"))?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let file_name = params.file_name.unwrap_or_else(|| "attachment".into());
    let actor = caller.actor.clone();
    let attachment = crate::upload::receive(
        body,
        content::MAX_ATTACHMENT_BYTES,
        "attachments",
        move |reader| {
            Ok(content::attach(
                &app,
                &actor,
                &group,
                message,
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
    let group = load_group(&caller, &app, id).await?;
    caller.authorize(&Do::ViewGroup(target(&group)))?;
    let (attachment, file) =
        blocking(move || Ok(content::open_attachment(&app, &group, &attachment)?)).await?;
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
