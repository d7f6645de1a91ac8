//! `message_status_events` (the delivery history of a message, kept even before the message is
//! known) and `tenant_events` (webhook changes that are not messages), both sealed.
use entity::{message_status_events, messages, tenant_events};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr, sea_query::OnConflict, sea_query::Query,
};
use serde_json::Value;
use uuid::Uuid;

use crate::crypto::TenantKeys;
use crate::store::sealed::{col, place};
use crate::store::{StoreResult, TenantTx, new_id};

/// One delivery status as received.
#[derive(Clone, Copy, Debug)]
pub struct NewStatusEvent<'a> {
    /// Blind index of the wamid under the active key version.
    pub wamid_bidx: &'a [u8],
    /// The message, when it is already stored.
    pub message_id: Option<Uuid>,
    pub status: &'a str,
    pub status_rank: i32,
    /// The status object (errors, pricing, conversation...), sealed.
    pub detail: &'a Value,
    pub occurred_at: i64,
}

impl TenantTx {
    /// Whether `status` was already recorded for the wamid behind `candidates`.
    pub async fn status_event_exists(
        &self,
        candidates: &[Vec<u8>],
        status: &str,
    ) -> StoreResult<bool> {
        if candidates.is_empty() {
            return Ok(false);
        }
        let found: Option<Uuid> = message_status_events::Entity::find()
            .select_only()
            .column(message_status_events::Column::Id)
            .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
            .filter(message_status_events::Column::WamidBidx.is_in(candidates.iter().cloned()))
            .filter(message_status_events::Column::Status.eq(status))
            .into_tuple()
            .one(self.conn())
            .await?;
        Ok(found.is_some())
    }

    /// Records a status once per (wamid, status); returns whether it is new.
    pub async fn insert_status_event(
        &self,
        keys: &TenantKeys,
        ev: NewStatusEvent<'_>,
        now: i64,
    ) -> StoreResult<bool> {
        let row = self.status_event_row(keys, ev, now)?;
        let inserted = message_status_events::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(self.conn())
            .await?;
        Ok(inserted == 1)
    }

