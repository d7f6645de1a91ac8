//! `support_grants`: time-boxed read access a tenant owner gives the provider's support staff.
use entity::support_grants;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::store::{StoreError, StoreResult, TenantTx};

impl TenantTx {
    /// Whether support staff may read this tenant's content at `now`.
    pub async fn support_grant_active(&self, now: i64) -> StoreResult<bool> {
        let n = support_grants::Entity::find()
            .filter(support_grants::Column::TenantId.eq(self.tenant_id()))
            .filter(support_grants::Column::RevokedAt.is_null())
            .filter(support_grants::Column::ExpiresAt.gt(now))
            .count(self.conn())
            .await?;
        Ok(n > 0)
    }

    pub async fn insert_support_grant(
        &self,
        id: Uuid,
        granted_by: Uuid,
        reason: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        support_grants::Entity::insert(support_grants::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(id),
            granted_by: Set(granted_by),
            reason: Set(reason.to_owned()),
            created_at: Set(now),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
        })
        .exec_without_returning(self.conn())
        .await?;
        Ok(())
    }

    /// Revokes a grant; NotFound if it is not this tenant's.
    pub async fn revoke_support_grant(&self, id: Uuid, now: i64) -> StoreResult<()> {
        let found = support_grants::Entity::find()
            .filter(support_grants::Column::TenantId.eq(self.tenant_id()))
            .filter(support_grants::Column::Id.eq(id))
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        if found.revoked_at.is_none() {
            support_grants::Entity::update_many()
                .col_expr(support_grants::Column::RevokedAt, Expr::value(now))
                .filter(support_grants::Column::TenantId.eq(self.tenant_id()))
                .filter(support_grants::Column::Id.eq(id))
                .exec(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn support_grants(&self) -> StoreResult<Vec<support_grants::Model>> {
        Ok(support_grants::Entity::find()
            .filter(support_grants::Column::TenantId.eq(self.tenant_id()))
            .order_by_desc(support_grants::Column::CreatedAt)
            .all(self.conn())
            .await?)
    }
}
