//! API tokens: 256 random bits shown once, stored only as a SHA-256 hash.
//!
//! A fast hash is right here (unlike for passwords): the secret has full entropy, so
//! there is nothing to brute-force, and lookups by hash stay one index probe.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use steward_domain::{ApiToken, OrgId, Role, TokenId};
use steward_store::TokenHash;

use crate::{App, AppError, AppResult};

/// Every token starts with this, so secret scanners and people can recognise one.
pub const TOKEN_PREFIX: &str = "stw_";

/// Touching `last_used_at` on every request would make every read a write; once a
/// minute is precise enough for "last used".
const TOUCH_EVERY: Duration = Duration::minutes(1);

pub fn hash_secret(secret: &str) -> TokenHash {
    TokenHash(Sha256::digest(secret.as_bytes()).into())
}

/// Creates a token and returns it with its secret, which is never stored.
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
