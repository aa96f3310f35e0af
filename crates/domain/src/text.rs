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
    #[error("{field} contains a control character (such as a tab); only line breaks are allowed")]
    ControlCharacterBesidesLineBreaks { field: &'static str },
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

/// Trims surrounding whitespace and checks a human text that may span lines (a name
/// typed with Alt+Enter in Excel): line breaks are kept, as `\n` whatever the file
/// used (CR LF or CR alone), and no other control character is allowed.
pub fn clean_lines(field: &'static str, raw: &str, max: usize) -> Result<String, TextError> {
    let text = normalize_line_breaks(raw.trim());
    if text.is_empty() {
        return Err(TextError::Empty { field });
    }
    let len = text.chars().count();
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(TextError::ControlCharacterBesidesLineBreaks { field });
    }
    Ok(text.into_owned())
}

/// The text with every line break as `\n`: CR LF and a CR alone become LF.
pub fn normalize_line_breaks(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.contains('\r') {
        raw.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        raw.into()
    }
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

/// Whether a cell would run as a formula once a spreadsheet drops its leading
/// apostrophes: those are the cells [`neutralize_formula`] marks, so that
/// [`restore_formula`] can tell a mark from an apostrophe that is data (`'=x` is
/// written `''=x`).
fn marked_as_formula(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// A cell for a CSV a person will open in a spreadsheet: one that would run as a
/// formula gets a leading apostrophe, so it shows as text. So does a cell of leading
/// apostrophes before such text, so that [`restore_formula`] reads every cell back
/// exactly.
pub fn neutralize_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if marked_as_formula(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Reads back a cell written by [`neutralize_formula`]: the original text. The
/// importer reads every cell through it.
pub fn restore_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if marked_as_formula(rest) => rest,
        _ => cell,
    }
}

macro_rules! line_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal, $clean:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, TextError> {
                $clean($field, raw, $max).map(Self)
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

line_type!(/// A person's display name; it may span lines (Excel's Alt+Enter), kept as `\n`.
    PersonName, "name", 256, clean_lines);
line_type!(/// An organization's name.
    OrgName, "org name", 200, clean_line);
line_type!(/// A group's name.
    GroupName, "group name", 200, clean_line);

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
    fn names_keep_line_breaks_as_lf_and_refuse_other_control_characters() {
        assert_eq!(
            PersonName::parse(" Ada\r\nLovelace ").map(|n| n.as_str().to_owned()),
            Ok("Ada\nLovelace".to_owned())
        );
        assert_eq!(
            PersonName::parse("Ada\rLovelace").map(|n| n.as_str().to_owned()),
            Ok("Ada\nLovelace".to_owned())
        );
        assert_eq!(
            PersonName::parse("Ada\tLovelace"),
            Err(TextError::ControlCharacterBesidesLineBreaks { field: "name" })
        );
        assert_eq!(
            GroupName::parse("Sales\nEast"),
            Err(TextError::ControlCharacter {
                field: "group name"
            })
        );
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
            "'",
            "'=1+2",
            "''-5",
            "two\nlines",
            "=two\nlines",
        ] {
            assert_eq!(restore_formula(&neutralize_formula(cell)), cell, "{cell:?}");
        }
        assert_eq!(
            neutralize_formula("'=1"),
            "''=1",
            "an apostrophe that is data"
        );
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
