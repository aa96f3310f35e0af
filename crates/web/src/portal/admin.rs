//! Org-admin pages under Settings: the audit log with its filters, and API tokens
//! (create, with the secret shown once; revoke).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use steward_app::audit::{self, AuditFilter};
use steward_app::tokens;
use steward_domain::access::{Action, AdminTask};

use super::session::see_other;
use super::{Form, Frame, OrgPage, PageError, Section, render};
use crate::state::WebState;

pub(super) fn router() -> Router<WebState> {
    Router::new()
        .route("/orgs/{org}/audit", get(audit_log))
        .route("/orgs/{org}/tokens", get(token_list).post(create_token))
        .route("/orgs/{org}/tokens/{id}/revoke", post(revoke_token))
}

struct Event {
    at: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    action: String,
    actor: String,
    what: String,
    from: String,
    to: String,
    events: Vec<Event>,
    errors: Vec<String>,
    next_href: Option<String>,
}

async fn audit_log(
    page: OrgPage,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let filter = AuditFilter {
        actor: get("actor"),
        action: get("action"),
        from: get("from"),
        to: get("to"),
        cursor: get("cursor"),
        limit: Some(50),
    };
    let kept: Vec<(String, String)> = params
        .iter()
        .filter(|(k, v)| k != "cursor" && !v.trim().is_empty())
        .cloned()
        .collect();
    let shown = filter.clone();
    let (events, errors, next) = match page.run(move |app, c| audit::list(app, c, filter)).await {
        Ok(found) => (found.items, Vec::new(), found.next_cursor),
        Err(PageError::Invalid(errors)) => (
            Vec::new(),
            errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect(),
            None,
        ),
        Err(other) => return Err(other),
    };
    let base = page.path("/audit");
    let next_href = next.map(|cursor| {
        let mut pairs = kept.clone();
        pairs.push(("cursor".into(), cursor));
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    });
    render(&AuditPage {
        frame: page.frame("Audit log", Section::Settings),
        action: base,
        actor: shown.actor.unwrap_or_default(),
        what: shown.action.unwrap_or_default(),
        from: shown.from.unwrap_or_default(),
        to: shown.to.unwrap_or_default(),
        events: events
            .into_iter()
            .map(|e| Event {
                at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                actor: e.actor,
                action: e.action,
                target: e.target,
                outcome: e.outcome,
                ip: e.ip.unwrap_or_default(),
            })
            .collect(),
        errors,
        next_href,
    })
}

struct TokenRow {
    label: String,
    role: &'static str,
    created_at: String,
    expires_at: String,
    last_used_at: String,
    status: &'static str,
    active: bool,
    revoke_action: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    frame: Frame,
    action: String,
    tokens: Vec<TokenRow>,
    secret: Option<String>,
    errors: Vec<String>,
    notice: Option<&'static str>,
}

async fn tokens_page(
    page: &OrgPage,
    secret: Option<String>,
    errors: Vec<String>,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let list = page.run(tokens::list_tokens).await?;
    let now = chrono::Utc::now();
    let day = |t: Option<chrono::DateTime<chrono::Utc>>, none: &str| {
        t.map_or_else(|| none.to_owned(), |t| t.format("%Y-%m-%d").to_string())
    };
    render(&TokensPage {
        frame: page.frame("API tokens", Section::Settings),
        action: page.path("/tokens"),
        tokens: list
            .into_iter()
            .map(|t| {
                let (status, active) = if t.revoked_at.is_some() {
                    ("Revoked", false)
                } else if t.is_usable_at(now) {
                    ("Active", true)
                } else {
                    ("Expired", false)
                };
                TokenRow {
                    label: if t.label.is_empty() {
                        "(no label)".into()
                    } else {
                        t.label.clone()
                    },
                    role: t.role.as_str(),
                    created_at: day(Some(t.created_at), ""),
                    expires_at: day(t.expires_at, "never"),
                    last_used_at: day(t.last_used_at, "never"),
                    status,
                    active,
                    revoke_action: page.path(&format!("/tokens/{}/revoke", t.id)),
                }
            })
            .collect(),
        secret,
        errors,
        notice,
    })
}

async fn token_list(
    page: OrgPage,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    page.caller
        .authorize(&Action::OrgAdminOnly(AdminTask::ManageTokens))?;
    let notice = params
        .iter()
        .any(|(k, v)| k == "done" && v == "revoked")
        .then_some("The token was revoked.");
    tokens_page(&page, None, Vec::new(), notice).await
}

/// Creates a token and shows its secret on this one answer (never redirected, so it
/// is not kept in a URL or history).
async fn create_token(page: OrgPage, form: Form) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    let role = form.text("role");
    let label = form.text("label");
    let days_text = form.text("expires_in_days");
    let days = if days_text.is_empty() {
        None
    } else {
        match days_text.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                let error = format!("Expires in: {days_text:?} is not a whole number of days");
                return tokens_page(&page, None, vec![error], None).await;
            }
        }
    };
    match page
        .run(move |app, c| tokens::issue_token(app, c, &role, &label, days))
        .await
    {
        Ok((_, secret)) => tokens_page(&page, Some(secret), Vec::new(), None).await,
        Err(PageError::Invalid(errors)) => {
            let errors = errors.into_iter().map(|e| e.reason).collect();
            tokens_page(&page, None, errors, None).await
        }
        Err(other) => Err(other),
    }
}

async fn revoke_token(
    page: OrgPage,
    Path((_, id)): Path<(String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    page.check_csrf(&form)?;
    page.run(move |app, c| tokens::revoke_token(app, c, &id))
        .await?;
    Ok(see_other(&page.path("/tokens?done=revoked")))
}
