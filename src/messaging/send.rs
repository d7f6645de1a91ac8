//! Sending a reply: authorise, check the rules, store the message (sealed) as pending, hand it
//! to Meta with no transaction held open, then record the outcome.
//!
//! The message is stored before the Graph API is called, so a send whose outcome is unknown (a
//! timeout) is still on record, with status `unknown`, and the caller is told so.
use actix_web::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Permission;
use crate::auth::extract::Caller;
use crate::error::{ApiError, ApiResult};
use crate::messaging::access::Access;
use crate::messaging::graph::GraphError;
use crate::messaging::outbound::{Outbound, Recipient, content_of};
use crate::messaging::rules::{self, Refusal};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::contacts::{CONSENT_OPTED_OUT, ConsentChange};
use crate::store::inbox::OUTBOUND_PENDING;
use crate::store::messages::{DIRECTION_OUTBOUND, NewMessage, StoredMessage, TERMINAL_STATUS_RANK};
use crate::store::sealed::open_contact;

/// Meta accepted the message; webhooks move it on to sent, delivered, read.
pub const OUTBOUND_ACCEPTED: &str = "accepted";
/// Meta refused it, or it never reached Meta.
pub const OUTBOUND_FAILED: &str = "failed";
/// No answer in time: Meta may or may not deliver it.
pub const OUTBOUND_UNKNOWN: &str = "unknown";
/// Consent source recorded when Meta reports that the contact stopped receiving messages.
const META_OPT_OUT_SOURCE: &str = "meta_error_131050";
/// Seconds a caller is asked to wait after Meta kept rate limiting a send.
const RATE_LIMIT_RETRY_AFTER_SECS: u64 = 60;

/// What the caller learns about an accepted send.
#[derive(Clone, Debug)]
pub struct Sent {
    pub id: Uuid,
    /// `accepted`, or `sent` when Meta's status webhook already arrived.
    pub status: &'static str,
    pub wamid: String,
}

/// Where a pending message is headed.
struct Pending {
    tenant_id: Uuid,
    message_id: Uuid,
    phone_number_id: String,
    contact_id: Uuid,
    token: secrecy::SecretString,
    to: Recipient,
}

/// Sends `msg` in conversation `id` for `caller`.
pub async fn send(state: &AppState, caller: &Caller, id: Uuid, msg: Outbound) -> ApiResult<Sent> {
    let p = prepare(state, caller, id, &msg).await?;
    let result = state
        .graph
        .send(&p.phone_number_id, &p.token, &p.to, &msg)
        .await;
    record_outcome(state, &p, result).await
}

/// Authorises, checks the send rules and stores the message as pending, in one transaction.
async fn prepare(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    msg: &Outbound,
) -> ApiResult<Pending> {
    let access = Access::open(state, caller, None).await?;
    let conv = access.conversation(id, Permission::SendMessages).await?;
    let keys = state.keys.for_tenant(access.tenant_id()).await?;
    let row = access.tx.contact_row(conv.contact_id).await?;
    let contact = open_contact(&keys, &row).map_err(StoreError::from)?;
    let to = rules::check(&contact, msg, access.now).map_err(refusal)?;
    let token = access
        .tx
        .number_access_token(&keys, &conv.phone_number_id)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "number_not_registered",
                "the conversation's business number is no longer registered",
            )
        })?;
    let content = content_of(msg);
    let stored = access
        .tx
        .insert_message(
            &keys,
            NewMessage {
                conversation_id: conv.id,
                contact_id: conv.contact_id,
                direction: DIRECTION_OUTBOUND,
                msg_type: msg.kind(),
                wamid: None,
                content: &content,
                status: Some(OUTBOUND_PENDING),
                status_rank: 0,
                sent_at: access.now,
            },
            access.now,
        )
        .await?;
    let StoredMessage::Inserted { id: message_id, .. } = stored else {
        return Err(ApiError::internal(
            &"an outbound message without wamid was a duplicate",
        ));
    };
    access
        .tx
        .touch_conversation(
            &conv.phone_number_id,
            conv.contact_id,
            access.now,
            access.now,
        )
        .await?;
    let tenant_id = access.tenant_id();
    access.commit().await?;
    Ok(Pending {
        tenant_id,
        message_id,
        phone_number_id: conv.phone_number_id,
        contact_id: conv.contact_id,
        token,
        to,
    })
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::OutsideServiceWindow => outside_window(),
        Refusal::OptedOut => opted_out(),
        Refusal::NoAddress => ApiError::unprocessable(
            "contact_unreachable",
            "the contact has neither a phone number nor a user id to send to",
        ),
    }
}

