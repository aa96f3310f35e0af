//! Who can sign in: admin accounts (email and password), sessions, and the one-time
//! codes members sign in with by phone.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::ids::{AccountId, OrgId};
use crate::phone::PhoneNumber;
use crate::text::TextError;

/// An email address, trimmed and lowercased so it matches however it was typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, TextError> {
        let email = crate::text::clean_line("email", raw, 254)?.to_lowercase();
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !email.contains(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Email(email))
        } else {
            Err(TextError::BadEmail {
                raw: raw.trim().to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Email::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An org admin's sign-in account.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub org_id: OrgId,
    pub email: Email,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Who a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionOwner {
    /// An admin account (and so its org).
    Account(AccountId),
    /// A member, by phone: they act in each org as that org's records say.
    Member(PhoneNumber),
}

/// A signed-in session, found by the hash of its secret.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub owner: SessionOwner,
    /// Must come back in the `x-csrf-token` header of cookie-authenticated writes.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end, however active the session is.
    pub expires_at: DateTime<Utc>,
}

/// A one-time sign-in code as stored: only a salted hash of the code.
#[derive(Clone, Debug, PartialEq)]
pub struct OtpCode {
    pub id: uuid::Uuid,
    pub phone: PhoneNumber,
    /// SHA-256 of the salt followed by the code.
    pub code_hash: Vec<u8>,
    pub salt: [u8; 16],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub attempts: u32,
    pub used_at: Option<DateTime<Utc>>,
}

/// A text message as the default sender keeps it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SmsMessage {
    pub phone: PhoneNumber,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
