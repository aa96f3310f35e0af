//! Steward's use cases and background jobs.
