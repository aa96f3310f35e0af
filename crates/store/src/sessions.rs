//! Signing in: admin sessions, members' one-time codes and the default SMS sender's
//! outbox.

use chrono::{DateTime, Utc};
use steward_domain::{OtpCode, PhoneNumber, Session, SmsMessage};

use crate::{StoreResult, TokenHash};

/// Sessions, one-time codes and the SMS outbox.
pub trait SessionStore {
    fn create_session(&self, session: &Session, hash: &TokenHash) -> StoreResult<()>;
    fn find_session(&self, hash: &TokenHash) -> StoreResult<Option<Session>>;
    fn touch_session(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()>;
    fn delete_session(&self, hash: &TokenHash) -> StoreResult<()>;

    fn create_otp(&self, otp: &OtpCode) -> StoreResult<()>;
    /// The newest code sent to a phone.
    fn latest_otp(&self, phone: &PhoneNumber) -> StoreResult<Option<OtpCode>>;
    /// Marks the code used, if it is unused and under `max_attempts`; true if this
    /// call used it (so two verifications of one code cannot both succeed).
    fn use_otp(&self, id: uuid::Uuid, max_attempts: u32, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Counts a wrong guess against the code.
    fn fail_otp(&self, id: uuid::Uuid) -> StoreResult<()>;
    fn push_sms(&self, message: &SmsMessage) -> StoreResult<()>;

    /// Counts one attempt against `key`, unless the key already has `limit` attempts
    /// in its current window; true if the attempt was counted (and may go ahead).
    /// Checked and counted in one transaction, so concurrent attempts, from any
    /// process, never get more than `limit` through. A window opened before
    /// `window_start` has ended: the key starts a new one at `now`.
    fn throttle_hit(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Gives back one attempt counted against `key` in its current window (for an
    /// attempt that turned out not to count, such as a successful sign-in).
    fn throttle_release(&self, key: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// The newest messages first.
    fn sms_outbox(&self, limit: u32) -> StoreResult<Vec<SmsMessage>>;
}
