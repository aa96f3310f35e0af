//! What members do in groups: messages, actions and their responses, connectors; the
//! telemetry those leave; and the reports built from them.

use chrono::Duration;
use steward_domain::access::Actor;
use steward_domain::content::{
    Action, ActionKind, ActionResponse, Connector, Message, Publication, Question, TelemetryEvent,
};
use steward_domain::group::Group;
use steward_domain::{ActionId, ConnectorId, MessageId, OrgId, ResponseId, TelemetryId, UserId};
use steward_store::GroupReport;

use crate::audit::{self, AuditContext};
use crate::{App, AppError, AppResult, FieldError};

/// Records one telemetry event; a failure is logged, never shown to the caller.
pub fn record_telemetry(
    app: &App,
    org: OrgId,
    user: Option<UserId>,
    kind: &str,
    properties: serde_json::Value,
) {
    let event = TelemetryEvent {
        id: TelemetryId::new(),
        org_id: org,
        user_id: user,
        kind: kind.to_owned(),
        properties,
        at: app.clock.now(),
    };
    if let Err(error) = app.store.insert_telemetry(org, &[event]) {
        tracing::warn!(%error, kind, "telemetry event not recorded");
    }
}

/// The person behind an actor, for work only people do (posting, answering).
fn person(actor: &Actor, what: &str) -> AppResult<UserId> {
    actor.user.ok_or_else(|| {
        AppError::Forbidden(format!(
            "{what} is done by a member signed in with their phone"
        ))
    })
}

pub const MAX_MESSAGE_CHARS: usize = 4000;

