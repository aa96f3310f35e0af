//! Accounts, sessions, one-time codes, the SMS outbox and the audit log.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{self, Connection, OptionalExtension, Row, Transaction, params};
use steward_domain::content::AuditEvent;
use steward_domain::{
    Account, AccountId, Email, OrgId, OtpCode, PhoneNumber, Session, SessionOwner, SmsMessage,
};
use steward_store::{AuditQuery, Page, StoreResult, TokenHash};

use crate::convert::{corrupt, db, parse_id, parse_opt_ts, parse_ts, ts};

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

pub fn create_account(tx: &Transaction<'_>, a: &Account, hash: &str) -> StoreResult<()> {
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

pub fn find_account_by_email(
    conn: &Connection,
    email: &str,
) -> StoreResult<Option<(Account, String)>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = ?1");
    let row = conn
        .query_row(&sql, [email.trim().to_lowercase()], read_account)
        .optional()
        .map_err(db)?;
    row.map(AccountRow::into_account).transpose()
}

pub fn get_account(conn: &Connection, id: AccountId) -> StoreResult<Option<Account>> {
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

pub fn disable_account(
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

pub fn create_session(tx: &Transaction<'_>, s: &Session, hash: &TokenHash) -> StoreResult<()> {
    let (account, phone) = match &s.owner {
        SessionOwner::Account(id) => (Some(id.to_string()), None),
        SessionOwner::Member(phone) => (None, Some(phone.as_str().to_owned())),
    };
    tx.execute(
        "INSERT INTO sessions (secret_hash, account_id, phone, csrf_token, created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &hash.0[..],
            account,
            phone,
            s.csrf_token,
            ts(s.created_at),
            ts(s.last_seen_at),
            ts(s.expires_at)
        ],
    )
    .map_err(db)?;
    Ok(())
}

pub fn find_session(conn: &Connection, hash: &TokenHash) -> StoreResult<Option<Session>> {
    type Raw = (
        Option<String>,
        Option<String>,
        String,
        String,
        String,
        String,
    );
    let row: Option<Raw> = conn
        .query_row(
            "SELECT account_id, phone, csrf_token, created_at, last_seen_at, expires_at
             FROM sessions WHERE secret_hash = ?1",
            [&hash.0[..]],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()
        .map_err(db)?;
    let Some((account, phone, csrf_token, created, seen, expires)) = row else {
        return Ok(None);
    };
    let owner = match (account, phone) {
        (Some(id), _) => SessionOwner::Account(parse_id(&id)?),
        (None, Some(phone)) => SessionOwner::Member(
            PhoneNumber::from_e164(&phone).map_err(|_| corrupt("phone", &phone))?,
        ),
        (None, None) => return Err(corrupt("session owner", "none")),
    };
    Ok(Some(Session {
        owner,
        csrf_token,
        created_at: parse_ts(&created)?,
        last_seen_at: parse_ts(&seen)?,
        expires_at: parse_ts(&expires)?,
    }))
}

pub fn create_otp(tx: &Transaction<'_>, otp: &OtpCode) -> StoreResult<()> {
    let mut hash = otp.salt.to_vec();
    hash.extend(&otp.code_hash);
    tx.execute(
        "INSERT INTO otp_codes (id, phone, code_hash, created_at, expires_at, attempts, used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            otp.id.to_string(),
            otp.phone.as_str(),
            hash,
            ts(otp.created_at),
            ts(otp.expires_at),
            otp.attempts,
            otp.used_at.map(ts)
        ],
    )
    .map_err(db)?;
    Ok(())
}

pub fn latest_otp(conn: &Connection, phone: &PhoneNumber) -> StoreResult<Option<OtpCode>> {
    type Raw = (String, Vec<u8>, String, String, u32, Option<String>);
    let row: Option<Raw> = conn
        .query_row(
            "SELECT id, code_hash, created_at, expires_at, attempts, used_at FROM otp_codes
             WHERE phone = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
            [phone.as_str()],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()
        .map_err(db)?;
    let Some((id, stored, created, expires, attempts, used)) = row else {
        return Ok(None);
    };
    if stored.len() != 16 + 32 {
        return Err(corrupt("code hash", &id));
    }
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&stored[..16]);
    Ok(Some(OtpCode {
        id: id.parse().map_err(|_| corrupt("code id", &id))?,
        phone: phone.clone(),
        code_hash: stored[16..].to_vec(),
        salt,
        created_at: parse_ts(&created)?,
        expires_at: parse_ts(&expires)?,
        attempts,
        used_at: parse_opt_ts(used)?,
    }))
}

pub fn sms_outbox(conn: &Connection, limit: u32) -> StoreResult<Vec<SmsMessage>> {
    let mut stmt = conn
        .prepare("SELECT phone, body, created_at FROM sms_outbox ORDER BY created_at DESC, id DESC LIMIT ?1")
        .map_err(db)?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(|(phone, body, at)| {
            Ok(SmsMessage {
                phone: PhoneNumber::from_e164(&phone).map_err(|_| corrupt("phone", &phone))?,
                body,
                created_at: parse_ts(&at)?,
            })
        })
        .collect()
}

pub fn list_audit(conn: &Connection, org: OrgId, q: &AuditQuery) -> StoreResult<Page<AuditEvent>> {
    let limit = q.limit.clamp(1, 500);
    let filters = "org_id = ?1 AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3)
                   AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5)";
    let from = q.from.map(ts);
    let to = q.to.map(ts);
    let total: u64 = conn
        .query_row(
            &format!("SELECT count(*) FROM audit_events WHERE {filters}"),
            params![org.to_string(), q.actor, q.action, from, to],
            |r| r.get(0),
        )
        .map_err(db)?;
    // Audit ids are UUIDv7: id order is time order, so the cursor is the last id.
    let sql = format!(
        "SELECT id, org_id, actor, action, target, outcome, request_id, ip, at FROM audit_events
         WHERE {filters} AND (?6 IS NULL OR id < ?6) ORDER BY id DESC LIMIT ?7"
    );
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    type Raw = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Raw> = stmt
        .query_map(
            params![
                org.to_string(),
                q.actor,
                q.action,
                from,
                to,
                q.after,
                limit + 1
            ],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            },
        )
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut items = rows
        .into_iter()
        .map(
            |(id, org_id, actor, action, target, outcome, request_id, ip, at)| {
                Ok(AuditEvent {
                    id: parse_id(&id)?,
                    org_id: parse_id(&org_id)?,
                    actor,
                    action,
                    target,
                    outcome,
                    request_id,
                    ip,
                    at: parse_ts(&at)?,
                })
            },
        )
        .collect::<StoreResult<Vec<_>>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}
