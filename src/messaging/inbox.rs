//! Conversations: the list, one conversation, its messages (decrypted only after the policy
//! said yes), assignment and status.
use serde_json::json;
use uuid::Uuid;

use crate::auth::Permission;
use crate::auth::extract::Caller;
use crate::error::{ApiError, ApiResult};
use crate::messaging::access::Access;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::conversations::{CONVERSATION_CLOSED, CONVERSATION_OPEN};
use crate::store::inbox::{AssigneeFilter, ConversationFilter};
use crate::store::sealed::{MessagePlain, open_message};
use entity::conversations::Model as Conversation;

/// `?assignee=` of the conversation list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignee {
    Me,
    User(Uuid),
    Nobody,
}

impl Assignee {
    /// `me`, `none` or a user id; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "me" => Some(Self::Me),
            "none" => Some(Self::Nobody),
            other => other.parse().ok().map(Self::User),
        }
    }
}

/// `open` or `closed`, as stored.
pub fn parse_status(text: &str) -> Option<&'static str> {
    match text.trim() {
        "open" => Some(CONVERSATION_OPEN),
        "closed" => Some(CONVERSATION_CLOSED),
        _ => None,
    }
}

/// A page of conversations, newest activity first. Agents see only their own.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    named_tenant: Option<Uuid>,
    status: Option<&str>,
    assignee: Option<Assignee>,
    before: Option<(i64, Uuid)>,
    limit: u64,
) -> ApiResult<Vec<Conversation>> {
    let access = Access::open(state, caller, named_tenant).await?;
    access.check_collection(Permission::ReadConversations)?;
    let me = access.principal.user_id;
    let wanted = match assignee {
        None => AssigneeFilter::Any,
        Some(Assignee::Me) => AssigneeFilter::User(me),
        Some(Assignee::User(id)) => AssigneeFilter::User(id),
        Some(Assignee::Nobody) => AssigneeFilter::Unassigned,
    };
    let filter = if access.is_agent() {
        match wanted {
            AssigneeFilter::Any => AssigneeFilter::User(me),
            AssigneeFilter::User(id) if id == me => wanted,
            // Anyone else's (or nobody's) conversations are not an agent's to see.
            _ => return Ok(Vec::new()),
        }
    } else {
        wanted
    };
    let rows = access
        .tx
        .inbox()
        .conversations_page(
            ConversationFilter {
                status,
                assignee: filter,
            },
            before,
            limit,
        )
        .await?;
    if caller.principal.tenant_id.is_none() {
        // Staff under a support grant: the listing itself is a support read.
        let tenant = access.tenant_id();
        access
            .audit_read(
                "conversation.list",
                "tenant",
                tenant,
                false,
                json!({"count": rows.len()}),
            )
            .await?;
    }
    access.commit().await?;
    Ok(rows)
}

/// One conversation.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    named_tenant: Option<Uuid>,
    id: Uuid,
) -> ApiResult<Conversation> {
    let access = Access::open(state, caller, named_tenant).await?;
    let conv = access
        .conversation(id, Permission::ReadConversations)
        .await?;
    access
        .audit_read(
            "conversation.read",
            "conversation",
            conv.id,
            access.owns(&conv),
            json!({}),
        )
        .await?;
    access.commit().await?;
    Ok(conv)
}

/// A page of a conversation's messages, oldest first, decrypted.
pub async fn messages(
    state: &AppState,
    caller: &Caller,
    named_tenant: Option<Uuid>,
    id: Uuid,
    after: Option<(i64, Uuid)>,
    limit: u64,
) -> ApiResult<Vec<MessagePlain>> {
    let access = Access::open(state, caller, named_tenant).await?;
    let conv = access
        .conversation(id, Permission::ReadConversations)
        .await?;
    let rows = access
        .tx
        .conversation_messages(conv.id, after, limit)
        .await?;
    let keys = state.keys.for_tenant(access.tenant_id()).await?;
    let plain = rows
        .iter()
        .map(|m| open_message(&keys, m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::from)?;
    access
        .audit_read(
            "conversation.messages.read",
            "conversation",
            conv.id,
            access.owns(&conv),
            json!({"count": plain.len()}),
        )
        .await?;
    access.commit().await?;
    Ok(plain)
}

/// Gives a conversation to an active user of the tenant, or takes it away (`None`).
pub async fn assign(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    assignee: Option<Uuid>,
) -> ApiResult<Conversation> {
    let access = Access::open(state, caller, None).await?;
    let conv = access
        .conversation(id, Permission::AssignConversations)
        .await?;
    if let Some(user_id) = assignee {
        let active = match access.tx.user(user_id).await {
            Ok(u) => !u.disabled,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        if !active {
            return Err(ApiError::unprocessable(
                "invalid_assignee",
                "the assignee must be an active user of this tenant",
            ));
        }
    }
    access
        .tx
        .set_conversation_assignee(conv.id, assignee, access.now)
        .await?;
    let record = access.actor.record(
        "conversation.assign",
        "conversation",
        conv.id,
        json!({"assignee_id": assignee, "previous_assignee_id": conv.assignee_id}),
    );
    access.tx.append_audit(&record, access.now).await?;
    let updated = access.tx.conversation(conv.id).await?;
    access.commit().await?;
    Ok(updated)
}

/// Opens or closes a conversation.
pub async fn set_status(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    status: &'static str,
) -> ApiResult<Conversation> {
    let access = Access::open(state, caller, None).await?;
    let conv = access
        .conversation(id, Permission::UpdateConversationStatus)
        .await?;
    if conv.status != status {
        access
            .tx
            .inbox()
            .set_conversation_status(conv.id, status, access.now)
            .await?;
        let record = access.actor.record(
            "conversation.status",
            "conversation",
            conv.id,
            json!({"status": status, "previous_status": conv.status}),
        );
        access.tx.append_audit(&record, access.now).await?;
    }
    let updated = access.tx.conversation(conv.id).await?;
    access.commit().await?;
    Ok(updated)
}
