//! API tokens: 256 random bits shown once, stored only as a SHA-256 hash.
//!
//! A fast hash is right here (unlike for passwords): the secret has full entropy, so
//! there is nothing to brute-force, and lookups by hash stay one index probe.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use steward_domain::access::{Action, AdminTask};
use steward_domain::{ApiToken, OrgId, Role, TokenId};
use steward_store::TokenHash;

use crate::{App, AppError, AppResult, Caller, FieldError, audit};

/// Every token starts with this, so secret scanners and people can recognise one.
pub const TOKEN_PREFIX: &str = "stw_";

/// Touching `last_used_at` on every request would make every read a write; once a
/// minute is precise enough for "last used".
const TOUCH_EVERY: Duration = Duration::minutes(1);

pub fn hash_secret(secret: &str) -> TokenHash {
    TokenHash(Sha256::digest(secret.as_bytes()).into())
}

/// The longest a token may live, in days (ten years); longer is refused.
pub const MAX_TOKEN_DAYS: u32 = 3650;
/// The longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// The org's tokens, with their last use (org admins).
pub fn list_tokens(app: &App, caller: &Caller) -> AppResult<Vec<ApiToken>> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageTokens))?;
    Ok(app.store.list_api_tokens(org)?)
}

/// Issues a token of the org for a role (`org-admin`, `group-admin` or `member`),
/// valid for `expires_in_days` (1 to [`MAX_TOKEN_DAYS`]) or until revoked. Returns the
/// token with its secret, which is shown once and never stored.
pub fn issue_token(
    app: &App,
    caller: &Caller,
    role: &str,
    label: &str,
    expires_in_days: Option<u32>,
) -> AppResult<(ApiToken, String)> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageTokens))?;
    let mut errors = Vec::new();
    let parsed_role = Role::parse(role);
    if parsed_role.is_none() {
        errors.push(FieldError::new(
            "role",
            format!("{role:?} is not a role; use org-admin, group-admin or member"),
        ));
    }
    if label.trim().chars().count() > MAX_LABEL_CHARS {
        errors.push(FieldError::new(
            "label",
            format!("a label has at most {MAX_LABEL_CHARS} characters"),
        ));
    }
    if expires_in_days.is_some_and(|d| !(1..=MAX_TOKEN_DAYS).contains(&d)) {
        errors.push(FieldError::new(
            "expires_in_days",
            format!("a token expires in 1 to {MAX_TOKEN_DAYS} days; leave it out for a token that lasts until revoked"),
        ));
    }
    let (Some(role), true) = (parsed_role, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let now = app.clock.now();
    let max = app.limits().tokens_per_org;
    let usable = app.store.list_api_tokens(org)?;
    if usable.iter().filter(|t| t.is_usable_at(now)).count() >= max {
        return Err(AppError::Conflict(format!(
            "the org already has {max} active API tokens, the most an org may have; revoke one first"
        )));
    }
    let expires_at = expires_in_days.map(|d| now + Duration::days(d.into()));
    let (token, secret) = create_token(app, org, role, label, expires_at)?;
    audit::record(
        app,
        caller.audit(),
        org,
        "token.create",
        &token.id.to_string(),
        "ok",
    )?;
    Ok((token, secret))
}

/// Revokes a token of the org at once.
pub fn revoke_token(app: &App, caller: &Caller, raw_id: &str) -> AppResult<()> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageTokens))?;
    let id: TokenId = raw_id.parse().map_err(|_| AppError::NotFound("token"))?;
    if !app.store.revoke_api_token(org, id, app.clock.now())? {
        return Err(AppError::NotFound("token"));
    }
    audit::record(
        app,
        caller.audit(),
        org,
        "token.revoke",
        &id.to_string(),
        "ok",
    )
}

/// Creates a token and returns it with its secret, which is never stored. No
/// permission check and no audit entry: for bootstrapping (the demo, tests); requests
/// and commands go through [`issue_token`].
pub fn create_token(
    app: &App,
    org: OrgId,
    role: Role,
    label: &str,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<(ApiToken, String)> {
    app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = std::iter::once(TOKEN_PREFIX.to_owned())
        .chain(bytes.iter().map(|b| format!("{b:02x}")))
        .collect();
    let token = ApiToken {
        id: TokenId::new(),
        org_id: org,
        role,
        label: label.trim().to_owned(),
        created_at: app.clock.now(),
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    app.store.create_api_token(&token, &hash_secret(&secret))?;
    Ok((token, secret))
}

/// The token a bearer secret stands for, if it is known, unrevoked and unexpired.
pub fn authenticate(app: &App, secret: &str) -> AppResult<ApiToken> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let token = app
        .store
        .find_api_token(&hash_secret(secret))?
        .ok_or(AppError::Unauthenticated)?;
    let now = app.clock.now();
    if !token.is_usable_at(now) {
        return Err(AppError::Unauthenticated);
    }
    if token.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY) {
        app.store.touch_api_token(token.id, now)?;
        // API use, at the same one-minute grain as "last used".
        let properties = serde_json::json!({"token_id": token.id});
        crate::content::record_telemetry(app, token.org_id, None, "api_call", properties);
    }
    Ok(token)
}
