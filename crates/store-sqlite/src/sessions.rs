//! Signing in: admin sessions, members' one-time codes and the SMS outbox.

use chrono::{DateTime, Utc};
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, Transaction, params};
use steward_domain::{OtpCode, PhoneNumber, Session, SessionOwner, SmsMessage};
use steward_store::{SessionStore, StoreResult, TokenHash};

use crate::SqliteStore;
use crate::convert::{corrupt, db, parse_id, parse_opt_ts, parse_ts, ts};

impl SessionStore for SqliteStore {
    fn create_session(&self, session: &Session, hash: &TokenHash) -> StoreResult<()> {
        self.write(|tx| create_session(tx, session, hash))
    }

    fn find_session(&self, hash: &TokenHash) -> StoreResult<Option<Session>> {
        find_session(&*self.conn()?, hash)
    }

    fn touch_session(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE sessions SET last_seen_at = ?2 WHERE secret_hash = ?1",
                params![&hash.0[..], ts(at)],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn delete_session(&self, hash: &TokenHash) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE secret_hash = ?1", [&hash.0[..]])
                .map_err(db)?;
            Ok(())
        })
    }

    fn create_otp(&self, otp: &OtpCode) -> StoreResult<()> {
        self.write(|tx| create_otp(tx, otp))
    }

    fn latest_otp(&self, phone: &PhoneNumber) -> StoreResult<Option<OtpCode>> {
        latest_otp(&*self.conn()?, phone)
    }

    fn use_otp(&self, id: uuid::Uuid, max_attempts: u32, at: DateTime<Utc>) -> StoreResult<bool> {
        self.write(|tx| {
            let changed = tx
                .execute(
                    "UPDATE otp_codes SET used_at = ?3
                     WHERE id = ?1 AND used_at IS NULL AND attempts < ?2 AND expires_at > ?3",
                    params![id.to_string(), max_attempts, ts(at)],
                )
                .map_err(db)?;
            Ok(changed == 1)
        })
    }

    fn fail_otp(&self, id: uuid::Uuid) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE otp_codes SET attempts = attempts + 1 WHERE id = ?1",
                [id.to_string()],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn push_sms(&self, message: &SmsMessage) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sms_outbox (id, phone, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    uuid::Uuid::now_v7().to_string(),
                    message.phone.as_str(),
                    message.body,
                    ts(message.created_at)
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn sms_outbox(&self, limit: u32) -> StoreResult<Vec<SmsMessage>> {
        sms_outbox(&*self.conn()?, limit)
    }

    fn throttle_hit(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(|tx| throttle_hit(tx, key, window_start, limit, now))
    }

    fn throttle_release(&self, key: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE throttles SET count = count - 1
                 WHERE key = ?1 AND count > 0 AND expires_at > ?2",
                params![key, ts(now)],
            )
            .map_err(db)?;
            Ok(())
        })
    }
}

/// The check and the count of [`SessionStore::throttle_hit`], inside the caller's
/// write transaction (which holds the database's write lock throughout).
fn throttle_hit(
    tx: &Transaction<'_>,
    key: &str,
    window_start: DateTime<Utc>,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    // Ended windows go, this key's included: the table holds only live windows.
    tx.execute("DELETE FROM throttles WHERE expires_at <= ?1", [ts(now)])
        .map_err(db)?;
    let count: Option<u32> = tx
        .query_row(
            "SELECT count FROM throttles WHERE key = ?1 AND started_at > ?2",
            params![key, ts(window_start)],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    match count {
        Some(count) if count >= limit => Ok(false),
        Some(_) => {
            tx.execute(
                "UPDATE throttles SET count = count + 1 WHERE key = ?1",
                [key],
            )
            .map_err(db)?;
            Ok(true)
        }
        None if limit == 0 => Ok(false),
        None => {
            // The window lasts as long as the caller's: from now, `now - window_start`.
            let expires_at = now + (now - window_start);
            tx.execute(
                "INSERT INTO throttles (key, started_at, expires_at, count) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (key) DO UPDATE SET started_at = ?2, expires_at = ?3, count = 1",
                params![key, ts(now), ts(expires_at)],
            )
            .map_err(db)?;
            Ok(true)
        }
    }
}

fn create_session(tx: &Transaction<'_>, s: &Session, hash: &TokenHash) -> StoreResult<()> {
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

fn find_session(conn: &Connection, hash: &TokenHash) -> StoreResult<Option<Session>> {
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
            |r| TryFrom::try_from(r),
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

fn create_otp(tx: &Transaction<'_>, otp: &OtpCode) -> StoreResult<()> {
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

fn latest_otp(conn: &Connection, phone: &PhoneNumber) -> StoreResult<Option<OtpCode>> {
    type Raw = (String, Vec<u8>, String, String, u32, Option<String>);
    let row: Option<Raw> = conn
        .query_row(
            "SELECT id, code_hash, created_at, expires_at, attempts, used_at FROM otp_codes
             WHERE phone = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
            [phone.as_str()],
            |r| TryFrom::try_from(r),
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

fn sms_outbox(conn: &Connection, limit: u32) -> StoreResult<Vec<SmsMessage>> {
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
