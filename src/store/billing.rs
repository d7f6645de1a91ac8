//! `billing_records`: invoices kept per tenant for the legal retention term. Platform data: they
//! survive the tenant's wipe and leave only when the retention job finds them past `retain_until`.
use entity::billing_records;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::store::{Db, StoreError, StoreResult};

pub async fn insert_record<C: ConnectionTrait>(
    conn: &C,
    r: billing_records::Model,
) -> StoreResult<()> {
    billing_records::Entity::insert(billing_records::ActiveModel::from(r))
        .exec_without_returning(conn)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict("an invoice with this number exists for this tenant".into())
            }
            other => other,
        })?;
    Ok(())
}

/// Every record of a tenant, oldest issue first (the certificate lists them all).
pub async fn records_of<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
) -> StoreResult<Vec<billing_records::Model>> {
    Ok(billing_records::Entity::find()
        .filter(billing_records::Column::TenantId.eq(tenant_id))
        .order_by_asc(billing_records::Column::IssuedAt)
        .order_by_asc(billing_records::Column::Id)
        .all(conn)
        .await?)
}

/// Ids of records whose retention ended before `now`, at most `limit`.
pub async fn expired_ids<C: ConnectionTrait>(
    conn: &C,
    now: i64,
    limit: u64,
) -> StoreResult<Vec<Uuid>> {
    Ok(billing_records::Entity::find()
        .select_only()
        .column(billing_records::Column::Id)
        .filter(billing_records::Column::RetainUntil.lt(now))
        .order_by_asc(billing_records::Column::RetainUntil)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Deletes the given records if they are still past retention; returns how many went.
pub async fn delete_expired<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
    now: i64,
) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let res = billing_records::Entity::delete_many()
        .filter(billing_records::Column::Id.is_in(ids.iter().copied()))
        .filter(billing_records::Column::RetainUntil.lt(now))
        .exec(conn)
        .await?;
    Ok(res.rows_affected)
}

impl Db {
    /// A page of a tenant's records in id order (ids are time-ordered), after `after`.
    pub async fn billing_records_page(
        &self,
        tenant_id: Uuid,
        after: Option<Uuid>,
        limit: u64,
    ) -> StoreResult<Vec<billing_records::Model>> {
        let mut q = billing_records::Entity::find()
            .filter(billing_records::Column::TenantId.eq(tenant_id))
            .order_by_asc(billing_records::Column::Id)
            .limit(limit);
        if let Some(a) = after {
            q = q.filter(billing_records::Column::Id.gt(a));
        }
        Ok(q.all(self.conn()).await?)
    }
}
