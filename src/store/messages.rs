//! `messages`: stored once per wamid (unique blind index per tenant), content and wamid sealed,
//! delivery status moving only forward.
use entity::messages;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr, sea_query::OnConflict,
};
use serde_json::Value;
use uuid::Uuid;

use crate::crypto::{Purpose, TenantKeys};
use crate::store::sealed::{col, place};
use crate::store::{StoreError, StoreResult, TenantTx, new_id};

pub const DIRECTION_INBOUND: &str = "inbound";
pub const DIRECTION_OUTBOUND: &str = "outbound";

/// Status ranks from this one up are final: nothing replaces a failed or deleted message's status.
pub const TERMINAL_STATUS_RANK: i32 = 10;

/// A message to store.
#[derive(Clone, Copy, Debug)]
pub struct NewMessage<'a> {
    pub conversation_id: Uuid,
    pub contact_id: Uuid,
    pub direction: &'a str,
    pub msg_type: &'a str,
    /// Meta's message id; `None` for an outbound message not handed to Meta yet.
    pub wamid: Option<&'a str>,
    /// The whole message object, sealed as JSON.
    pub content: &'a Value,
    pub status: Option<&'a str>,
    pub status_rank: i32,
    pub sent_at: i64,
}

/// Outcome of [`TenantTx::insert_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredMessage {
    /// Stored now; `wamid_bidx` is the index it was stored under (for pending statuses).
    Inserted {
        id: Uuid,
        wamid_bidx: Option<Vec<u8>>,
    },
    /// A message with this wamid was already stored; nothing changed.
    Duplicate,
}

