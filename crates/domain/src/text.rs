//! Small validated text values: names and keys that reach the store only once checked.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is {len} characters long; at most {max} are allowed")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} contains a control character (such as a line break or tab)")]
    ControlCharacter { field: &'static str },
    #[error(
        "{field} {raw:?} may only hold lowercase letters, digits and underscores, and must start with a letter"
    )]
    BadKey { field: &'static str, raw: String },
    #[error("{raw:?} is not an email address")]
    BadEmail { raw: String },
}

/// Trims surrounding whitespace and checks a one-line human text.
pub fn clean_line(field: &'static str, raw: &str, max: usize) -> Result<String, TextError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty { field });
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter { field });
    }
    Ok(trimmed.to_owned())
}

/// Whether `c` changes how the text around it is shown rather than being shown
/// itself: control characters (line breaks, tab, NUL, ESC and the rest of C0/C1) and
/// the bidirectional marks, embeddings, overrides and isolates that can make
/// `report\u{202e}txt.exe` look like `reportexe.txt`.
pub fn is_display_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
        // Line and paragraph separators break lines like CR/LF.
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Text a user sent (such as an uploaded file's name), made safe to show: every
/// [`is_display_hazard`] character becomes U+FFFD (the replacement character), so a
/// terminal, a header, a CSV cell or a page shows that something was there without
/// obeying it. The stored value stays as sent; only what is shown changes. This is the
/// one function every output (CLI, CSV, HTTP headers, HTML) uses for such text.
pub fn display_safe(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.chars().any(is_display_hazard) {
        raw.chars()
            .map(|c| if is_display_hazard(c) { '\u{fffd}' } else { c })
            .collect::<String>()
            .into()
    } else {
        raw.into()
    }
}

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a cell, past any apostrophes it starts with, opens like a formula.
fn formula_like(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// A cell for a CSV a person will open in a spreadsheet: one that would run as a
/// formula gets a leading apostrophe, so it shows as text. A cell that already starts
/// with apostrophes before such a character gets one more, so that
/// [`restore_formula`] gives back every cell exactly (`'=x` stays `'=x`).
pub fn neutralize_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Reads back a cell written by [`neutralize_formula`]: the original text.
pub fn restore_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

macro_rules! line_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, TextError> {
                clean_line($field, raw, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

line_type!(/// A person's display name.
    PersonName, "name", 256);
line_type!(/// An organization's name.
    OrgName, "org name", 200);
line_type!(/// A group's name.
    GroupName, "group name", 200);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_control_and_bidi_characters_are_shown_with_replacement_characters() {
        for (raw, shown) in [
            ("people.csv", "people.csv"),
            ("a\r\nb.csv", "a\u{fffd}\u{fffd}b.csv"),
            ("nul\0.csv", "nul\u{fffd}.csv"),
            ("\u{1b}[31mred.csv", "\u{fffd}[31mred.csv"),
            ("report\u{202e}vsc.exe", "report\u{fffd}vsc.exe"),
            ("\u{2067}x\u{2069}", "\u{fffd}x\u{fffd}"),
            ("\u{9b}csi", "\u{fffd}csi"),
            ("Zoë's 名簿.csv", "Zoë's 名簿.csv"),
        ] {
            assert_eq!(display_safe(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn formula_cells_are_neutralized_and_read_back_unchanged() {
        for cell in [
            "=1+2",
            "+91 98765",
            "-5",
            "@SUM(A1)",
            "\tx",
            "plain",
            "'quoted",
            "'=already quoted",
            "''+twice",
            "'",
            "",
        ] {
            assert_eq!(restore_formula(&neutralize_formula(cell)), cell);
        }
        assert_eq!(
            neutralize_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralize_formula("Asha"), "Asha");
        assert_eq!(
            restore_formula("'plain"),
            "'plain",
            "only formula cells lose it"
        );
    }
}
