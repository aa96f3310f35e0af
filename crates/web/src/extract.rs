//! Body and query extractors whose rejections are problem+json like every other error,
//! and say what a person should send, naming the field (never a Rust type).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use steward_app::{AppError, FieldError};

use crate::ApiError;

/// The largest JSON body accepted. Every JSON request is a small document (the biggest
/// is an attribute schema); files travel as uploads, which stream and have their own caps.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON body; a malformed one is a 400, a mistyped one a 422 naming the field, one
/// over [`MAX_JSON_BODY`] a 413.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "send the body as JSON with 'Content-Type: application/json'",
            ));
        }
        let bytes = read_limited(req, MAX_JSON_BODY).await?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
        deserializer.end().map_err(|e| malformed(&e))?;
        Ok(JsonBody(value))
    }
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Body too large",
        format!("a JSON body may hold at most {} KiB", max >> 10),
    )
}

/// The whole body, refused with 413 as soon as it is known to exceed `max` (from its
/// `Content-Length`, or while reading), so an oversized body is never buffered.
async fn read_limited(req: Request, max: usize) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let mut stream = req.into_body().into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "Unreadable body",
                format!("the request body could not be read: {e}"),
            )
        })?;
        if out.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = without_location(&inner.to_string());
    match inner.classify() {
        serde_json::error::Category::Data => invalid_field(&path, &message),
        _ => malformed(&inner),
    }
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "Malformed JSON",
        format!(
            "the body is not valid JSON: {} (at line {}, column {})",
            without_location(&e.to_string()),
            e.line(),
            e.column()
        ),
    )
}

/// serde_json's message without its " at line L column C" suffix.
fn without_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// A 422 for one field: `path` is where the deserializer stood (`.` at the top),
/// `message` serde's own words, rewritten for a person.
fn invalid_field(path: &str, message: &str) -> ApiError {
    let (field, reason) = humanize(path, message);
    AppError::Invalid(vec![FieldError::new(&field, reason)]).into()
}

/// Turns serde's wording ("invalid type: string \"x\", expected u32", "missing field
/// `email`") into what the caller should send, and names the field it is about.
fn humanize(path: &str, message: &str) -> (String, String) {
    let at = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let here = if path.is_empty() || path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    if let Some(name) = between(message, "missing field `", "`") {
        return (at(name), "is required".into());
    }
    if let Some(name) = between(message, "unknown field `", "`") {
        let known = message
            .split_once("expected ")
            .map(|(_, rest)| format!("; use {}", rest.replace('`', "")))
            .unwrap_or_default();
        return (at(name), format!("is not a known field{known}"));
    }
    if let Some(value) = between(message, "unknown variant `", "`") {
        let choices = message
            .split_once("expected ")
            .map(|(_, rest)| rest.replace('`', "").replace("one of ", ""))
            .unwrap_or_default();
        return (here, format!("{value:?} is not allowed; use {choices}"));
    }
    if let Some((_, expected)) = message.split_once(", expected ")
        && (message.starts_with("invalid type") || message.starts_with("invalid value"))
    {
        return (here, expected_as_words(expected.trim()));
    }
    // Query strings: the standard library's parse errors.
    let reason = match message {
        "invalid digit found in string" | "cannot parse integer from empty string" => {
            "must be a whole number".to_owned()
        }
        "number too large to fit in target type" | "number too small to fit in target type" => {
            "is out of range".to_owned()
        }
        "invalid float literal" => "must be a number".to_owned(),
        "provided string was not `true` or `false`" => "must be true or false".to_owned(),
        // Messages written for people (our own validated types) pass through.
        other => other.to_owned(),
    };
    (here, reason)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

/// What serde's "expected ..." means for someone writing JSON by hand.
fn expected_as_words(expected: &str) -> String {
    let whole = |max: &str| format!("must be a whole number from 0 to {max}");
    match expected {
        "u8" => whole("255"),
        "u16" => whole("65535"),
        "u32" => whole("4294967295"),
        "u64" | "usize" | "u128" => "must be a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" | "i128" => "must be a whole number".into(),
        "f32" | "f64" => "must be a number".into(),
        "a boolean" => "must be true or false".into(),
        "a string" | "a borrowed string" | "a character" => "must be text (a JSON string)".into(),
        "a sequence" | "a tuple" => "must be a list (a JSON array)".into(),
        "a map" => "must be an object".into(),
        other if other.starts_with("struct ") || other.starts_with("a map") => {
            "must be an object".into()
        }
        other if other.starts_with("a sequence") || other.starts_with("a tuple") => {
            "must be a list (a JSON array)".into()
        }
        other if other.starts_with("enum ") || other.starts_with("variant ") => {
            "is not one of the allowed values".into()
        }
        other if other.starts_with("unit") || other.starts_with("null") => "must be null".into(),
        // Anything else is already a description (`"an RFC 3339 time"`, ...).
        other => format!("must be {other}"),
    }
}

/// Query parameters; bad ones are a 422 naming the parameter.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(QueryParams)
            .map_err(|e| {
                let path = e.path().to_string();
                invalid_field(&path, &e.into_inner().to_string())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_wording_becomes_what_to_send_naming_the_field() {
        let cases = [
            (".", "missing field `email`", "email", "is required"),
            (
                "expires_in_days",
                "invalid type: string \"x\", expected u32",
                "expires_in_days",
                "must be a whole number from 0 to 4294967295",
            ),
            (
                "limit",
                "invalid digit found in string",
                "limit",
                "must be a whole number",
            ),
            (
                ".",
                "invalid type: integer `3`, expected struct NewUser",
                "body",
                "must be an object",
            ),
            (
                "attributes[0]",
                "missing field `key`",
                "attributes[0].key",
                "is required",
            ),
            (
                "dry_run",
                "provided string was not `true` or `false`",
                "dry_run",
                "must be true or false",
            ),
        ];
        for (path, message, field, reason) in cases {
            assert_eq!(
                humanize(path, message),
                (field.to_owned(), reason.to_owned()),
                "{message}"
            );
        }
    }
}
