//! `tenant_keys`: wrapped data-key versions. Key material, not tenant data: no RLS.
use entity::tenant_keys;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::crypto::WrappedKey;
use crate::store::StoreResult;

pub async fn live_versions<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
) -> StoreResult<Vec<tenant_keys::Model>> {
    Ok(tenant_keys::Entity::find()
        .filter(tenant_keys::Column::TenantId.eq(tenant_id))
        .filter(tenant_keys::Column::DestroyedAt.is_null())
        .order_by_asc(tenant_keys::Column::Version)
        .all(conn)
        .await?)
}

pub async fn all_live<C: ConnectionTrait>(conn: &C) -> StoreResult<Vec<tenant_keys::Model>> {
    Ok(tenant_keys::Entity::find()
        .filter(tenant_keys::Column::DestroyedAt.is_null())
        .all(conn)
        .await?)
}

pub async fn max_version<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
) -> StoreResult<Option<i32>> {
    let v: Option<Option<i32>> = tenant_keys::Entity::find()
        .select_only()
        .column_as(tenant_keys::Column::Version.max(), "v")
        .filter(tenant_keys::Column::TenantId.eq(tenant_id))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(v.flatten())
}

pub async fn insert_version<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    version: i32,
    wrapped: &WrappedKey,
    now: i64,
) -> StoreResult<()> {
    tenant_keys::Entity::insert(tenant_keys::ActiveModel {
        tenant_id: Set(tenant_id),
        version: Set(version),
        kek_id: Set(wrapped.kek_id.clone()),
        wrapped_dek: Set(Some(wrapped.blob.clone())),
        created_at: Set(now),
        destroyed_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

pub async fn rewrap<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    version: i32,
    wrapped: &WrappedKey,
) -> StoreResult<()> {
    tenant_keys::Entity::update_many()
        .col_expr(
            tenant_keys::Column::KekId,
            Expr::value(wrapped.kek_id.clone()),
        )
        .col_expr(
            tenant_keys::Column::WrappedDek,
            Expr::value(wrapped.blob.clone()),
        )
        .filter(tenant_keys::Column::TenantId.eq(tenant_id))
        .filter(tenant_keys::Column::Version.eq(version))
        .exec(conn)
        .await?;
    Ok(())
}

/// Crypto-shredding: the wrapped keys are overwritten with NULL; returns the versions destroyed.
pub async fn destroy_all<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    now: i64,
) -> StoreResult<Vec<i32>> {
    let live = live_versions(conn, tenant_id).await?;
    tenant_keys::Entity::update_many()
        .col_expr(
            tenant_keys::Column::WrappedDek,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(tenant_keys::Column::DestroyedAt, Expr::value(now))
        .filter(tenant_keys::Column::TenantId.eq(tenant_id))
        .filter(tenant_keys::Column::DestroyedAt.is_null())
        .exec(conn)
        .await?;
    Ok(live.into_iter().map(|r| r.version).collect())
}
