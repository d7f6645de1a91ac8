//! Conversations and messages: the inbox list, one conversation, its messages, assignment,
//! status, and replies through the Graph API.
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::page::{CursorKey, PageQuery, split_page};
use crate::auth::extract::{Authorized, perm};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::messaging::inbox::{self, Assignee};
use crate::state::AppState;
use crate::store::sealed::MessagePlain;

mod sending;
pub use sending::{__path_send_message, SendRequest, SendResponse, send_message};

/// Header with which platform support staff name the tenant they work on.
pub const TENANT_HEADER: &str = "X-Wavault-Tenant";

/// The tenant named by [`TENANT_HEADER`]; an unreadable value names none.
pub fn named_tenant(req: &HttpRequest) -> Option<Uuid> {
    req.headers()
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}

/// Sort key of the conversation list and of message pages: a time and an id.
pub struct TimeKey(pub i64, pub Uuid);

impl CursorKey for TimeKey {
    fn to_bytes(&self) -> Vec<u8> {
        let mut b = self.0.to_be_bytes().to_vec();
        b.extend_from_slice(self.1.as_bytes());
        b
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (at, id) = bytes.split_at_checked(8)?;
        Some(Self(
            i64::from_be_bytes(at.try_into().ok()?),
            Uuid::from_slice(id).ok()?,
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversationView {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub phone_number_id: String,
    /// `open` or `closed`.
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub last_message_at: String,
    pub created_at: String,
}

impl From<entity::conversations::Model> for ConversationView {
    fn from(c: entity::conversations::Model) -> Self {
        Self {
            id: c.id,
            contact_id: c.contact_id,
            phone_number_id: c.phone_number_id,
            status: c.status,
            assignee_id: c.assignee_id,
            last_message_at: rfc3339(c.last_message_at),
            created_at: rfc3339(c.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversationList {
    pub items: Vec<ConversationView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    /// `inbound` or `outbound`.
    pub direction: String,
    #[serde(rename = "type")]
    pub msg_type: String,
    /// The message object (for text: `text.body`), decrypted.
    #[schema(value_type = Object)]
    pub content: Value,
    pub status: Option<String>,
    /// Meta's error for a failed message.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    pub sent_at: String,
}

impl From<MessagePlain> for MessageView {
    fn from(m: MessagePlain) -> Self {
        Self {
            id: m.id,
            direction: m.direction,
            msg_type: m.msg_type,
            content: m.content,
            status: m.status,
            error: m.error,
            sent_at: rfc3339(m.sent_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub items: Vec<MessageView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationFilters {
    /// `open` or `closed`.
    pub status: Option<String>,
    /// `me`, `none` or a user id.
    pub assignee: Option<String>,
}

#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", params(ConversationFilters, PageQuery, ("X-Wavault-Tenant" = Option<Uuid>, Header, description = "Platform support staff only: the tenant whose content to read (needs its active support grant)")),
    responses((status = 200, body = ConversationList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/v1/conversations")]
pub async fn list_conversations(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReadConversations>,
    req: HttpRequest,
    filters: web::Query<ConversationFilters>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let status = match filters.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(inbox::parse_status(s).ok_or_else(|| {
            ApiError::bad_request("invalid_status", "status must be open or closed")
        })?),
    };
    let assignee = match filters.assignee.as_deref() {
        None | Some("") => None,
        Some(a) => Some(Assignee::parse(a).ok_or_else(|| {
            ApiError::bad_request("invalid_assignee", "assignee must be me, none or a user id")
        })?),
    };
    let limit = page.limit()?;
    let before = page.cursor::<TimeKey>()?.map(|k| (k.0, k.1));
    let rows = inbox::list(
        &state,
        &auth,
        named_tenant(&req),
        status,
        assignee,
        before,
        limit + 1,
    )
    .await?;
    let (rows, next_cursor) = split_page(rows, limit, |c| TimeKey(c.last_message_at, c.id));
    Ok(HttpResponse::Ok().json(ConversationList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations", params(("X-Wavault-Tenant" = Option<Uuid>, Header, description = "Platform support staff only: the tenant whose content to read (needs its active support grant)")),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody)))]
#[get("/v1/conversations/{id}")]
pub async fn get_conversation(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReadConversations>,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let conv = inbox::get(&state, &auth, named_tenant(&req), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ConversationView::from(conv)))
}

#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations", params(PageQuery, ("X-Wavault-Tenant" = Option<Uuid>, Header, description = "Platform support staff only: the tenant whose content to read (needs its active support grant)")),
    responses((status = 200, body = MessageList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/v1/conversations/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReadConversations>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = page.limit()?;
    let after = page.cursor::<TimeKey>()?.map(|k| (k.0, k.1));
    let rows = inbox::messages(
        &state,
        &auth,
        named_tenant(&req),
        id.into_inner(),
        after,
        limit + 1,
    )
    .await?;
    let (rows, next_cursor) = split_page(rows, limit, |m| TimeKey(m.sent_at, m.id));
    Ok(HttpResponse::Ok().json(MessageList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// A field that must be present, `null` included.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Uuid>>, D::Error> {
    Option::<Uuid>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
pub struct AssignRequest {
    /// A user of this tenant, or `null` to unassign.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<Option<Uuid>>,
}

#[utoipa::path(post, path = "/v1/conversations/{id}/assign", tag = "conversations", request_body = AssignRequest,
    responses((status = 200, body = ConversationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/v1/conversations/{id}/assign")]
pub async fn assign(
    state: web::Data<AppState>,
    auth: Authorized<perm::AssignConversations>,
    id: web::Path<Uuid>,
    body: web::Json<AssignRequest>,
) -> ApiResult<HttpResponse> {
    let assignee = body.assignee_id.ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_request",
            "assignee_id is required (a user id or null)",
        )
    })?;
    let conv = inbox::assign(&state, &auth, id.into_inner(), assignee).await?;
    Ok(HttpResponse::Ok().json(ConversationView::from(conv)))
}

#[derive(Deserialize, ToSchema)]
pub struct StatusRequest {
    /// `open` or `closed`.
    pub status: String,
}

#[utoipa::path(post, path = "/v1/conversations/{id}/status", tag = "conversations", request_body = StatusRequest,
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/v1/conversations/{id}/status")]
pub async fn set_status(
    state: web::Data<AppState>,
    auth: Authorized<perm::UpdateConversationStatus>,
    id: web::Path<Uuid>,
    body: web::Json<StatusRequest>,
) -> ApiResult<HttpResponse> {
    let status = inbox::parse_status(&body.status).ok_or_else(|| {
        ApiError::unprocessable("invalid_status", "status must be open or closed")
    })?;
    let conv = inbox::set_status(&state, &auth, id.into_inner(), status).await?;
    Ok(HttpResponse::Ok().json(ConversationView::from(conv)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_conversations)
        .service(get_conversation)
        .service(list_messages)
        .service(assign)
        .service(set_status)
        .service(send_message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        let k = TimeKey::from_bytes(&TimeKey(-5, id).to_bytes()).unwrap();
        assert_eq!((k.0, k.1), (-5, id));
        assert!(TimeKey::from_bytes(&[1, 2, 3]).is_none());
        assert!(TimeKey::from_bytes(&[0; 30]).is_none());
    }
}
