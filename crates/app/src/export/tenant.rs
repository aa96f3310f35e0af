//! The payload of a tenant export: its scope, checked when it is asked for.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_domain::{AttributeType, AttributeValue, OrgId, PhoneNumber};

use super::{ExportOptions, TenantScopeRequest, scope_phone};
use crate::archive::{ArchiveKind, ArchiveScope};
use crate::{App, AppError, AppResult, FieldError};

/// The payload of a tenant export: its scope, checked when asked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportTenant {
    /// The kinds of data; all when absent.
    pub kinds: Option<BTreeSet<ArchiveKind>>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only what is by or about this user (E.164).
    pub user: Option<String>,
    pub attachments: bool,
    #[serde(flatten)]
    pub options: ExportOptions,
}

fn datetime(field: &str, raw: Option<&str>) -> AppResult<Option<DateTime<Utc>>> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    match AttributeValue::parse(AttributeType::DateTime, raw) {
        Ok(Some(AttributeValue::DateTime(at))) => Ok(Some(at)),
        Ok(_) => Ok(None),
        Err(e) => Err(AppError::invalid(field, e)),
    }
}

impl ExportTenant {
    /// Checks a requested scope: known kinds, dates in order, a valid phone.
    pub(crate) fn validate(
        app: &App,
        org: OrgId,
        scope: &TenantScopeRequest,
        options: ExportOptions,
    ) -> AppResult<ExportTenant> {
        let kinds = scope
            .kinds
            .as_deref()
            .filter(|k| !k.trim().is_empty())
            .map(ArchiveScope::parse_kinds)
            .transpose()
            .map_err(|e: FieldError| {
                AppError::Invalid(vec![FieldError::new("scope.kinds", e.reason)])
            })?;
        let since = datetime("scope.since", scope.since.as_deref())?;
        let until = datetime("scope.until", scope.until.as_deref())?;
        if let (Some(since), Some(until)) = (since, until)
            && since >= until
        {
            return Err(AppError::invalid("scope.until", "must be after since"));
        }
        let user = scope
            .user
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(|raw| scope_phone(app, org, raw))
            .transpose()?
            .map(|phone| phone.as_str().to_owned());
        Ok(ExportTenant {
            kinds,
            since,
            until,
            user,
            attachments: scope.attachments.unwrap_or(true),
            options,
        })
    }

    /// A member's own data: their profile, memberships (with the groups' names),
    /// their messages with attachments, their responses and their telemetry.
    pub(crate) fn own_data(phone: &PhoneNumber, options: ExportOptions) -> ExportTenant {
        ExportTenant {
            kinds: Some(
                [
                    ArchiveKind::Users,
                    ArchiveKind::Groups,
                    ArchiveKind::Memberships,
                    ArchiveKind::Messages,
                    ArchiveKind::Attachments,
                    ArchiveKind::ActionResponses,
                    ArchiveKind::Telemetry,
                ]
                .into(),
            ),
            since: None,
            until: None,
            user: Some(phone.as_str().to_owned()),
            attachments: true,
            options,
        }
    }

    pub(crate) fn scope(&self) -> Result<ArchiveScope, String> {
        let everything = ArchiveScope::everything();
        Ok(ArchiveScope {
            kinds: self.kinds.clone().unwrap_or(everything.kinds),
            since: self.since,
            until: self.until,
            user: self
                .user
                .as_deref()
                .map(PhoneNumber::from_e164)
                .transpose()
                .map_err(|e| format!("the export's user is unreadable: {e}"))?,
            attachments: self.attachments,
        })
    }
}
