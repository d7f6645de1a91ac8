//! `sessions`: sign-in sessions of tenant users, with the hash of the current refresh token.
use entity::sessions;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::store::{StoreError, StoreResult, TenantTx};

impl TenantTx {
    pub async fn insert_session(
        &self,
        id: Uuid,
        user_id: Uuid,
        refresh_hash: Vec<u8>,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        sessions::Entity::insert(sessions::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(id),
            user_id: Set(user_id),
            refresh_hash: Set(refresh_hash),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            created_at: Set(now),
            last_used_at: Set(now),
        })
        .exec_without_returning(self.conn())
        .await?;
        Ok(())
    }

    pub async fn session(&self, id: Uuid) -> StoreResult<sessions::Model> {
        sessions::Entity::find()
            .filter(sessions::Column::TenantId.eq(self.tenant_id()))
            .filter(sessions::Column::Id.eq(id))
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Swaps the refresh hash only if it still is `old` (rotation is single-use under races).
    pub async fn rotate_session(
        &self,
        id: Uuid,
        old: &[u8],
        new: Vec<u8>,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let res = sessions::Entity::update_many()
            .col_expr(sessions::Column::RefreshHash, Expr::value(new))
            .col_expr(sessions::Column::ExpiresAt, Expr::value(expires_at))
            .col_expr(sessions::Column::LastUsedAt, Expr::value(now))
            .filter(sessions::Column::TenantId.eq(self.tenant_id()))
            .filter(sessions::Column::Id.eq(id))
            .filter(sessions::Column::RefreshHash.eq(old.to_vec()))
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(self.conn())
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn revoke_session(&self, id: Uuid, now: i64) -> StoreResult<()> {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokedAt, Expr::value(now))
            .filter(sessions::Column::TenantId.eq(self.tenant_id()))
            .filter(sessions::Column::Id.eq(id))
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(self.conn())
            .await?;
        Ok(())
    }

    pub async fn revoke_user_sessions(&self, user_id: Uuid, now: i64) -> StoreResult<u64> {
        let res = sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokedAt, Expr::value(now))
            .filter(sessions::Column::TenantId.eq(self.tenant_id()))
            .filter(sessions::Column::UserId.eq(user_id))
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(self.conn())
            .await?;
        Ok(res.rows_affected)
    }
}