impl TenantTx {
    pub async fn message(&self, id: Uuid) -> StoreResult<messages::Model> {
        messages::Entity::find()
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .filter(messages::Column::Id.eq(id))
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The message stored under any of `candidates` (blind indexes of one wamid, one per key
    /// version).
    pub async fn message_by_wamid_bidx(
        &self,
        candidates: &[Vec<u8>],
    ) -> StoreResult<Option<messages::Model>> {
        if candidates.is_empty() {
            return Ok(None);
        }
        Ok(messages::Entity::find()
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .filter(messages::Column::WamidBidx.is_in(candidates.iter().cloned()))
            .one(self.conn())
            .await?)
    }

    /// The message with Meta id `wamid`, whichever key version indexed it.
    pub async fn message_by_wamid(
        &self,
        keys: &TenantKeys,
        wamid: &str,
    ) -> StoreResult<Option<messages::Model>> {
        match keys.blind_index_candidates(Purpose::Wamid, wamid) {
            Ok(c) => self.message_by_wamid_bidx(&c).await,
            Err(_) => Ok(None),
        }
    }

    /// Stores a message once: a wamid already stored (under any key version, or by a concurrent
    /// delivery) makes this a no-op.
    pub async fn insert_message(
        &self,
        keys: &TenantKeys,
        m: NewMessage<'_>,
        now: i64,
    ) -> StoreResult<StoredMessage> {
        let wamid_bidx = match m.wamid.filter(|w| !w.is_empty()) {
            Some(w) => {
                let candidates = keys.blind_index_candidates(Purpose::Wamid, w)?;
                if self.message_by_wamid_bidx(&candidates).await?.is_some() {
                    return Ok(StoredMessage::Duplicate);
                }
                candidates.into_iter().next()
            }
            None => None,
        };
        self.insert_message_indexed(keys, m, wamid_bidx, now).await
    }

    /// [`Self::insert_message`] for a caller that has already looked the wamid up under every
    /// key version; `wamid_bidx` is its index under the active version. A concurrent insert of
    /// the same wamid still ends as `Duplicate`.
    pub async fn insert_message_indexed(
        &self,
        keys: &TenantKeys,
        m: NewMessage<'_>,
        wamid_bidx: Option<Vec<u8>>,
        now: i64,
    ) -> StoreResult<StoredMessage> {
        let (id, row) = self.message_row(keys, m, wamid_bidx, now)?;
        let wamid_bidx = match &row.wamid_bidx {
            sea_orm::ActiveValue::Set(b) => b.clone(),
            _ => None,
        };
        let inserted = messages::Entity::insert(row)
            // Two deliveries of one message racing: the loser's insert does nothing.
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(self.conn())
            .await?;
        if inserted == 0 {
            return Ok(StoredMessage::Duplicate);
        }
        Ok(StoredMessage::Inserted { id, wamid_bidx })
    }

    /// The row for a new message, its fields sealed under fresh id; `wamid_bidx` is the wamid's
    /// index under the active key version (computed when `None`).
    pub fn message_row(
        &self,
        keys: &TenantKeys,
        m: NewMessage<'_>,
        wamid_bidx: Option<Vec<u8>>,
        now: i64,
    ) -> StoreResult<(Uuid, messages::ActiveModel)> {
        let wamid = m.wamid.filter(|w| !w.is_empty());
        let wamid_bidx = match (wamid, wamid_bidx) {
            (Some(_), Some(b)) => Some(b),
            (Some(w), None) => Some(keys.blind_index(Purpose::Wamid, w)?),
            (None, _) => None,
        };
        let id = new_id();
        let p = |c: &'static str| place(col::MESSAGES, c, id);
        let row = messages::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(id),
            conversation_id: Set(m.conversation_id),
            contact_id: Set(m.contact_id),
            direction: Set(m.direction.to_owned()),
            msg_type: Set(m.msg_type.to_owned()),
            wamid_enc: Set(keys.seal_opt_str(&p("wamid_enc"), wamid)?),
            wamid_bidx: Set(wamid_bidx.clone()),
            content_enc: Set(keys.seal_json(&p("content_enc"), m.content)?),
            status: Set(m.status.map(str::to_owned)),
            status_rank: Set(m.status_rank),
            error_enc: Set(None),
            sent_at: Set(m.sent_at),
            created_at: Set(now),
            updated_at: Set(now),
        };
        Ok((id, row))
    }

    /// Records Meta's id for a message stored before it was sent; returns the blind index it is
    /// now found under (pass it to `apply_pending_statuses`).
    pub async fn set_message_wamid(
        &self,
        keys: &TenantKeys,
        id: Uuid,
        wamid: &str,
        now: i64,
    ) -> StoreResult<Vec<u8>> {
        let bidx = keys.blind_index(Purpose::Wamid, wamid)?;
        let sealed = keys.seal_str(&place(col::MESSAGES, "wamid_enc", id), wamid)?;
        let res = messages::Entity::update_many()
            .col_expr(messages::Column::WamidEnc, Expr::value(sealed))
            .col_expr(messages::Column::WamidBidx, Expr::value(bidx.clone()))
            .col_expr(messages::Column::UpdatedAt, Expr::value(now))
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .filter(messages::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(bidx)
    }

    /// Moves a message to `status` if that is progress: a higher rank than the stored one, and
    /// the stored one not final. `errors` (Meta's error objects) are kept sealed. Returns whether
    /// the message changed.
    pub async fn apply_message_status(
        &self,
        keys: &TenantKeys,
        id: Uuid,
        status: &str,
        rank: i32,
        errors: Option<&Value>,
        now: i64,
    ) -> StoreResult<bool> {
        let mut q = messages::Entity::update_many()
            .col_expr(messages::Column::Status, Expr::value(status))
            .col_expr(messages::Column::StatusRank, Expr::value(rank))
            .col_expr(messages::Column::UpdatedAt, Expr::value(now));
        if let Some(errors) = errors {
            let sealed = keys.seal_json(&place(col::MESSAGES, "error_enc", id), errors)?;
            q = q.col_expr(messages::Column::ErrorEnc, Expr::value(sealed));
        }
        let res = q
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .filter(messages::Column::Id.eq(id))
            .filter(
                Condition::all()
                    .add(messages::Column::StatusRank.lt(rank))
                    .add(messages::Column::StatusRank.lt(TERMINAL_STATUS_RANK)),
            )
            .exec(self.conn())
            .await?;
        Ok(res.rows_affected > 0)
    }

    /// A page of this tenant's messages in id order (ids are time-ordered).
    pub async fn messages_page(
        &self,
        after: Option<Uuid>,
        limit: u64,
    ) -> StoreResult<Vec<messages::Model>> {
        let mut q = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .order_by_asc(messages::Column::Id)
            .limit(limit);
        if let Some(a) = after {
            q = q.filter(messages::Column::Id.gt(a));
        }
        Ok(q.all(self.conn()).await?)
    }

    /// A page of one conversation's messages, oldest first, after `(sent_at, id)`.
    pub async fn conversation_messages(
        &self,
        conversation_id: Uuid,
        after: Option<(i64, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<messages::Model>> {
        let mut q = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .filter(messages::Column::ConversationId.eq(conversation_id))
            .order_by_asc(messages::Column::SentAt)
            .order_by_asc(messages::Column::Id)
            .limit(limit);
        if let Some((at, id)) = after {
            q = q.filter(
                Condition::any().add(messages::Column::SentAt.gt(at)).add(
                    Condition::all()
                        .add(messages::Column::SentAt.eq(at))
                        .add(messages::Column::Id.gt(id)),
                ),
            );
        }
        Ok(q.all(self.conn()).await?)
    }
}
