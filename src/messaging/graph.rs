//! The Graph API client: `POST {base}/{phone_number_id}/messages`, with bounded retries of
//! rate-limited sends.
//!
//! Nothing here logs or returns the access token, the recipient or the message text: errors
//! carry Meta's numeric codes, and Meta's own error text is kept only for sealed storage.
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::messaging::outbound::{Outbound, Recipient, request_body};

use crate::config::MetaSettings;

/// Meta's throughput and pair-rate limits: worth retrying after a pause.
const RATE_LIMIT_CODES: [i64; 3] = [130429, 131056, 80007];
/// The contact has not written in the last 24 hours.
pub const CODE_OUTSIDE_WINDOW: i64 = 131047;
/// The contact has stopped receiving messages from this business.
pub const CODE_OPTED_OUT: i64 = 131050;
/// Longest single pause between retries, whatever the configured base.
const MAX_DELAY: Duration = Duration::from_secs(30);

/// Meta accepted the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub wamid: String,
    /// Meta's `message_status` when it gives one (`accepted`, `held_for_quality_assessment`).
    pub message_status: Option<String>,
}

/// An error object from the Graph API. `message` is Meta's text: store it sealed, never log it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetaFault {
    pub http_status: u16,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: Option<String>,
}

impl std::fmt::Debug for MetaFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaFault")
            .field("http_status", &self.http_status)
            .field("code", &self.code)
            .field("subcode", &self.subcode)
            .finish_non_exhaustive()
    }
}

impl MetaFault {
    /// The fault as stored (sealed) with the message.
    pub fn to_json(&self) -> Value {
        json!({
            "http_status": self.http_status,
            "code": self.code,
            "subcode": self.subcode,
            "message": self.message,
        })
    }

    fn is_rate_limit(&self) -> bool {
        self.http_status == 429 || self.code.is_some_and(|c| RATE_LIMIT_CODES.contains(&c))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("outside the customer service window (131047)")]
    OutsideWindow(MetaFault),
    #[error("the contact opted out (131050)")]
    OptedOut(MetaFault),
    #[error("still rate limited after {attempts} attempts")]
    RateLimited { fault: MetaFault, attempts: u32 },
    #[error("graph error: http {}, code {:?}", .0.http_status, .0.code)]
    Rejected(MetaFault),
    /// No answer in time: Meta may or may not have accepted the message.
    #[error("the Graph API did not answer in time")]
    Timeout,
    /// The request never reached Meta (connection refused, DNS, TLS).
    #[error("the Graph API is unreachable")]
    Unreachable,
    #[error("the Graph API answered with an unexpected body (http {0})")]
    BadAnswer(u16),
}

