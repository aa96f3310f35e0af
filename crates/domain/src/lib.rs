//! Steward's domain: pure types and rules with no I/O.
//!
//! Everything past the edge of the system sees only values built here, parsed from raw
//! input once: typed ids, E.164 phone numbers, typed attribute values, roles and jobs.

pub mod access;
pub mod account;
pub mod attribute;
pub mod content;
pub mod group;
pub mod ids;
pub mod job;
pub mod lifecycle;
pub mod org;
pub mod phone;
pub mod phone_repair;
pub mod plan;
pub mod role;
pub mod text;
pub mod user;

pub use account::{Account, Email, OtpCode, Session, SessionOwner, SmsMessage};
pub use attribute::{AttributeDef, AttributeKey, AttributeType, AttributeValue, ValueError};
pub use ids::*;
pub use job::{Counts, Job, JobKind, JobStatus, Progress};
pub use org::{ApiToken, Org};
pub use phone::{PhoneError, PhoneNumber, Region};
pub use phone_repair::PhoneRepair;
pub use plan::{Feature, Plan};
pub use role::{GroupRole, Role};
pub use text::{GroupName, OrgName, PersonName, TextError};
pub use user::{
    AttributeChanges, Attributes, UpsertOutcome, User, UserSource, UserStatus, UserUpsert,
};
