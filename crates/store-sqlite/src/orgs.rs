//! Orgs and their credentials: the orgs, API tokens and admin accounts.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{self, Connection, OptionalExtension, Row, Transaction, params};
use steward_domain::{Account, AccountId, ApiToken, Email, Org, OrgId, Plan, TokenId};
use steward_store::{OrgStore, StoreResult, TokenHash};

use crate::SqliteStore;
use crate::convert::{self, corrupt, db, parse_id, parse_opt_ts, parse_ts, ts};

impl OrgStore for SqliteStore {
    fn create_org(&self, org: &Org) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO orgs (id, name, region, plan, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    org.id.to_string(),
                    org.name.as_str(),
                    org.region.as_str(),
                    org.plan.as_str(),
                    ts(org.created_at)
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn get_org(&self, id: OrgId) -> StoreResult<Option<Org>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT id, name, region, plan, created_at FROM orgs WHERE id = ?1",
                [id.to_string()],
                convert::OrgRow::read,
            )
            .optional()
            .map_err(db)?;
        row.map(convert::OrgRow::into_org).transpose()
    }

    fn find_orgs_by_name(&self, name: &str) -> StoreResult<Vec<Org>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT id, name, region, plan, created_at FROM orgs WHERE name = ?1 ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([name], convert::OrgRow::read)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter().map(convert::OrgRow::into_org).collect()
    }

    fn set_org_plan(&self, id: OrgId, plan: Plan) -> StoreResult<bool> {
        self.write(|tx| {
            let changed = tx
                .execute(
                    "UPDATE orgs SET plan = ?2 WHERE id = ?1",
                    params![id.to_string(), plan.as_str()],
                )
                .map_err(db)?;
            Ok(changed > 0)
        })
    }

    fn create_api_token(&self, token: &ApiToken, hash: &TokenHash) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_tokens (id, org_id, role, label, secret_hash, created_at,
                                         expires_at, last_used_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL)",
                params![
                    token.id.to_string(),
                    token.org_id.to_string(),
                    token.role.as_str(),
                    token.label,
                    &hash.0[..],
                    ts(token.created_at),
                    token.expires_at.map(ts),
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn find_api_token(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT id, org_id, role, label, created_at, expires_at, last_used_at, revoked_at
                 FROM api_tokens WHERE secret_hash = ?1",
                [&hash.0[..]],
                convert::TokenRow::read,
            )
            .optional()
            .map_err(db)?;
        row.map(convert::TokenRow::into_token).transpose()
    }

    fn touch_api_token(&self, id: TokenId, at: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
                params![id.to_string(), ts(at)],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn list_api_tokens(&self, org: OrgId) -> StoreResult<Vec<ApiToken>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT id, org_id, role, label, created_at, expires_at, last_used_at, revoked_at
                 FROM api_tokens WHERE org_id = ?1 ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([org.to_string()], convert::TokenRow::read)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(convert::TokenRow::into_token)
            .collect()
    }

    fn revoke_api_token(&self, org: OrgId, id: TokenId, at: DateTime<Utc>) -> StoreResult<bool> {
        self.write(|tx| {
            let changed = tx
                .execute(
                    "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?3)
                     WHERE id = ?1 AND org_id = ?2",
                    params![id.to_string(), org.to_string(), ts(at)],
                )
                .map_err(db)?;
            Ok(changed == 1)
        })
    }

    fn create_account(&self, account: &Account, password_hash: &str) -> StoreResult<()> {
        self.write(|tx| create_account(tx, account, password_hash))
    }

    fn find_account_by_email(&self, email: &str) -> StoreResult<Option<(Account, String)>> {
        find_account_by_email(&*self.conn()?, email)
    }

    fn get_account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        get_account(&*self.conn()?, id)
    }

    fn disable_account(&self, org: OrgId, id: AccountId, at: DateTime<Utc>) -> StoreResult<bool> {
        self.write(|tx| disable_account(tx, org, id, at))
    }
}

struct AccountRow(String, String, String, String, Option<String>, String);

fn read_account(r: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

impl AccountRow {
    fn into_account(self) -> StoreResult<(Account, String)> {
        let AccountRow(id, org_id, email, created_at, disabled_at, hash) = self;
        let account = Account {
            id: parse_id(&id)?,
            org_id: parse_id(&org_id)?,
            email: Email::parse(&email).map_err(|_| corrupt("email", &email))?,
            created_at: parse_ts(&created_at)?,
            disabled_at: parse_opt_ts(disabled_at)?,
        };
        Ok((account, hash))
    }
}

const ACCOUNT_COLUMNS: &str = "id, org_id, email, created_at, disabled_at, password_hash";

fn create_account(tx: &Transaction<'_>, a: &Account, hash: &str) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO accounts (id, org_id, email, password_hash, created_at, disabled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            a.id.to_string(),
            a.org_id.to_string(),
            a.email.as_str(),
            hash,
            ts(a.created_at),
            a.disabled_at.map(ts)
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn find_account_by_email(conn: &Connection, email: &str) -> StoreResult<Option<(Account, String)>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = ?1");
    let row = conn
        .query_row(&sql, [email.trim().to_lowercase()], read_account)
        .optional()
        .map_err(db)?;
    row.map(AccountRow::into_account).transpose()
}

fn get_account(conn: &Connection, id: AccountId) -> StoreResult<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
    let row = conn
        .query_row(&sql, [id.to_string()], read_account)
        .optional()
        .map_err(db)?;
    Ok(row
        .map(AccountRow::into_account)
        .transpose()?
        .map(|(a, _)| a))
}

fn disable_account(
    tx: &Transaction<'_>,
    org: OrgId,
    id: AccountId,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = tx
        .execute(
            "UPDATE accounts SET disabled_at = coalesce(disabled_at, ?3) WHERE id = ?1 AND org_id = ?2",
            params![id.to_string(), org.to_string(), ts(at)],
        )
        .map_err(db)?;
    if changed == 0 {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM sessions WHERE account_id = ?1",
        [id.to_string()],
    )
    .map_err(db)?;
    Ok(true)
}
