//! Conversions between SQLite values and domain values.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{self, Row};
use steward_domain::group::Group;
use steward_domain::{ApiToken, GroupName, Org, OrgName, Plan, Region, Role};
use steward_store::{Conflict, StoreError};

/// Maps a SQLite error: constraint violations are conflicts (which kind, from the
/// extended code), the rest backend errors.
pub fn db(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    match &e {
        rusqlite::Error::SqliteFailure(code, msg)
            if code.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(match code.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    Conflict::Duplicate
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Conflict::MissingReference,
                _ => Conflict::Rule(msg.clone().unwrap_or_else(|| e.to_string())),
            })
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Fixed-width RFC 3339 in UTC, so stored times sort as text.
pub fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn parse_ts(raw: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|dt| dt.with_timezone(&Utc))
        // [`ts`] writes a year past 9999 with a sign (`+10240-...`), which RFC 3339
        // cannot hold; rows written so (a token stored before expiries were bounded)
        // must still read back, or one row would fail every list of its org.
        .or_else(|_| raw.parse::<DateTime<Utc>>())
        .map_err(|_| StoreError::Corrupt(format!("bad timestamp {raw:?}")))
}

pub fn parse_opt_ts(raw: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    raw.as_deref().map(parse_ts).transpose()
}

pub fn parse_id<T: FromStr>(raw: &str) -> Result<T, StoreError> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad id {raw:?}")))
}

pub fn json_text<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn corrupt(what: &str, raw: &str) -> StoreError {
    StoreError::Corrupt(format!("bad {what} {raw:?}"))
}

/// Raw columns of an `orgs` row, read inside rusqlite's row callback and converted
/// outside it, where domain errors can be reported.
pub struct OrgRow(String, String, String, String, String);

impl OrgRow {
    pub fn read(r: &Row<'_>) -> rusqlite::Result<OrgRow> {
        Ok(OrgRow(
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
        ))
    }

    pub fn into_org(self) -> Result<Org, StoreError> {
        let OrgRow(id, name, region, plan, created_at) = self;
        Ok(Org {
            id: parse_id(&id)?,
            name: OrgName::parse(&name).map_err(|_| corrupt("org name", &name))?,
            region: Region::parse(&region).map_err(|_| corrupt("region", &region))?,
            plan: Plan::parse(&plan).ok_or_else(|| corrupt("plan", &plan))?,
            created_at: parse_ts(&created_at)?,
        })
    }
}

pub struct TokenRow {
    id: String,
    org_id: String,
    role: String,
    label: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl TokenRow {
    pub fn read(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
        Ok(TokenRow {
            id: r.get(0)?,
            org_id: r.get(1)?,
            role: r.get(2)?,
            label: r.get(3)?,
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
            last_used_at: r.get(6)?,
            revoked_at: r.get(7)?,
        })
    }

    pub fn into_token(self) -> Result<ApiToken, StoreError> {
        Ok(ApiToken {
            id: parse_id(&self.id)?,
            org_id: parse_id(&self.org_id)?,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("role", &self.role))?,
            label: self.label,
            created_at: parse_ts(&self.created_at)?,
            expires_at: parse_opt_ts(self.expires_at)?,
            last_used_at: parse_opt_ts(self.last_used_at)?,
            revoked_at: parse_opt_ts(self.revoked_at)?,
        })
    }
}

pub struct GroupRow(String, String, Option<String>, String, bool, String);

impl GroupRow {
    pub fn read(r: &Row<'_>) -> rusqlite::Result<GroupRow> {
        Ok(GroupRow(
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    }

    pub fn into_group(self) -> Result<Group, StoreError> {
        let GroupRow(id, org_id, parent_id, name, org_mapped, created_at) = self;
        Ok(Group {
            id: parse_id(&id)?,
            org_id: parse_id(&org_id)?,
            parent_id: parent_id.as_deref().map(parse_id).transpose()?,
            name: GroupName::parse(&name).map_err(|_| corrupt("group name", &name))?,
            org_mapped,
            created_at: parse_ts(&created_at)?,
        })
    }
}
