//! The HTTP API, tested against the real server on port 0 with a real store on disk
//! and a real job worker: one test binary, one module per feature.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod helpers;

mod attributes;
mod audit;
mod browser;
mod content;
mod deletion;
mod deletion_users;
mod exports;
mod groups;
mod health;
mod imports;
mod isolation;
mod limits;
mod openapi;
mod plans;
mod portal;
mod requests;
mod self_delete;
mod sessions;
mod tokens;
mod user_deletions;
mod users;
