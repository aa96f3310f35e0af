//! Typed custom attributes: the org's schema (definitions) and the values users hold.
//!
//! Values are parsed from the text a CSV cell or form holds with
//! [`AttributeValue::parse`], and from JSON with [`AttributeValue::from_json`]; each has
//! one canonical text form ([`AttributeValue::to_text`]) used for storage and export,
//! which parses back to the same value.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::text::{TextError, clean_line};

/// The type of an attribute, as the seed's portal offers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    String,
    Number,
    YesNo,
    #[serde(rename = "datetime")]
    DateTime,
}

impl AttributeType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Number => "number",
            AttributeType::YesNo => "yes_no",
            AttributeType::DateTime => "datetime",
        }
    }

    pub fn parse(raw: &str) -> Option<AttributeType> {
        match raw {
            "string" => Some(AttributeType::String),
            "number" => Some(AttributeType::Number),
            "yes_no" => Some(AttributeType::YesNo),
            "datetime" => Some(AttributeType::DateTime),
            _ => None,
        }
    }
}

/// The machine name of an attribute (`employee_id`): lowercase letters, digits and
/// underscores, starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AttributeKey(String);

impl AttributeKey {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<AttributeKey, TextError> {
        let key = clean_line("attribute key", raw, Self::MAX_CHARS)?;
        let mut bytes = key.bytes();
        let starts_with_letter = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
        if !starts_with_letter
            || !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(TextError::BadKey {
                field: "attribute key",
                raw: key,
            });
        }
        Ok(AttributeKey(key))
    }

    /// Derives a key from a display name: "Employee ID" -> `employee_id`.
    pub fn from_display_name(name: &str) -> Result<AttributeKey, TextError> {
        let mut key = String::new();
        for c in name.trim().chars() {
            if c.is_ascii_alphanumeric() {
                key.push(c.to_ascii_lowercase());
            } else if !key.is_empty() && !key.ends_with('_') {
                key.push('_');
            }
        }
        let key = key.trim_end_matches('_');
        let key = if key.starts_with(|c: char| c.is_ascii_digit()) {
            format!("a_{key}")
        } else {
            key.to_owned()
        };
        AttributeKey::parse(&key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AttributeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AttributeKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        AttributeKey::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One attribute of an org's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeDef {
    pub key: AttributeKey,
    /// The display name, also accepted as a CSV header.
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttributeType,
    #[serde(default)]
    pub mandatory: bool,
    /// Picked from the suggested list rather than made up by the admin.
    #[serde(default)]
    pub suggested: bool,
}

/// A typed attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    String(String),
    Number(f64),
    YesNo(bool),
    DateTime(DateTime<Utc>),
}

/// Why a value does not fit its attribute's type. The message names the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(
        "{raw:?} is not a number (use digits with an optional '-' and decimal point, e.g. 1250 or -3.5)"
    )]
    NotANumber { raw: String },
    #[error("{raw:?} is not yes or no (use Yes, No, Y, N, true, false, 1 or 0)")]
    NotYesNo { raw: String },
    #[error(
        "{raw:?} is not a date or date-time (use ISO 8601, e.g. 2024-05-31 or 2024-05-31T14:30:00Z)"
    )]
    NotDateTime { raw: String },
    #[error("the value is {len} characters long; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("the value contains a control character (such as a tab); only line breaks are allowed")]
    ControlCharacter,
    #[error("expected a JSON {expected}, got {got}")]
    WrongJsonType { expected: &'static str, got: String },
}

impl AttributeValue {
    pub const MAX_STRING_CHARS: usize = 1024;

