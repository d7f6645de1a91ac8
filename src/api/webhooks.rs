//! Meta's webhook: the verification handshake and the signed POST of changes.
//!
//! A POST is read raw (up to the configured limit), authenticated over those exact bytes, then
//! parsed and stored. It is answered 200 only once everything is committed or knowingly dropped;
//! a storage failure is a 503, so that Meta delivers it again.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt as _;
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::StoreError;
use crate::webhook::ingest::IngestError;
use crate::webhook::{SignatureError, parse, verify_signature};

const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Query of Meta's verification request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// Always `subscribe`.
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    /// The verification token configured on both sides.
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// Echoed back when the token matches.
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// Meta's subscription handshake: echoes `hub.challenge` when the token matches.
#[utoipa::path(get, path = "/webhooks/whatsapp", tag = "webhooks", params(VerifyQuery),
    responses(
        (status = 200, description = "the challenge, as plain text", content_type = "text/plain", body = String),
        (status = 403, description = "wrong mode or token", body = crate::error::ErrorBody)))]
#[get("/webhooks/whatsapp")]
pub async fn verify(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let query = web::Query::<VerifyQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let expected = state.settings.meta.verify_token.expose_secret();
    let token_ok = query
        .verify_token
        .as_deref()
        .is_some_and(|given| same_secret(given, expected));
    match (query.mode.as_deref(), query.challenge) {
        (Some("subscribe"), Some(challenge)) if token_ok => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(challenge)),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "verification_failed",
            "mode or verify token is wrong",
        )),
    }
}

/// Equal-length digests compared in constant time, so neither content nor length leaks.
fn same_secret(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    !expected.is_empty() && bool::from(a.ct_eq(&b))
}

/// Receives a batch of changes from Meta.
#[utoipa::path(post, path = "/webhooks/whatsapp", tag = "webhooks",
    params(("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC-SHA256 of the raw body under the app secret>")),
    request_body(content = Object, content_type = "application/json", description = "Meta webhook body"),
    responses(
        (status = 200, description = "stored, or knowingly dropped (unknown number, inactive tenant)"),
        (status = 400, description = "not a webhook body", body = crate::error::ErrorBody),
        (status = 401, description = "missing or wrong signature", body = crate::error::ErrorBody),
        (status = 413, description = "body above the configured limit", body = crate::error::ErrorBody),
        (status = 503, description = "storage unavailable; Meta retries", body = crate::error::ErrorBody)))]
#[post("/webhooks/whatsapp")]
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    metrics::counter!("webhook_requests_total").increment(1);
    let body = read_limited(
        &req,
        payload,
        state.settings.server.webhook_body_limit_bytes,
    )
    .await?;
    // A header that is not visible ASCII cannot hold a valid signature: it is refused as malformed.
    let header = req
        .headers()
        .get(SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or("invalid"));
    if let Err(e) = verify_signature(&state.settings.app_secrets(), header, &body) {
        let reason = match e {
            SignatureError::Missing => "missing",
            SignatureError::Malformed => "malformed",
            SignatureError::Mismatch => "mismatch",
        };
        metrics::counter!("webhook_signature_failures_total", "reason" => reason).increment(1);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "X-Hub-Signature-256 is missing or does not match the body",
        ));
    }
    let batch = parse(&body).map_err(|e| {
        metrics::counter!("webhook_malformed_total").increment(1);
        ApiError::bad_request("malformed_payload", e.to_string())
    })?;
    let report = state.ingestor.submit(batch).await.map_err(ingest_error)?;
    tracing::debug!(
        tenants = report.tenants,
        stored = report.messages_stored,
        duplicates = report.duplicate_messages,
        dropped = report.dropped,
        "webhook stored"
    );
    Ok(HttpResponse::Ok().finish())
}

/// Any database failure is answered 503: Meta retries, and idempotency makes the retry safe.
fn ingest_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Store(StoreError::Unavailable(cause)) => unavailable(&cause),
        IngestError::Store(StoreError::Db(cause)) => unavailable(&cause),
        IngestError::Store(StoreError::Conflict(cause)) => unavailable(&cause),
        // Missing keys or undecryptable rows are a fault here, not a client error.
        IngestError::Store(other) => ApiError::internal(&other),
    }
}

fn unavailable(cause: &dyn std::fmt::Display) -> ApiError {
    tracing::warn!(error = %cause, "webhook not stored: storage failed");
    metrics::counter!("webhook_storage_failures_total").increment(1);
    ApiError::unavailable()
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is too large",
    )
}

/// Reads the raw body, refusing it as soon as it grows past `limit` (or announces it will).
async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> ApiResult<web::BytesMut> {
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(announced.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request("malformed_payload", "the request body could not be read")
        })?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(verify).service(receive);
}
