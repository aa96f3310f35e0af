//! What members do in groups: messages, actions and their responses, connectors; the
//! telemetry those leave; and the reports built from them.

use chrono::Duration;
use steward_domain::access::{Action as Do, Actor};
use steward_domain::content::{
    Action, ActionKind, ActionResponse, Connector, Message, Publication, Question, TelemetryEvent,
};
use steward_domain::group::Group;
use steward_domain::{ActionId, ConnectorId, MessageId, OrgId, ResponseId, TelemetryId, UserId};
use steward_store::{GroupReport, Publishable, PublishableId, PublishableKind};

use crate::audit::{self, AuditContext};
use crate::groups::{find_group, group_ref};
use crate::{App, AppError, AppResult, Caller, FieldError};

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

/// The default and largest number of messages a page holds.
pub const DEFAULT_MESSAGES: u32 = 50;
pub const MAX_MESSAGES: u32 = 500;

/// The most questions an action holds, options a question offers, and characters in
/// a question or an option: what a person answers on a phone, with room to spare.
pub const MAX_QUESTIONS: usize = 50;
pub const MAX_OPTIONS: usize = 50;
pub const MAX_QUESTION_CHARS: usize = 1000;
pub const MAX_OPTION_CHARS: usize = 200;

/// A group's messages, newest first, with the cursor of the next page. `before` is
/// the cursor (a message id).
pub fn messages(
    app: &App,
    caller: &Caller,
    raw_group: &str,
    before: Option<&str>,
    limit: Option<u32>,
) -> AppResult<(Vec<Message>, Option<String>)> {
    let group = find_group(app, caller, raw_group)?;
    caller.authorize(&Do::ViewGroup(group_ref(&group)))?;
    let before: Option<MessageId> = before
        .map(|raw| {
            raw.parse()
                .map_err(|_| AppError::invalid("before", "not a message id"))
        })
        .transpose()?;
    let limit = limit.unwrap_or(DEFAULT_MESSAGES);
    if !(1..=MAX_MESSAGES).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            format!("a page holds 1 to {MAX_MESSAGES} messages"),
        ));
    }
    let items = app
        .store
        .list_messages(group.org_id, group.id, before, limit)?;
    let next = (items.len() as u32 >= limit)
        .then(|| items.last().map(|m| m.id.to_string()))
        .flatten();
    Ok((items, next))
}

