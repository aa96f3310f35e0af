//! Exports: what an export job is asked to write (its payload), checked when it is
//! asked for. The use cases are in [`crate::exports`]; the jobs that write the files
//! are [`crate::jobs::export_users`] and [`crate::jobs::export_tenant`].

mod tenant;
mod users;

use serde::{Deserialize, Serialize};
use steward_domain::{Job, OrgId, PhoneNumber};
use steward_store::JobCheckpoint;

use crate::{App, AppError, AppResult};

pub use tenant::ExportTenant;
pub use users::{EXPORTED, ExportUsers, WARNINGS};

/// The formats of a users export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsersFormat {
    #[default]
    Csv,
    Xlsx,
}

impl UsersFormat {
    pub fn parse(raw: &str) -> Option<UsersFormat> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(UsersFormat::Csv),
            "xlsx" => Some(UsersFormat::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            UsersFormat::Csv => "csv",
            UsersFormat::Xlsx => "xlsx",
        }
    }
}

/// The scope of a tenant export as a request gives it: every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantScopeRequest {
    /// Kinds of data, comma-separated (`users,groups,messages`); all when absent.
    pub kinds: Option<String>,
    /// Content and telemetry from this time (RFC 3339, or a date).
    pub since: Option<String>,
    /// ...up to this time.
    pub until: Option<String>,
    /// Only what is by or about this user (a phone number).
    pub user: Option<String>,
    /// Whether to include the attachments' files (default yes).
    pub attachments: Option<bool>,
}

/// What the job kinds of exports share: where their options live in the payload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportOptions {
    pub retention_days: u32,
    /// The member whose own export this is: only they may download it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_member: Option<String>,
}

impl ExportOptions {
    pub(crate) fn of(job: &Job) -> AppResult<ExportOptions> {
        serde_json::from_value(job.payload.clone()).map_err(|e| {
            AppError::Internal(format!("the export's stored input is unreadable: {e}"))
        })
    }
}

/// Whether an earlier run of this job already published its file (then a run has
/// nothing left to do).
pub fn published(checkpoint: &JobCheckpoint) -> bool {
    checkpoint
        .state
        .as_ref()
        .is_some_and(|s| s.get("published").is_some())
}

/// The user of a scope, by a phone as a request gives it: a bad phone, or one of no
/// user of the org, is a field error.
pub(crate) fn scope_phone(app: &App, org: OrgId, raw: &str) -> AppResult<PhoneNumber> {
    let region = app
        .store
        .get_org(org)?
        .ok_or(AppError::NotFound("org"))?
        .region;
    let phone = PhoneNumber::parse(raw, region).map_err(|e| AppError::invalid("scope.user", e))?;
    if app.store.get_user(org, &phone)?.is_none() {
        return Err(AppError::invalid(
            "scope.user",
            "no user of this org has this phone number",
        ));
    }
    Ok(phone)
}
