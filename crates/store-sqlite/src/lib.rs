//! Steward's embedded default store on SQLite.
