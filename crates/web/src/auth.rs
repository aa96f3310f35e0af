//! Who is calling, and may they act in the org of the path.

use axum::extract::{FromRef, FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use steward_app::{App, AppError, tokens};
use steward_domain::{ApiToken, OrgId, Role};

use crate::ApiError;

/// A caller allowed into the org named by the `{org}` path segment.
#[derive(Debug)]
pub struct OrgAccess {
    pub org: OrgId,
    pub token: ApiToken,
}

impl OrgAccess {
    /// The caller's role must be at least `role` for this action.
    pub fn require(&self, role: Role, action: &str) -> Result<(), ApiError> {
        if self.token.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "{action} needs the {} role; this token has {}",
                role.as_str(),
                self.token.role.as_str()
            ))
            .into())
        }
    }
}

impl<S> FromRequestParts<S> for OrgAccess
where
    App: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = App::from_ref(state);
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|s| s.trim().to_owned())
            .ok_or(AppError::Unauthenticated)?;
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound("org"))?;
        let token = crate::blocking(move || Ok(tokens::authenticate(&app, &secret)?)).await?;
        // Another org's id, or no org at all, looks the same: not found.
        let org: OrgId = params
            .get("org")
            .and_then(|raw| raw.parse().ok())
            .ok_or(AppError::NotFound("org"))?;
        if token.org_id != org {
            return Err(AppError::NotFound("org").into());
        }
        Ok(OrgAccess { org, token })
    }
}
