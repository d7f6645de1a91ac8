//! Extractor configuration: malformed input becomes a 4xx with an error code, never a 500.
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::web;

use crate::config::Settings;
use crate::error::ApiError;

pub fn json_config(settings: &Settings) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(settings.server.json_body_limit_bytes)
        .error_handler(|err, _req| json_error(&err).into())
}

fn json_error(err: &JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
        }
        JsonPayloadError::ContentType => ApiError::bad_request(
            "invalid_content_type",
            "expected Content-Type: application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            // Field names from serde are safe to echo; values are never included.
            ApiError::unprocessable("invalid_request", sanitize(&e.to_string()))
        }
        _ => ApiError::bad_request("malformed_json", "the body is not valid JSON"),
    }
}

/// Keeps serde's description of what was expected, drops positions and any quoted input.
fn sanitize(msg: &str) -> String {
    let head = msg.split(" at line ").next().unwrap_or(msg);
    if head.contains("invalid value") || head.contains("invalid type") {
        return head.split(':').next().unwrap_or("invalid value").to_owned();
    }
    head.chars().take(200).collect()
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        let _ = err;
        ApiError::bad_request(
            "invalid_query",
            "the query string is not valid for this route",
        )
        .into()
    })
}

pub fn path_config() -> web::PathConfig {
    // An id that does not parse cannot name an existing resource.
    web::PathConfig::default().error_handler(|_err: PathError, _req| ApiError::not_found().into())
}
