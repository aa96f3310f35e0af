//! The conformance suite every Steward store backend must pass.
