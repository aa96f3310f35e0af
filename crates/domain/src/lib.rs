//! Steward's domain: pure types and rules with no I/O.
//!
//! Everything past the edge of the system sees only values built here, parsed from raw
//! input once: typed ids, E.164 phone numbers, typed attribute values, roles and jobs.

pub mod phone;