    /// The row for a status event, its detail sealed.
    pub fn status_event_row(
        &self,
        keys: &TenantKeys,
        ev: NewStatusEvent<'_>,
        now: i64,
    ) -> StoreResult<message_status_events::ActiveModel> {
        let id = new_id();
        let detail = keys.seal_json(&place(col::STATUS_EVENTS, "detail_enc", id), ev.detail)?;
        Ok(message_status_events::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(id),
            wamid_bidx: Set(ev.wamid_bidx.to_vec()),
            message_id: Set(ev.message_id),
            status: Set(ev.status.to_owned()),
            status_rank: Set(ev.status_rank),
            detail_enc: Set(Some(detail)),
            occurred_at: Set(ev.occurred_at),
            created_at: Set(now),
        })
    }

    /// Statuses that arrived before their message: links them to `message_id` (just stored under
    /// `wamid_bidx`) and applies them in rank order. Call it right after storing a message with a
    /// wamid, inbound or outbound. Returns how many statuses changed the message.
    pub async fn apply_pending_statuses(
        &self,
        keys: &TenantKeys,
        message_id: Uuid,
        wamid_bidx: &[u8],
        now: i64,
    ) -> StoreResult<usize> {
        self.apply_pending_statuses_any(keys, message_id, &[wamid_bidx.to_vec()], now)
            .await
    }

    /// [`Self::apply_pending_statuses`] for a wamid indexed under several key versions.
    pub async fn apply_pending_statuses_any(
        &self,
        keys: &TenantKeys,
        message_id: Uuid,
        candidates: &[Vec<u8>],
        now: i64,
    ) -> StoreResult<usize> {
        if candidates.is_empty() {
            return Ok(0);
        }
        let pending = message_status_events::Entity::find()
            .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
            .filter(message_status_events::Column::WamidBidx.is_in(candidates.iter().cloned()))
            .filter(message_status_events::Column::MessageId.is_null())
            .order_by_asc(message_status_events::Column::StatusRank)
            .all(self.conn())
            .await?;
        if pending.is_empty() {
            return Ok(0);
        }
        message_status_events::Entity::update_many()
            .col_expr(
                message_status_events::Column::MessageId,
                Expr::value(Some(message_id)),
            )
            .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
            .filter(message_status_events::Column::Id.is_in(pending.iter().map(|e| e.id)))
            .exec(self.conn())
            .await?;
        let mut applied = 0;
        for ev in &pending {
            let errors = match ev.detail_enc.as_deref() {
                Some(sealed) => {
                    let detail: Value =
                        keys.open_json(&place(col::STATUS_EVENTS, "detail_enc", ev.id), sealed)?;
                    detail.get("errors").cloned()
                }
                None => None,
            };
            if self
                .apply_message_status(
                    keys,
                    message_id,
                    &ev.status,
                    ev.status_rank,
                    errors.as_ref(),
                    now,
                )
                .await?
            {
                applied += 1;
            }
        }
        Ok(applied)
    }

    /// Wamid indexes (up to `limit`) of pending statuses whose message has been stored since.
    /// On PostgreSQL a status and its message committed at the same moment by two transactions
    /// can each miss the other; the job run links them with [`Self::link_pending_statuses`].
    pub async fn linkable_pending_wamids(&self, limit: u64) -> StoreResult<Vec<Vec<u8>>> {
        let stored = Query::select()
            .column(messages::Column::WamidBidx)
            .from(messages::Entity)
            .and_where(messages::Column::TenantId.eq(self.tenant_id()))
            .and_where(messages::Column::WamidBidx.is_not_null())
            .to_owned();
        Ok(message_status_events::Entity::find()
            .select_only()
            .column(message_status_events::Column::WamidBidx)
            .distinct()
            .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
            .filter(message_status_events::Column::MessageId.is_null())
            .filter(message_status_events::Column::WamidBidx.in_subquery(stored))
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Links the pending statuses of each of `wamid_bidxs` to its stored message and applies
    /// them; returns how many changed a message.
    pub async fn link_pending_statuses(
        &self,
        keys: &TenantKeys,
        wamid_bidxs: &[Vec<u8>],
        now: i64,
    ) -> StoreResult<usize> {
        let mut applied = 0;
        for bidx in wamid_bidxs {
            let candidates = [bidx.clone()];
            if let Some(m) = self.message_by_wamid_bidx(&candidates).await? {
                applied += self
                    .apply_pending_statuses_any(keys, m.id, &candidates, now)
                    .await?;
            }
        }
        Ok(applied)
    }

    /// Delivery history of a message, oldest first.
    pub async fn status_events_of(
        &self,
        message_id: Uuid,
    ) -> StoreResult<Vec<message_status_events::Model>> {
        Ok(message_status_events::Entity::find()
            .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
            .filter(message_status_events::Column::MessageId.eq(message_id))
            .order_by_asc(message_status_events::Column::OccurredAt)
            .order_by_asc(message_status_events::Column::StatusRank)
            .all(self.conn())
            .await?)
    }

    /// Records a webhook change that is not a message, its value sealed. With an id derived from
    /// the content, a redelivery is a no-op; returns whether it is new.
    pub async fn insert_tenant_event(
        &self,
        keys: &TenantKeys,
        id: Uuid,
        field: &str,
        payload: &Value,
        now: i64,
    ) -> StoreResult<bool> {
        let sealed = keys.seal_json(&place(col::TENANT_EVENTS, "payload_enc", id), payload)?;
        let inserted = tenant_events::Entity::insert(tenant_events::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(id),
            field: Set(field.to_owned()),
            payload_enc: Set(sealed),
            created_at: Set(now),
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(self.conn())
        .await?;
        Ok(inserted == 1)
    }

    /// A page of this tenant's events, oldest first.
    pub async fn tenant_events_page(
        &self,
        after: Option<(i64, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<tenant_events::Model>> {
        let mut q = tenant_events::Entity::find()
            .filter(tenant_events::Column::TenantId.eq(self.tenant_id()))
            .order_by_asc(tenant_events::Column::CreatedAt)
            .order_by_asc(tenant_events::Column::Id)
            .limit(limit);
        if let Some((at, id)) = after {
            q = q.filter(
                sea_orm::Condition::any()
                    .add(tenant_events::Column::CreatedAt.gt(at))
                    .add(
                        sea_orm::Condition::all()
                            .add(tenant_events::Column::CreatedAt.eq(at))
                            .add(tenant_events::Column::Id.gt(id)),
                    ),
            );
        }
        Ok(q.all(self.conn()).await?)
    }
}
