//! Steward's HTTP API and portal.