/// Posts a message to a group the caller is a member of.
pub fn post_message(app: &App, caller: &Caller, raw_group: &str, text: &str) -> AppResult<Message> {
    let group = find_group(app, caller, raw_group)?;
    caller.authorize(&Do::ViewGroup(group_ref(&group)))?;
    let actor = caller.actor();
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

/// Actions of the org, newest first: all of them, or (`mine`) those the caller made.
pub fn list_actions(app: &App, caller: &Caller, mine: bool) -> AppResult<Vec<Action>> {
    let org = caller.authorize(&Do::ViewActions)?;
    let by = own_items(caller, mine, "actions")?;
    let items = app
        .store
        .list_publishables(org, PublishableKind::Action, by)?;
    Ok(items
        .into_iter()
        .filter_map(Publishable::into_action)
        .collect())
}

/// Connectors of the org: all of them, or (`mine`) those the caller made.
pub fn list_connectors(app: &App, caller: &Caller, mine: bool) -> AppResult<Vec<Connector>> {
    let org = caller.authorize(&Do::ViewConnectors)?;
    let by = own_items(caller, mine, "connectors")?;
    let items = app
        .store
        .list_publishables(org, PublishableKind::Connector, by)?;
    Ok(items
        .into_iter()
        .filter_map(Publishable::into_connector)
        .collect())
}

/// Whose items a `mine` list shows: only a member has items of their own.
fn own_items(caller: &Caller, mine: bool, what: &str) -> AppResult<Option<UserId>> {
    if !mine {
        return Ok(None);
    }
    caller
        .actor()
        .user
        .map(Some)
        .ok_or_else(|| AppError::invalid("mine", format!("only a member has {what} of their own")))
}

pub fn create_action(
    app: &App,
    caller: &Caller,
    kind: &str,
    title: &str,
    questions: Vec<Question>,
) -> AppResult<Action> {
    let org = caller.authorize(&Do::ViewActions)?;
    let creator = person(caller.actor(), "creating an action")?;
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
    if questions.len() > MAX_QUESTIONS {
        errors.push(FieldError::new(
            "questions",
            format!("an action has at most {MAX_QUESTIONS} questions"),
        ));
    }
    for (i, q) in questions.iter().enumerate() {
        if q.text.trim().is_empty() {
            errors.push(FieldError::new(
                format!("questions[{i}].text"),
                "the question is empty",
            ));
        }
        if q.text.chars().count() > MAX_QUESTION_CHARS {
            errors.push(FieldError::new(
                format!("questions[{i}].text"),
                format!("a question has at most {MAX_QUESTION_CHARS} characters"),
            ));
        }
        if q.options.len() > MAX_OPTIONS {
            errors.push(FieldError::new(
                format!("questions[{i}].options"),
                format!("a question has at most {MAX_OPTIONS} options"),
            ));
        }
        if let Some(j) = q
            .options
            .iter()
            .position(|o| o.chars().count() > MAX_OPTION_CHARS)
        {
            errors.push(FieldError::new(
                format!("questions[{i}].options[{j}]"),
                format!("an option has at most {MAX_OPTION_CHARS} characters"),
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
        .insert_publishables(org, &[action.clone().into()])?;
    Ok(action)
}

fn get_action(app: &App, org: OrgId, raw: &str) -> AppResult<Action> {
    let id: ActionId = raw.parse().map_err(|_| AppError::NotFound("action"))?;
    app.store
        .get_publishable(org, id.into())?
        .and_then(Publishable::into_action)
        .ok_or(AppError::NotFound("action"))
}

fn get_connector(app: &App, org: OrgId, raw: &str) -> AppResult<Connector> {
    let id: ConnectorId = raw.parse().map_err(|_| AppError::NotFound("connector"))?;
    app.store
        .get_publishable(org, id.into())?
        .and_then(Publishable::into_connector)
        .ok_or(AppError::NotFound("connector"))
}

/// Publishes (or unpublishes) an action or connector to a group, as the caller's
/// rights in that group allow.
pub fn set_published(
    app: &App,
    caller: &Caller,
    kind: PublishableKind,
    raw_item: &str,
    raw_group: &str,
    published: bool,
) -> AppResult<()> {
    let item = match kind {
        PublishableKind::Action => {
            let org = caller.authorize(&Do::ViewActions)?;
            PublishableId::Action(get_action(app, org, raw_item)?.id)
        }
        PublishableKind::Connector => {
            let org = caller.authorize(&Do::ViewConnectors)?;
            PublishableId::Connector(get_connector(app, org, raw_item)?.id)
        }
    };
    let group = find_group(app, caller, raw_group)?;
    let right = match kind {
        PublishableKind::Action => Do::PublishAction(group_ref(&group)),
        PublishableKind::Connector => Do::PublishConnector(group_ref(&group)),
    };
    caller.authorize(&right)?;
    publish(app, caller.audit(), item, &group, published)
}

fn publish(
    app: &App,
    ctx: &AuditContext,
    item: PublishableId,
    group: &Group,
    published: bool,
) -> AppResult<()> {
    let org = group.org_id;
    let now = app.clock.now();
    let changed = if published {
        app.store.publish(
            org,
            &[Publication {
                org_id: org,
                item_id: item,
                group_id: group.id,
                published_by: ctx.actor.clone(),
                published_at: now,
            }],
        )?;
        true
    } else {
        app.store.unpublish(org, item, group.id)?
    };
    let what = match item.kind() {
        PublishableKind::Action => "action",
        PublishableKind::Connector => "connector",
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
        &format!("{item} in {}", group.id),
        "ok",
    )
}

/// Answers an action published to a group the caller is a member of.
pub fn respond(
    app: &App,
    caller: &Caller,
    raw_action: &str,
    raw_group: &str,
    answers: Vec<String>,
) -> AppResult<ActionResponse> {
    let org = caller.authorize(&Do::ViewActions)?;
    let group = &find_group(app, caller, raw_group)?;
    let action = &get_action(app, org, raw_action)?;
    let actor = caller.actor();
    let user = person(actor, "answering an action")?;
    if !actor.member_of.contains(&group.id) {
        return Err(AppError::Forbidden(
            "only members of the group can answer its actions".into(),
        ));
    }
    if !app
        .store
        .published_groups(action.org_id, action.id.into())?
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
        if answer.chars().count() > MAX_MESSAGE_CHARS {
            return Err(AppError::invalid(
                format!("answers[{i}]"),
                format!("an answer has at most {MAX_MESSAGE_CHARS} characters"),
            ));
        }
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
    caller: &Caller,
    name: &str,
    config: serde_json::Value,
) -> AppResult<Connector> {
    let org = caller.authorize(&Do::ViewConnectors)?;
    let creator = person(caller.actor(), "creating a connector")?;
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
        .insert_publishables(org, &[connector.clone().into()])?;
    audit::record(
        app,
        caller.audit(),
        org,
        "connector.create",
        &connector.id.to_string(),
        "ok",
    )?;
    Ok(connector)
}

/// The reports a caller may see: one per group (all org groups for org admins, the
/// groups they administer for group admins), and org totals for org admins.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reports {
    pub groups: Vec<(Group, GroupReport)>,
    pub org: Option<OrgTotals>,
}

/// What the org as a whole holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrgTotals {
    pub messages: u64,
    pub actions: u64,
    pub responses: u64,
}

pub fn reports(app: &App, caller: &Caller) -> AppResult<Reports> {
    let org = caller.authorize(&Do::ViewHierarchy)?;
    if !caller.may(&Do::ViewOrgReport) && caller.actor().admin_of.is_empty() {
        caller.authorize(&Do::ViewOrgReport)?;
    }
    let mut reports = Reports::default();
    let mut totals = OrgTotals::default();
    for group in app.store.list_groups(org)? {
        if !caller.may(&Do::ViewGroupReport(group_ref(&group))) {
            continue;
        }
        let report = group_report(app, &group)?;
        totals.messages += report.messages;
        totals.actions += report.actions;
        totals.responses += report.responses;
        reports.groups.push((group, report));
    }
    reports.org = caller.is_org_admin().then_some(totals);
    Ok(reports)
}

/// A group's figures over the last 7 and 30 days.
fn group_report(app: &App, group: &Group) -> AppResult<GroupReport> {
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
    caller: &Caller,
    raw_group: &str,
    raw_message: &str,
    file_name: &str,
    content_type: &str,
    data: &mut dyn std::io::Read,
) -> AppResult<steward_domain::content::Attachment> {
    let group = &find_group(app, caller, raw_group)?;
    caller.authorize(&Do::ViewGroup(group_ref(group)))?;
    let message: MessageId = raw_message
        .parse()
        .map_err(|_| AppError::NotFound("message"))?;
    let actor = caller.actor();
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
    caller: &Caller,
    raw_group: &str,
    raw_id: &str,
) -> AppResult<(
    steward_domain::content::Attachment,
    steward_store::BlobReader,
)> {
    let group = &find_group(app, caller, raw_group)?;
    caller.authorize(&Do::ViewGroup(group_ref(group)))?;
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