    /// Parses the text of a CSV cell or form field. Surrounding whitespace is ignored;
    /// an empty cell is `None` (no value).
    pub fn parse(ty: AttributeType, raw: &str) -> Result<Option<AttributeValue>, ValueError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let value = match ty {
            AttributeType::String => AttributeValue::String(parse_string(raw)?),
            AttributeType::Number => AttributeValue::Number(parse_number(raw)?),
            AttributeType::YesNo => AttributeValue::YesNo(parse_yes_no(raw)?),
            AttributeType::DateTime => AttributeValue::DateTime(parse_datetime(raw)?),
        };
        Ok(Some(value))
    }

    /// Reads a JSON value: string, number, boolean or RFC 3339 string by type;
    /// `null` is no value.
    pub fn from_json(
        ty: AttributeType,
        json: &serde_json::Value,
    ) -> Result<Option<AttributeValue>, ValueError> {
        use serde_json::Value;
        let wrong = |expected| ValueError::WrongJsonType {
            expected,
            got: json_kind(json).to_owned(),
        };
        match (ty, json) {
            (_, Value::Null) => Ok(None),
            (AttributeType::Number, Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Some(AttributeValue::Number(f))),
                _ => Err(ValueError::NotANumber { raw: n.to_string() }),
            },
            (AttributeType::Number, _) => Err(wrong("number")),
            (AttributeType::YesNo, Value::Bool(b)) => Ok(Some(AttributeValue::YesNo(*b))),
            (AttributeType::YesNo, _) => Err(wrong("boolean")),
            (AttributeType::String | AttributeType::DateTime, Value::String(s)) => {
                AttributeValue::parse(ty, s)
            }
            (AttributeType::String, _) => Err(wrong("string")),
            (AttributeType::DateTime, _) => Err(wrong("string holding an RFC 3339 date-time")),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AttributeValue::String(s) => serde_json::Value::String(s.clone()),
            // Whole numbers leave as integers (3, not 3.0), as people wrote them.
            AttributeValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                serde_json::Value::from(*n as i64)
            }
            AttributeValue::Number(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            AttributeValue::YesNo(b) => serde_json::Value::Bool(*b),
            AttributeValue::DateTime(_) => serde_json::Value::String(self.to_text()),
        }
    }

    /// The canonical text: what storage and exports hold, and what
    /// [`AttributeValue::parse`] reads back to the same value.
    pub fn to_text(&self) -> String {
        match self {
            AttributeValue::String(s) => s.clone(),
            // f64's Display is the shortest text that reads back to the same number,
            // and prints whole numbers without a trailing ".0".
            AttributeValue::Number(n) => n.to_string(),
            AttributeValue::YesNo(true) => "Yes".to_owned(),
            AttributeValue::YesNo(false) => "No".to_owned(),
            AttributeValue::DateTime(dt) => dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
    }

    pub fn ty(&self) -> AttributeType {
        match self {
            AttributeValue::String(_) => AttributeType::String,
            AttributeValue::Number(_) => AttributeType::Number,
            AttributeValue::YesNo(_) => AttributeType::YesNo,
            AttributeValue::DateTime(_) => AttributeType::DateTime,
        }
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A string value: it may span lines (kept as `\n`), and holds no other control
/// character.
fn parse_string(raw: &str) -> Result<String, ValueError> {
    let raw = crate::text::normalize_line_breaks(raw);
    let len = raw.chars().count();
    if len > AttributeValue::MAX_STRING_CHARS {
        return Err(ValueError::TooLong {
            len,
            max: AttributeValue::MAX_STRING_CHARS,
        });
    }
    if raw.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValueError::ControlCharacter);
    }
    Ok(raw.into_owned())
}

fn parse_number(raw: &str) -> Result<f64, ValueError> {
    let not_a_number = || ValueError::NotANumber {
        raw: raw.to_owned(),
    };
    // Rust's float parser also takes "inf", "NaN" and "1e5"; only plain decimals are
    // a number to a person filling in a spreadsheet.
    let plain = raw
        .strip_prefix(['-', '+'])
        .unwrap_or(raw)
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.');
    if !plain
        || raw.bytes().filter(|b| *b == b'.').count() > 1
        || !raw.bytes().any(|b| b.is_ascii_digit())
    {
        return Err(not_a_number());
    }
    let n: f64 = raw.parse().map_err(|_| not_a_number())?;
    if n.is_finite() {
        Ok(n)
    } else {
        Err(not_a_number())
    }
}

fn parse_yes_no(raw: &str) -> Result<bool, ValueError> {
    match raw.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(ValueError::NotYesNo {
            raw: raw.to_owned(),
        }),
    }
}