pub fn post_message(app: &App, actor: &Actor, group: &Group, text: &str) -> AppResult<Message> {
    let sender = person(actor, "posting a message")?;
    if !actor.member_of.contains(&group.id) {
        return Err(AppError::Forbidden(
            "only members of the group can post to it".into(),
        ));
    }
    let body = text.trim();
    if body.is_empty() || body.chars().count() > MAX_MESSAGE_CHARS {
        return Err(AppError::invalid(
            "text",
            format!("a message has 1 to {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    let message = Message {
        id: MessageId::new(),
        org_id: group.org_id,
        group_id: group.id,
        sender_id: sender,
        body: body.to_owned(),
        created_at: app.clock.now(),
    };
    app.store
        .insert_messages(group.org_id, std::slice::from_ref(&message))?;
    record_telemetry(
        app,
        group.org_id,
        Some(sender),
        "message_sent",
        serde_json::json!({"group_id": group.id}),
    );
    Ok(message)
}

pub fn create_action(
    app: &App,
    actor: &Actor,
    org: OrgId,
    kind: &str,
    title: &str,
    questions: Vec<Question>,
) -> AppResult<Action> {
    let creator = person(actor, "creating an action")?;
    let mut errors = Vec::new();
    let kind = ActionKind::parse(kind)
        .ok_or_else(|| {
            errors.push(FieldError::new(
                "kind",
                "use poll, survey, announcement or job",
            ))
        })
        .ok();
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        errors.push(FieldError::new("title", "a title has 1 to 200 characters"));
    }
    if questions.is_empty() {
        errors.push(FieldError::new(
            "questions",
            "an action needs at least one question",
        ));
    }
    for (i, q) in questions.iter().enumerate() {
        if q.text.trim().is_empty() {
            errors.push(FieldError::new(
                format!("questions[{i}].text"),
                "the question is empty",
            ));
        }
    }
    let (Some(kind), true) = (kind, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let action = Action {
        id: ActionId::new(),
        org_id: org,
        kind,
        title: title.to_owned(),
        questions,
        created_by: creator,
        created_at: app.clock.now(),
    };
    app.store
        .insert_actions(org, std::slice::from_ref(&action))?;
    Ok(action)
}

pub fn get_action(app: &App, org: OrgId, raw: &str) -> AppResult<Action> {
    let id: ActionId = raw.parse().map_err(|_| AppError::NotFound("action"))?;
    app.store
        .get_action(org, id)?
        .ok_or(AppError::NotFound("action"))
}

pub fn get_connector(app: &App, org: OrgId, raw: &str) -> AppResult<Connector> {
    let id: ConnectorId = raw.parse().map_err(|_| AppError::NotFound("connector"))?;
    app.store
        .get_connector(org, id)?
        .ok_or(AppError::NotFound("connector"))
}

/// Publishes (or unpublishes) an action or connector to a group.
pub fn set_published(
    app: &App,
    ctx: &AuditContext,
    item: Item,
    group: &Group,
    published: bool,
) -> AppResult<()> {
    let org = group.org_id;
    let now = app.clock.now();
    let (what, id, changed) = match item {
        Item::Action(id) => {
            let changed = if published {
                app.store.publish_actions(
                    org,
                    &[Publication {
                        org_id: org,
                        item_id: id,
                        group_id: group.id,
                        published_by: ctx.actor.clone(),
                        published_at: now,
                    }],
                )?;
                true
            } else {
                app.store.unpublish_action(org, id, group.id)?
            };
            ("action", id.to_string(), changed)
        }
        Item::Connector(id) => {
            let changed = if published {
                app.store.publish_connectors(
                    org,
                    &[Publication {
                        org_id: org,
                        item_id: id,
                        group_id: group.id,
                        published_by: ctx.actor.clone(),
                        published_at: now,
                    }],
                )?;
                true
            } else {
                app.store.unpublish_connector(org, id, group.id)?
            };
            ("connector", id.to_string(), changed)
        }
    };
    if !changed {
        return Err(AppError::NotFound("publication"));
    }
    let action = format!("{what}.{}", if published { "publish" } else { "unpublish" });
    audit::record(
        app,
        ctx,
        org,
        &action,
        &format!("{id} in {}", group.id),
        "ok",
    )
}

/// What can be published to groups.
#[derive(Clone, Copy, Debug)]
pub enum Item {
    Action(ActionId),
    Connector(ConnectorId),
}

pub fn respond(
    app: &App,
    actor: &Actor,
    action: &Action,
    group: &Group,
    answers: Vec<String>,
) -> AppResult<ActionResponse> {
    let user = person(actor, "answering an action")?;
    if !actor.member_of.contains(&group.id) {
        return Err(AppError::Forbidden(
            "only members of the group can answer its actions".into(),
        ));
    }
    if !app
        .store
        .action_groups(action.org_id, action.id)?
        .contains(&group.id)
    {
        return Err(AppError::NotFound("action"));
    }
    if answers.len() != action.questions.len() {
        return Err(AppError::invalid(
            "answers",
            format!(
                "the action has {} questions; send one answer each",
                action.questions.len()
            ),
        ));
    }
    for (i, (answer, q)) in answers.iter().zip(&action.questions).enumerate() {
        if !q.options.is_empty() && !q.options.contains(answer) {
            return Err(AppError::invalid(
                format!("answers[{i}]"),
                format!("choose one of: {}", q.options.join(", ")),
            ));
        }
    }
    let response = ActionResponse {
        id: ResponseId::new(),
        org_id: action.org_id,
        action_id: action.id,
        group_id: group.id,
        user_id: user,
        answers,
        created_at: app.clock.now(),
    };
    app.store
        .insert_action_responses(action.org_id, std::slice::from_ref(&response))?;
    record_telemetry(
        app,
        action.org_id,
        Some(user),
        "action_response",
        serde_json::json!({"action_id": action.id}),
    );
    Ok(response)
}

pub fn create_connector(
    app: &App,
    ctx: &AuditContext,
    actor: &Actor,
    org: OrgId,
    name: &str,
    config: serde_json::Value,
) -> AppResult<Connector> {
    let creator = person(actor, "creating a connector")?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("name", "a name has 1 to 200 characters"));
    }
    if !config.is_object() {
        return Err(AppError::invalid(
            "config",
            "the configuration is a JSON object",
        ));
    }
    let connector = Connector {
        id: ConnectorId::new(),
        org_id: org,
        name: name.to_owned(),
        config,
        created_by: creator,
        created_at: app.clock.now(),
    };
    app.store
        .insert_connectors(org, std::slice::from_ref(&connector))?;
    audit::record(
        app,
        ctx,
        org,
        "connector.create",
        &connector.id.to_string(),
        "ok",
    )?;
    Ok(connector)
}

/// A group's figures over the last 7 and 30 days.
pub fn group_report(app: &App, group: &Group) -> AppResult<GroupReport> {
    let now = app.clock.now();
    Ok(app.store.group_report(
        group.org_id,
        group.id,
        now - Duration::days(7),
        now - Duration::days(30),
    )?)
}

/// The largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;

/// Stores a file attached to a message of the group; only members attach.
pub fn attach(
    app: &App,
    actor: &Actor,
    group: &Group,
    message: MessageId,
    file_name: &str,
    content_type: &str,
    data: &mut dyn std::io::Read,
) -> AppResult<steward_domain::content::Attachment> {
    person(actor, "attaching a file")?;
    if !actor.member_of.contains(&group.id) {
        return Err(AppError::Forbidden(
            "only members of the group can attach files".into(),
        ));
    }
    let message = app
        .store
        .get_message(group.org_id, message)?
        .filter(|m| m.group_id == group.id);
    let message = message.ok_or(AppError::NotFound("message"))?;
    let file_name = file_name.trim();
    if file_name.is_empty()
        || file_name.chars().count() > 255
        || file_name.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            "file_name",
            "a file name has 1 to 255 printable characters",
        ));
    }
    let id = steward_domain::AttachmentId::new();
    let key = steward_store::BlobKey::parse(&format!("orgs/{}/attachments/{id}", group.org_id))?;
    let size = app.blobs.put(&key, data)?.size;
    let attachment = steward_domain::content::Attachment {
        id,
        org_id: group.org_id,
        message_id: message.id,
        file_name: file_name.to_owned(),
        content_type: content_type.to_owned(),
        size,
        blob_key: key.as_str().to_owned(),
        created_at: app.clock.now(),
    };
    app.store.insert_attachment(&attachment)?;
    Ok(attachment)
}

/// An attachment of a message in the group, with its file.
pub fn open_attachment(
    app: &App,
    group: &Group,
    raw_id: &str,
) -> AppResult<(
    steward_domain::content::Attachment,
    steward_store::BlobReader,
)> {
    let id: steward_domain::AttachmentId = raw_id
        .parse()
        .map_err(|_| AppError::NotFound("attachment"))?;
    let attachment = app
        .store
        .get_attachment(group.org_id, id)?
        .ok_or(AppError::NotFound("attachment"))?;
    let message = app.store.get_message(group.org_id, attachment.message_id)?;
    if message.is_none_or(|m| m.group_id != group.id) {
        return Err(AppError::NotFound("attachment"));
    }
    let file = app
        .blobs
        .open(&steward_store::BlobKey::parse(&attachment.blob_key)?)?;
    Ok((attachment, file))
}