impl GraphError {
    pub fn fault(&self) -> Option<&MetaFault> {
        match self {
            GraphError::OutsideWindow(f)
            | GraphError::OptedOut(f)
            | GraphError::Rejected(f)
            | GraphError::RateLimited { fault: f, .. } => Some(f),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct SuccessBody {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
    #[serde(default)]
    message_status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// A reusable client for one Graph API base URL.
#[derive(Clone, Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    base: reqwest::Url,
    max_retries: u32,
    base_delay: Duration,
}

impl GraphClient {
    pub fn new(meta: &MetaSettings) -> anyhow::Result<Self> {
        // reqwest is built without a default TLS provider; several may be compiled in.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(meta.request_timeout_secs.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let base = reqwest::Url::parse(meta.graph_base_url.trim_end_matches('/'))?;
        if base.cannot_be_a_base() {
            anyhow::bail!("meta.graph_base_url cannot be a base URL");
        }
        Ok(Self {
            http,
            base,
            max_retries: meta.max_send_retries,
            base_delay: Duration::from_millis(meta.retry_base_delay_ms),
        })
    }

    fn messages_url(&self, phone_number_id: &str) -> Result<reqwest::Url, GraphError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| GraphError::Unreachable)?
            .pop_if_empty()
            .push(phone_number_id)
            .push("messages");
        Ok(url)
    }

    /// Sends one message; rate limits are retried up to the configured count, nothing else is.
    #[tracing::instrument(skip_all, fields(phone_number_id = %phone_number_id, kind = msg.kind()))]
    pub async fn send(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        to: &Recipient,
        msg: &Outbound,
    ) -> Result<Accepted, GraphError> {
        let url = self.messages_url(phone_number_id)?;
        let body = request_body(to, msg);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self.post_once(&url, token, &body).await {
                Err(GraphError::Rejected(fault)) if fault.is_rate_limit() => {
                    if attempt > self.max_retries {
                        tracing::warn!(attempts = attempt, code = ?fault.code, "graph send still rate limited");
                        return Err(GraphError::RateLimited {
                            fault,
                            attempts: attempt,
                        });
                    }
                    let pause = backoff(self.base_delay, attempt);
                    tracing::info!(attempt, code = ?fault.code, pause_ms = pause.as_millis() as u64, "graph send rate limited; retrying");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    async fn post_once(
        &self,
        url: &reqwest::Url,
        token: &SecretString,
        body: &Value,
    ) -> Result<Accepted, GraphError> {
        let resp = self
            .http
            .post(url.clone())
            .bearer_auth(token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            let parsed: SuccessBody = serde_json::from_slice(&bytes)
                .map_err(|_| GraphError::BadAnswer(status.as_u16()))?;
            let first = parsed
                .messages
                .into_iter()
                .next()
                .filter(|m| !m.id.is_empty())
                .ok_or(GraphError::BadAnswer(status.as_u16()))?;
            return Ok(Accepted {
                wamid: first.id,
                message_status: first.message_status,
            });
        }
        Err(classify(status, &bytes))
    }
}

fn transport_error(e: reqwest::Error) -> GraphError {
    if e.is_timeout() {
        GraphError::Timeout
    } else if e.is_connect() {
        GraphError::Unreachable
    } else {
        // The request may have been sent: treat it like a timeout (outcome unknown).
        tracing::warn!(
            kind = if e.is_body() { "body" } else { "request" },
            "graph transport error"
        );
        GraphError::Timeout
    }
}

/// Maps a non-2xx answer to an error, by Meta's error code.
fn classify(status: StatusCode, bytes: &[u8]) -> GraphError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(bytes).ok();
    let fault = MetaFault {
        http_status: status.as_u16(),
        code: parsed.as_ref().and_then(|p| p.error.code),
        subcode: parsed.as_ref().and_then(|p| p.error.error_subcode),
        message: parsed.and_then(|p| p.error.message),
    };
    match fault.code {
        Some(CODE_OUTSIDE_WINDOW) => GraphError::OutsideWindow(fault),
        Some(CODE_OPTED_OUT) => GraphError::OptedOut(fault),
        None if status != StatusCode::TOO_MANY_REQUESTS => GraphError::BadAnswer(status.as_u16()),
        _ => GraphError::Rejected(fault),
    }
}

/// Exponential backoff with "equal jitter": half the doubled delay fixed, half random, so
/// concurrent senders spread out but each still waits at least half the step.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let step = base.saturating_mul(factor).min(MAX_DELAY);
    let half = step / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    let random = crate::crypto::random_bytes::<8>()
        .map(u64::from_le_bytes)
        .unwrap_or(0);
    let extra = if jitter_ms == 0 {
        0
    } else {
        random % (jitter_ms + 1)
    };
    half + Duration::from_millis(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let base = Duration::from_millis(100);
        for attempt in 1..5u32 {
            let step = base * 2u32.pow(attempt - 1);
            let d = backoff(base, attempt);
            assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(base, 64) <= MAX_DELAY);
    }

    #[test]
    fn codes_are_classified() {
        let body = |code: i64| format!(r#"{{"error":{{"code":{code},"message":"x"}}}}"#);
        let bad = StatusCode::BAD_REQUEST;
        assert!(matches!(
            classify(bad, body(131047).as_bytes()),
            GraphError::OutsideWindow(_)
        ));
        assert!(matches!(
            classify(bad, body(131050).as_bytes()),
            GraphError::OptedOut(_)
        ));
        assert!(
            matches!(classify(bad, body(130429).as_bytes()), GraphError::Rejected(f) if f.is_rate_limit())
        );
        assert!(
            matches!(classify(StatusCode::TOO_MANY_REQUESTS, b"busy"), GraphError::Rejected(f) if f.is_rate_limit())
        );
        assert!(matches!(
            classify(bad, b"<html>"),
            GraphError::BadAnswer(400)
        ));
        let f = MetaFault {
            http_status: 400,
            code: Some(1),
            subcode: None,
            message: Some("secret".into()),
        };
        assert!(!format!("{f:?}").contains("secret"));
    }
}
