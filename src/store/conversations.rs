//! `conversations`: one thread per (tenant, business number, contact), and the round-robin
//! cursor auto-assignment advances.
use entity::{conversations, tenants};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
    sea_query::ExprTrait as _, sea_query::OnConflict,
};
use uuid::Uuid;

use crate::store::{StoreError, StoreResult, TenantTx, new_id};

pub const CONVERSATION_OPEN: &str = "open";
pub const CONVERSATION_CLOSED: &str = "closed";

/// Outcome of [`TenantTx::touch_conversation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TouchedConversation {
    pub id: Uuid,
    pub created: bool,
    pub assignee_id: Option<Uuid>,
}

impl TenantTx {
    pub async fn conversation(&self, id: Uuid) -> StoreResult<conversations::Model> {
        conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(self.tenant_id()))
            .filter(conversations::Column::Id.eq(id))
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The thread between business number `phone_number_id` and `contact_id`, if any.
    pub async fn conversation_between(
        &self,
        phone_number_id: &str,
        contact_id: Uuid,
    ) -> StoreResult<Option<conversations::Model>> {
        Ok(conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(self.tenant_id()))
            .filter(conversations::Column::PhoneNumberId.eq(phone_number_id))
            .filter(conversations::Column::ContactId.eq(contact_id))
            .one(self.conn())
            .await?)
    }

    /// A message at `at` arrived in the thread: creates it, or reopens it and moves
    /// `last_message_at` forward (never back: deliveries arrive out of order).
    pub async fn touch_conversation(
        &self,
        phone_number_id: &str,
        contact_id: Uuid,
        at: i64,
        now: i64,
    ) -> StoreResult<TouchedConversation> {
        if let Some(c) = self
            .conversation_between(phone_number_id, contact_id)
            .await?
        {
            conversations::Entity::update_many()
                .col_expr(
                    conversations::Column::Status,
                    Expr::value(CONVERSATION_OPEN),
                )
                .col_expr(
                    conversations::Column::LastMessageAt,
                    Expr::value(std::cmp::max(c.last_message_at, at)),
                )
                .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
                .filter(conversations::Column::TenantId.eq(self.tenant_id()))
                .filter(conversations::Column::Id.eq(c.id))
                .exec(self.conn())
                .await?;
            return Ok(TouchedConversation {
                id: c.id,
                created: false,
                assignee_id: c.assignee_id,
            });
        }
        self.open_conversation(phone_number_id, contact_id, at, now)
            .await
    }

    /// Opens the conversation with `contact_id` on `phone_number_id`, known not to have existed
    /// when it was looked for; if a concurrent delivery opened it since, that one is returned.
    pub async fn open_conversation(
        &self,
        phone_number_id: &str,
        contact_id: Uuid,
        at: i64,
        now: i64,
    ) -> StoreResult<TouchedConversation> {
        let (id, row) = self.conversation_row(phone_number_id, contact_id, at, now);
        let inserted = conversations::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(self.conn())
            .await?;
        if inserted == 1 {
            return Ok(TouchedConversation {
                id,
                created: true,
                assignee_id: None,
            });
        }
        // A concurrent delivery opened the same thread first.
        let c = self
            .conversation_between(phone_number_id, contact_id)
            .await?
            .ok_or_else(|| StoreError::Conflict("conversation raced".into()))?;
        Ok(TouchedConversation {
            id: c.id,
            created: false,
            assignee_id: c.assignee_id,
        })
    }

    /// The row of a new open, unassigned conversation with a message at `at`, under a fresh id.
    pub fn conversation_row(
        &self,
        phone_number_id: &str,
        contact_id: Uuid,
        at: i64,
        now: i64,
    ) -> (Uuid, conversations::ActiveModel) {
        let id = new_id();
        let row = conversations::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(id),
            contact_id: Set(contact_id),
            phone_number_id: Set(phone_number_id.to_owned()),
            status: Set(CONVERSATION_OPEN.into()),
            assignee_id: Set(None),
            last_message_at: Set(at),
            created_at: Set(now),
            updated_at: Set(now),
        };
        (id, row)
    }

    /// Sets (or clears) the assignee of a conversation of this tenant.
    pub async fn set_conversation_assignee(
        &self,
        id: Uuid,
        assignee_id: Option<Uuid>,
        now: i64,
    ) -> StoreResult<()> {
        let res = conversations::Entity::update_many()
            .col_expr(conversations::Column::AssigneeId, Expr::value(assignee_id))
            .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
            .filter(conversations::Column::TenantId.eq(self.tenant_id()))
            .filter(conversations::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The next active agent in round-robin order, advancing the tenant's cursor; `None` when the
    /// tenant has no active agent. The increment happens in the database, so concurrent
    /// deliveries take turns instead of picking the same agent.
    pub async fn next_round_robin_agent(&self) -> StoreResult<Option<Uuid>> {
        let agents = self.active_agents().await?;
        let Ok(len) = i64::try_from(agents.len()) else {
            return Ok(None);
        };
        if len == 0 {
            return Ok(None);
        }
        tenants::Entity::update_many()
            .col_expr(
                tenants::Column::AssignCursor,
                Expr::col(tenants::Column::AssignCursor).add(1),
            )
            .filter(tenants::Column::Id.eq(self.tenant_id()))
            .exec(self.conn())
            .await?;
        let cursor: Option<i64> = tenants::Entity::find_by_id(self.tenant_id())
            .select_only()
            .column(tenants::Column::AssignCursor)
            .into_tuple()
            .one(self.conn())
            .await?;
        let slot = cursor.unwrap_or(1).saturating_sub(1).rem_euclid(len);
        Ok(usize::try_from(slot)
            .ok()
            .and_then(|i| agents.get(i))
            .copied())
    }
}
