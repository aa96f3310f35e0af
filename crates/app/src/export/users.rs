//! The payload of a users export.

use serde::{Deserialize, Serialize};

use super::{ExportOptions, UsersFormat};

/// What a users export counts: the users written, and the rows that would not import
/// again as they are (listed in its errors.csv).
pub const EXPORTED: &str = "exported";
pub const WARNINGS: &str = "warnings";

/// The payload of a users export.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportUsers {
    pub format: UsersFormat,
    /// The users list's parameters (`q`, `sort`, `filter.<key>`), checked when asked.
    pub filter: Vec<(String, String)>,
    #[serde(flatten)]
    pub options: ExportOptions,
}