fn outside_window() -> ApiError {
    ApiError::unprocessable(
        "outside_service_window",
        "free-form messages can be sent only within 24 hours of the contact's last message; send a template",
    )
}

fn opted_out() -> ApiError {
    ApiError::unprocessable(
        "contact_opted_out",
        "the contact has opted out of messages from this business",
    )
}

/// Stores what Meta answered and tells the caller.
async fn record_outcome(
    state: &AppState,
    p: &Pending,
    result: Result<crate::messaging::graph::Accepted, GraphError>,
) -> ApiResult<Sent> {
    let keys = state.keys.for_tenant(p.tenant_id).await?;
    let now = state.clock.now_ms();
    let tx = state.db.tenant(p.tenant_id).await?;
    let inbox = tx.inbox();
    match result {
        Ok(accepted) => {
            let bidx = tx
                .set_message_wamid(&keys, p.message_id, &accepted.wamid, now)
                .await?;
            inbox
                .settle_outbound(&keys, p.message_id, OUTBOUND_ACCEPTED, 0, None, now)
                .await?;
            tx.apply_pending_statuses(&keys, p.message_id, &bidx, now)
                .await?;
            let rank = tx.message(p.message_id).await?.status_rank;
            tx.commit().await?;
            let status = if (1..TERMINAL_STATUS_RANK).contains(&rank) {
                "sent"
            } else {
                OUTBOUND_ACCEPTED
            };
            Ok(Sent {
                id: p.message_id,
                status,
                wamid: accepted.wamid,
            })
        }
        Err(err) => {
            let (status, rank) = match err {
                GraphError::Timeout => (OUTBOUND_UNKNOWN, 0),
                _ => (OUTBOUND_FAILED, TERMINAL_STATUS_RANK),
            };
            let detail = err
                .fault()
                .map(|f| f.to_json())
                .unwrap_or_else(|| json!({"error": error_kind(&err)}));
            inbox
                .settle_outbound(&keys, p.message_id, status, rank, Some(&detail), now)
                .await?;
            if matches!(err, GraphError::OptedOut(_)) {
                tx.record_consent(
                    ConsentChange {
                        id: None,
                        contact_id: p.contact_id,
                        status: CONSENT_OPTED_OUT,
                        source: META_OPT_OUT_SOURCE,
                        actor_kind: "system",
                        actor_id: None,
                    },
                    now,
                )
                .await?;
            }
            tx.commit().await?;
            tracing::warn!(message_id = %p.message_id, error = %err, status, "outbound message not accepted");
            Err(graph_error(&err, p.message_id))
        }
    }
}

fn error_kind(err: &GraphError) -> &'static str {
    match err {
        GraphError::Timeout => "timeout",
        GraphError::Unreachable => "unreachable",
        GraphError::BadAnswer(_) => "bad_answer",
        _ => "rejected",
    }
}

/// The caller's answer for a failed send; names the stored message, never its content.
fn graph_error(err: &GraphError, message_id: Uuid) -> ApiError {
    let code_text = |c: Option<i64>| c.map_or_else(|| "none".to_owned(), |c| c.to_string());
    match err {
        GraphError::OutsideWindow(_) => outside_window(),
        GraphError::OptedOut(_) => opted_out(),
        GraphError::RateLimited { attempts, .. } => ApiError {
            retry_after: Some(RATE_LIMIT_RETRY_AFTER_SECS),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "graph_rate_limited",
                format!(
                    "Meta kept rate limiting after {attempts} attempts; message {message_id} is stored as failed"
                ),
            )
        },
        GraphError::Rejected(f) => ApiError::bad_gateway(
            "graph_error",
            format!(
                "the Graph API refused the message (code {}, subcode {}); message {message_id} is stored as failed",
                code_text(f.code),
                code_text(f.subcode),
            ),
        ),
        GraphError::BadAnswer(status) => ApiError::bad_gateway(
            "graph_error",
            format!(
                "the Graph API answered HTTP {status} without a message id; message {message_id} is stored as failed"
            ),
        ),
        GraphError::Unreachable => ApiError::bad_gateway(
            "graph_unreachable",
            format!(
                "the Graph API could not be reached; message {message_id} was not sent and is stored as failed"
            ),
        ),
        GraphError::Timeout => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "graph_timeout",
            format!(
                "the Graph API did not answer in time; message {message_id} is stored with status unknown and may still be delivered: check its status before sending again"
            ),
        ),
    }
}
