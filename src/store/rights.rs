//! Queries behind the data-subject rights: paged reads for exports and access bundles, and the
//! erasure of one contact with everything that hangs off it.
use entity::{consent_events, contacts, conversations, message_status_events, messages};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::store::{StoreError, StoreResult, TenantTx};

/// Rows removed by an erasure, per table.
#[derive(Debug, Default, Serialize, Clone)]
pub struct ErasureCounts {
    pub contacts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub message_status_events: u64,
    pub consent_events: u64,
}

impl TenantTx {
    pub async fn contact_row(&self, id: Uuid) -> StoreResult<contacts::Model> {
        contacts::Entity::find()
            .filter(contacts::Column::TenantId.eq(self.tenant_id()))
            .filter(contacts::Column::Id.eq(id))
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Consent history of several contacts at once (one query per export page).
    pub async fn consent_history(
        &self,
        contact_ids: &[Uuid],
    ) -> StoreResult<Vec<consent_events::Model>> {
        if contact_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(consent_events::Entity::find()
            .filter(consent_events::Column::TenantId.eq(self.tenant_id()))
            .filter(consent_events::Column::ContactId.is_in(contact_ids.iter().copied()))
            .order_by_asc(consent_events::Column::CreatedAt)
            .order_by_asc(consent_events::Column::Id)
            .all(self.conn())
            .await?)
    }

    pub async fn conversations_of_contacts(
        &self,
        contact_ids: &[Uuid],
    ) -> StoreResult<Vec<conversations::Model>> {
        if contact_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(self.tenant_id()))
            .filter(conversations::Column::ContactId.is_in(contact_ids.iter().copied()))
            .order_by_asc(conversations::Column::CreatedAt)
            .all(self.conn())
            .await?)
    }

    pub async fn messages_of_contacts(
        &self,
        contact_ids: &[Uuid],
    ) -> StoreResult<Vec<messages::Model>> {
        if contact_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(messages::Entity::find()
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .filter(messages::Column::ContactId.is_in(contact_ids.iter().copied()))
            .order_by_asc(messages::Column::SentAt)
            .order_by_asc(messages::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// Deletes a contact and everything about it, in this transaction.
    pub async fn erase_contact(&self, id: Uuid) -> StoreResult<ErasureCounts> {
        let tid = self.tenant_id();
        self.contact_row(id).await?;
        let message_ids: Vec<Uuid> = messages::Entity::find()
            .select_only()
            .column(messages::Column::Id)
            .filter(messages::Column::TenantId.eq(tid))
            .filter(messages::Column::ContactId.eq(id))
            .into_tuple()
            .all(self.conn())
            .await?;
        let mut counts = ErasureCounts::default();
        for chunk in message_ids.chunks(500) {
            counts.message_status_events += message_status_events::Entity::delete_many()
                .filter(message_status_events::Column::TenantId.eq(tid))
                .filter(message_status_events::Column::MessageId.is_in(chunk.iter().copied()))
                .exec(self.conn())
                .await?
                .rows_affected;
        }
        counts.messages = messages::Entity::delete_many()
            .filter(messages::Column::TenantId.eq(tid))
            .filter(messages::Column::ContactId.eq(id))
            .exec(self.conn())
            .await?
            .rows_affected;
        counts.conversations = conversations::Entity::delete_many()
            .filter(conversations::Column::TenantId.eq(tid))
            .filter(conversations::Column::ContactId.eq(id))
            .exec(self.conn())
            .await?
            .rows_affected;
        counts.consent_events = consent_events::Entity::delete_many()
            .filter(consent_events::Column::TenantId.eq(tid))
            .filter(consent_events::Column::ContactId.eq(id))
            .exec(self.conn())
            .await?
            .rows_affected;
        counts.contacts = contacts::Entity::delete_many()
            .filter(contacts::Column::TenantId.eq(tid))
            .filter(contacts::Column::Id.eq(id))
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(counts)
    }
}

impl TenantTx {
    pub async fn set_contact_restricted(
        &self,
        id: Uuid,
        restricted: bool,
        now: i64,
    ) -> StoreResult<()> {
        let res = contacts::Entity::update_many()
            .col_expr(
                contacts::Column::Restricted,
                sea_orm::sea_query::Expr::value(restricted),
            )
            .col_expr(
                contacts::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(contacts::Column::TenantId.eq(self.tenant_id()))
            .filter(contacts::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