/// ISO 8601: a date alone (midnight UTC), or a date-time with an offset or `Z`, or a
/// date-time without an offset (taken as UTC); `T` or a space between the two.
fn parse_datetime(raw: &str) -> Result<DateTime<Utc>, ValueError> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return Ok(dt.with_timezone(&Utc));
    }
    let spaced_to_t = raw.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&spaced_to_t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&spaced_to_t, format) {
            return Ok(naive.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .map(|dt| dt.and_utc())
            .unwrap_or_default());
    }
    Err(ValueError::NotDateTime {
        raw: raw.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(ty: AttributeType, raw: &str) -> Result<Option<AttributeValue>, ValueError> {
        AttributeValue::parse(ty, raw)
    }

    #[test]
    fn yes_no_accepts_every_spelling_in_any_case() {
        for raw in ["Yes", "YES", "y", "Y", "true", "TRUE", "1", " yes "] {
            assert_eq!(
                parse(AttributeType::YesNo, raw),
                Ok(Some(AttributeValue::YesNo(true))),
                "{raw}"
            );
        }
        for raw in ["No", "no", "N", "n", "False", "0"] {
            assert_eq!(
                parse(AttributeType::YesNo, raw),
                Ok(Some(AttributeValue::YesNo(false))),
                "{raw}"
            );
        }
    }

    #[test]
    fn yes_no_refuses_other_words_and_says_what_is_accepted() {
        let err = parse(AttributeType::YesNo, "maybe").unwrap_err();
        assert!(
            err.to_string()
                .contains("Yes, No, Y, N, true, false, 1 or 0"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_cell_is_no_value_for_every_type() {
        for ty in [
            AttributeType::String,
            AttributeType::Number,
            AttributeType::YesNo,
            AttributeType::DateTime,
        ] {
            assert_eq!(parse(ty, "  "), Ok(None));
        }
    }

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(
            parse(AttributeType::Number, "1250"),
            Ok(Some(AttributeValue::Number(1250.0)))
        );
        assert_eq!(
            parse(AttributeType::Number, "-3.5"),
            Ok(Some(AttributeValue::Number(-3.5)))
        );
        for bad in ["1,250", "NaN", "inf", "1e5", "12abc", "-", ".", "1.2.3"] {
            assert!(
                matches!(
                    parse(AttributeType::Number, bad),
                    Err(ValueError::NotANumber { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn datetimes_accept_iso_dates_and_date_times() {
        let cases = [
            ("2024-05-31", "2024-05-31T00:00:00Z"),
            ("2024-05-31T14:30:00Z", "2024-05-31T14:30:00Z"),
            ("2024-05-31T14:30:00+05:30", "2024-05-31T09:00:00Z"),
            ("2024-05-31 14:30:00", "2024-05-31T14:30:00Z"),
            ("2024-05-31T14:30", "2024-05-31T14:30:00Z"),
        ];
        for (raw, canonical) in cases {
            let value = parse(AttributeType::DateTime, raw).unwrap().unwrap();
            assert_eq!(value.to_text(), canonical, "{raw}");
        }
        assert!(matches!(
            parse(AttributeType::DateTime, "31/05/2024"),
            Err(ValueError::NotDateTime { .. })
        ));
        assert!(matches!(
            parse(AttributeType::DateTime, "2024-02-30"),
            Err(ValueError::NotDateTime { .. })
        ));
    }

    #[test]
    fn canonical_text_reads_back_to_the_same_value() {
        let values = [
            AttributeValue::String("E-17, \"quoted\"".into()),
            AttributeValue::Number(0.1),
            AttributeValue::Number(-42.0),
            AttributeValue::YesNo(true),
            AttributeValue::YesNo(false),
            AttributeValue::DateTime(
                DateTime::parse_from_rfc3339("2021-01-02T03:04:05.123Z")
                    .unwrap()
                    .into(),
            ),
        ];
        for value in values {
            let back = AttributeValue::parse(value.ty(), &value.to_text())
                .unwrap()
                .unwrap();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn strings_keep_line_breaks_and_refuse_other_control_characters_and_overlong_text() {
        assert_eq!(
            parse(AttributeType::String, "a\u{0}b"),
            Err(ValueError::ControlCharacter)
        );
        assert_eq!(
            parse(AttributeType::String, "a\tb"),
            Err(ValueError::ControlCharacter)
        );
        assert_eq!(
            parse(AttributeType::String, "line one\r\nline two"),
            Ok(Some(AttributeValue::String("line one\nline two".into())))
        );
        let long = "x".repeat(AttributeValue::MAX_STRING_CHARS + 1);
        assert!(matches!(
            parse(AttributeType::String, &long),
            Err(ValueError::TooLong { .. })
        ));
    }

    #[test]
    fn json_values_must_match_the_type() {
        use serde_json::json;
        assert_eq!(
            AttributeValue::from_json(AttributeType::YesNo, &json!(true)),
            Ok(Some(AttributeValue::YesNo(true)))
        );
        assert!(AttributeValue::from_json(AttributeType::Number, &json!("12")).is_err());
        assert_eq!(
            AttributeValue::from_json(AttributeType::String, &json!(null)),
            Ok(None)
        );
    }

    #[test]
    fn keys_derive_from_display_names() {
        assert_eq!(
            AttributeKey::from_display_name("Employee ID")
                .unwrap()
                .as_str(),
            "employee_id"
        );
        assert_eq!(
            AttributeKey::from_display_name("  Hire Date (UTC) ")
                .unwrap()
                .as_str(),
            "hire_date_utc"
        );
        assert_eq!(
            AttributeKey::from_display_name("2nd Manager")
                .unwrap()
                .as_str(),
            "a_2nd_manager"
        );
        assert!(AttributeKey::parse("Employee ID").is_err());
    }
}
