//! Queries behind the agents' inbox: conversation and contact pages, the agent's reach to a
//! contact, contact corrections, and the outcome of an outbound send.
//!
//! Reached through [`TenantTx::inbox`], so these names cannot collide with other `TenantTx`
//! methods.
use entity::{contacts, conversations, messages};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, sea_query::Expr,
};
use serde_json::Value;
use uuid::Uuid;

use crate::crypto::TenantKeys;
use crate::store::sealed::{col, place};
use crate::store::{StoreError, StoreResult, TenantTx};

/// Status of an outbound message stored before it is handed to Meta.
pub const OUTBOUND_PENDING: &str = "pending";

/// Which assignee a conversation list is limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    Any,
    User(Uuid),
    Unassigned,
}

/// Filters of the conversation list.
#[derive(Clone, Copy, Debug)]
pub struct ConversationFilter<'a> {
    pub status: Option<&'a str>,
    pub assignee: AssigneeFilter,
}

/// A correction of a contact: `None` leaves a field alone; `Some(None)` clears the display name.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContactCorrection<'a> {
    pub display_name: Option<Option<&'a str>>,
    pub attributes: Option<&'a Value>,
}

/// The inbox queries of one tenant transaction.
pub struct Inbox<'a> {
    tx: &'a TenantTx,
}

impl TenantTx {
    pub fn inbox(&self) -> Inbox<'_> {
        Inbox { tx: self }
    }
}

impl Inbox<'_> {
    /// Conversations by latest activity, newest first, strictly before the `(at, id)` cursor.
    pub async fn conversations_page(
        &self,
        filter: ConversationFilter<'_>,
        before: Option<(i64, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<conversations::Model>> {
        use conversations::Column as C;
        let mut q = conversations::Entity::find()
            .filter(C::TenantId.eq(self.tx.tenant_id()))
            .order_by_desc(C::LastMessageAt)
            .order_by_desc(C::Id)
            .limit(limit);
        if let Some(status) = filter.status {
            q = q.filter(C::Status.eq(status));
        }
        q = match filter.assignee {
            AssigneeFilter::Any => q,
            AssigneeFilter::User(id) => q.filter(C::AssigneeId.eq(id)),
            AssigneeFilter::Unassigned => q.filter(C::AssigneeId.is_null()),
        };
        if let Some((at, id)) = before {
            q = q.filter(
                Condition::any().add(C::LastMessageAt.lt(at)).add(
                    Condition::all()
                        .add(C::LastMessageAt.eq(at))
                        .add(C::Id.lt(id)),
                ),
            );
        }
        Ok(q.all(self.tx.conn()).await?)
    }

    /// Contacts in id order after `after`; for an agent, only contacts of conversations
    /// assigned to that agent. Restricted contacts are left out unless asked for (exports leave
    /// them out; the inbox shows them).
    pub async fn contacts_page(
        &self,
        agent: Option<Uuid>,
        after: Option<Uuid>,
        limit: u64,
        include_restricted: bool,
    ) -> StoreResult<Vec<contacts::Model>> {
        let mut q = contacts::Entity::find()
            .filter(contacts::Column::TenantId.eq(self.tx.tenant_id()))
            .order_by_asc(contacts::Column::Id)
            .limit(limit);
        if let Some(a) = after {
            q = q.filter(contacts::Column::Id.gt(a));
        }
        if !include_restricted {
            q = q.filter(contacts::Column::Restricted.eq(false));
        }
        if let Some(agent) = agent {
            let assigned = conversations::Entity::find()
                .select_only()
                .column(conversations::Column::ContactId)
                .filter(conversations::Column::TenantId.eq(self.tx.tenant_id()))
                .filter(conversations::Column::AssigneeId.eq(agent))
                .into_query();
            q = q.filter(contacts::Column::Id.in_subquery(assigned));
        }
        Ok(q.all(self.tx.conn()).await?)
    }

    /// Whether `agent` is assigned a conversation with `contact_id`.
    pub async fn contact_assigned_to(&self, contact_id: Uuid, agent: Uuid) -> StoreResult<bool> {
        let n = conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(self.tx.tenant_id()))
            .filter(conversations::Column::ContactId.eq(contact_id))
            .filter(conversations::Column::AssigneeId.eq(agent))
            .count(self.tx.conn())
            .await?;
        Ok(n > 0)
    }

    /// Sets a conversation's status.
    pub async fn set_conversation_status(
        &self,
        id: Uuid,
        status: &str,
        now: i64,
    ) -> StoreResult<()> {
        let res = conversations::Entity::update_many()
            .col_expr(conversations::Column::Status, Expr::value(status))
            .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
            .filter(conversations::Column::TenantId.eq(self.tx.tenant_id()))
            .filter(conversations::Column::Id.eq(id))
            .exec(self.tx.conn())
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Applies a correction to a contact, sealing the new values.
    pub async fn correct_contact(
        &self,
        keys: &TenantKeys,
        id: Uuid,
        c: ContactCorrection<'_>,
        now: i64,
    ) -> StoreResult<()> {
        let p = |column: &'static str| place(col::CONTACTS, column, id);
        let mut q = contacts::Entity::update_many()
            .col_expr(contacts::Column::UpdatedAt, Expr::value(now))
            .filter(contacts::Column::TenantId.eq(self.tx.tenant_id()))
            .filter(contacts::Column::Id.eq(id));
        if let Some(name) = c.display_name {
            let sealed = keys.seal_opt_str(&p("display_name_enc"), name)?;
            q = q.col_expr(contacts::Column::DisplayNameEnc, Expr::value(sealed));
        }
        if let Some(attributes) = c.attributes {
            let sealed = keys.seal_json(&p("attributes_enc"), attributes)?;
            q = q.col_expr(contacts::Column::AttributesEnc, Expr::value(sealed));
        }
        let res = q.exec(self.tx.conn()).await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records how a send ended for a message still pending: its status and rank, and Meta's
    /// error (sealed). Returns whether the message was still pending.
    pub async fn settle_outbound(
        &self,
        keys: &TenantKeys,
        id: Uuid,
        status: &str,
        rank: i32,
        error: Option<&Value>,
        now: i64,
    ) -> StoreResult<bool> {
        let mut q = messages::Entity::update_many()
            .col_expr(messages::Column::Status, Expr::value(status))
            .col_expr(messages::Column::StatusRank, Expr::value(rank))
            .col_expr(messages::Column::UpdatedAt, Expr::value(now));
        if let Some(error) = error {
            let sealed = keys.seal_json(&place(col::MESSAGES, "error_enc", id), error)?;
            q = q.col_expr(messages::Column::ErrorEnc, Expr::value(sealed));
        }
        let res = q
            .filter(messages::Column::TenantId.eq(self.tx.tenant_id()))
            .filter(messages::Column::Id.eq(id))
            .filter(messages::Column::Status.eq(OUTBOUND_PENDING))
            .exec(self.tx.conn())
            .await?;
        Ok(res.rows_affected > 0)
    }
}
