//! Platform tables: tenants, platform staff and their sessions, the number routing table.
use entity::{phone_numbers, platform_staff, staff_sessions, tenants};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::store::{Db, StoreError, StoreResult};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_SUSPENDED: &str = "suspended";
pub const STATUS_DELETED: &str = "deleted";

pub struct NewTenant<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub slug: &'a str,
    pub now: i64,
}

pub async fn insert_tenant<C: ConnectionTrait>(conn: &C, t: NewTenant<'_>) -> StoreResult<()> {
    tenants::Entity::insert(tenants::ActiveModel {
        id: Set(t.id),
        name: Set(t.name.to_owned()),
        slug: Set(t.slug.to_owned()),
        status: Set(STATUS_ACTIVE.into()),
        require_totp: Set(false),
        auto_assign: Set(false),
        message_retention_days: Set(None),
        assign_cursor: Set(0),
        created_at: Set(t.now),
        updated_at: Set(t.now),
    })
    .exec_without_returning(conn)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("slug is taken".into()),
        other => other,
    })?;
    Ok(())
}

/// Bumped whenever a number's tenant or a tenant's status or settings change in this process, so
/// routing caches drop what they hold at once (other instances' caches expire on their own).
static ROUTING_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The current routing epoch; see [`routing_changed`].
pub fn routing_epoch() -> u64 {
    ROUTING_EPOCH.load(std::sync::atomic::Ordering::Acquire)
}

/// Marks routing data (numbers, tenant status, tenant settings) as changed.
pub fn routing_changed() {
    ROUTING_EPOCH.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
}

pub async fn set_tenant_status<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    status: &str,
    now: i64,
) -> StoreResult<()> {
    routing_changed();
    tenants::Entity::update_many()
        .col_expr(tenants::Column::Status, Expr::value(status))
        .col_expr(tenants::Column::UpdatedAt, Expr::value(now))
        .filter(tenants::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn insert_staff<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    email: &str,
    password_hash: &str,
    role: &str,
    now: i64,
) -> StoreResult<()> {
    platform_staff::Entity::insert(platform_staff::ActiveModel {
        id: Set(id),
        email: Set(email.to_owned()),
        password_hash: Set(password_hash.to_owned()),
        role: Set(role.to_owned()),
        disabled: Set(false),
        totp_secret_enc: Set(None),
        totp_enabled: Set(false),
        totp_last_step: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("email is taken".into()),
        other => other,
    })?;
    Ok(())
}

impl Db {
    pub async fn tenant_by_id(&self, id: Uuid) -> StoreResult<tenants::Model> {
        tenants::Entity::find_by_id(id)
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> StoreResult<tenants::Model> {
        tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(slug))
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Tenants ordered by id, after `cursor`.
    pub async fn list_tenants(
        &self,
        after: Option<Uuid>,
        limit: u64,
    ) -> StoreResult<Vec<tenants::Model>> {
        let mut q = tenants::Entity::find().order_by_asc(tenants::Column::Id);
        if let Some(a) = after {
            q = q.filter(tenants::Column::Id.gt(a));
        }
        Ok(q.limit(limit).all(self.conn()).await?)
    }

    pub async fn update_tenant_settings(
        &self,
        id: Uuid,
        require_totp: Option<bool>,
        retention_days: Option<Option<i32>>,
        auto_assign: Option<bool>,
        now: i64,
    ) -> StoreResult<tenants::Model> {
        routing_changed();
        let mut q = tenants::Entity::update_many()
            .col_expr(tenants::Column::UpdatedAt, Expr::value(now))
            .filter(tenants::Column::Id.eq(id));
        if let Some(v) = require_totp {
            q = q.col_expr(tenants::Column::RequireTotp, Expr::value(v));
        }
        if let Some(v) = retention_days {
            q = q.col_expr(tenants::Column::MessageRetentionDays, Expr::value(v));
        }
        if let Some(v) = auto_assign {
            q = q.col_expr(tenants::Column::AutoAssign, Expr::value(v));
        }
        q.exec(self.conn()).await?;
        self.tenant_by_id(id).await
    }

    // --- platform staff ---

    pub async fn staff_by_email(&self, email: &str) -> StoreResult<Option<platform_staff::Model>> {
        Ok(platform_staff::Entity::find()
            .filter(platform_staff::Column::Email.eq(email))
            .one(self.conn())
            .await?)
    }

    pub async fn staff_by_id(&self, id: Uuid) -> StoreResult<platform_staff::Model> {
        platform_staff::Entity::find_by_id(id)
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn set_staff_password_hash(&self, id: Uuid, hash: &str, now: i64) -> StoreResult<()> {
        platform_staff::Entity::update_many()
            .col_expr(platform_staff::Column::PasswordHash, Expr::value(hash))
            .col_expr(platform_staff::Column::UpdatedAt, Expr::value(now))
            .filter(platform_staff::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    pub async fn set_staff_totp(
        &self,
        id: Uuid,
        secret_enc: Option<Vec<u8>>,
        enabled: bool,
        last_step: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        platform_staff::Entity::update_many()
            .col_expr(
                platform_staff::Column::TotpSecretEnc,
                Expr::value(secret_enc),
            )
            .col_expr(platform_staff::Column::TotpEnabled, Expr::value(enabled))
            .col_expr(platform_staff::Column::TotpLastStep, Expr::value(last_step))
            .col_expr(platform_staff::Column::UpdatedAt, Expr::value(now))
            .filter(platform_staff::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Records a used TOTP step only if newer than the stored one (a code works once).
    pub async fn consume_staff_totp_step(&self, id: Uuid, step: i64) -> StoreResult<bool> {
        let res = platform_staff::Entity::update_many()
            .col_expr(platform_staff::Column::TotpLastStep, Expr::value(step))
            .filter(platform_staff::Column::Id.eq(id))
            .filter(
                sea_orm::Condition::any()
                    .add(platform_staff::Column::TotpLastStep.is_null())
                    .add(platform_staff::Column::TotpLastStep.lt(step)),
            )
            .exec(self.conn())
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn insert_staff_session(
        &self,
        id: Uuid,
        staff_id: Uuid,
        refresh_hash: Vec<u8>,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        staff_sessions::Entity::insert(staff_sessions::ActiveModel {
            id: Set(id),
            staff_id: Set(staff_id),
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

    pub async fn staff_session(&self, id: Uuid) -> StoreResult<Option<staff_sessions::Model>> {
        Ok(staff_sessions::Entity::find_by_id(id)
            .one(self.conn())
            .await?)
    }

    /// Swaps the refresh hash only if it still is `old`.
    pub async fn rotate_staff_session(
        &self,
        id: Uuid,
        old: &[u8],
        new: Vec<u8>,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let res = staff_sessions::Entity::update_many()
            .col_expr(staff_sessions::Column::RefreshHash, Expr::value(new))
            .col_expr(staff_sessions::Column::ExpiresAt, Expr::value(expires_at))
            .col_expr(staff_sessions::Column::LastUsedAt, Expr::value(now))
            .filter(staff_sessions::Column::Id.eq(id))
            .filter(staff_sessions::Column::RefreshHash.eq(old.to_vec()))
            .filter(staff_sessions::Column::RevokedAt.is_null())
            .exec(self.conn())
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn revoke_staff_session(&self, id: Uuid, now: i64) -> StoreResult<()> {
        staff_sessions::Entity::update_many()
            .col_expr(staff_sessions::Column::RevokedAt, Expr::value(now))
            .filter(staff_sessions::Column::Id.eq(id))
            .filter(staff_sessions::Column::RevokedAt.is_null())
            .exec(self.conn())
            .await?;
        Ok(())
    }

    // --- number routing ---

    pub async fn route_number(
        &self,
        phone_number_id: &str,
    ) -> StoreResult<Option<phone_numbers::Model>> {
        Ok(
            phone_numbers::Entity::find_by_id(phone_number_id.to_owned())
                .one(self.conn())
                .await?,
        )
    }

    pub async fn numbers_of_tenant(
        &self,
        tenant_id: Uuid,
    ) -> StoreResult<Vec<phone_numbers::Model>> {
        Ok(phone_numbers::Entity::find()
            .filter(phone_numbers::Column::TenantId.eq(tenant_id))
            .order_by_asc(phone_numbers::Column::PhoneNumberId)
            .all(self.conn())
            .await?)
    }

    /// Registers or updates a number; a number already routed to another tenant is a conflict.
    pub async fn upsert_number(
        &self,
        row: phone_numbers::Model,
    ) -> StoreResult<phone_numbers::Model> {
        routing_changed();
        let txn = self.begin().await?;
        let existing = phone_numbers::Entity::find_by_id(row.phone_number_id.clone())
            .one(&txn)
            .await?;
        match existing {
            Some(e) if e.tenant_id != row.tenant_id => {
                return Err(StoreError::Conflict(
                    "number is registered to another account".into(),
                ));
            }
            Some(e) => {
                let am = phone_numbers::ActiveModel {
                    phone_number_id: Set(row.phone_number_id.clone()),
                    tenant_id: Set(row.tenant_id),
                    display_phone_number: Set(row.display_phone_number.clone()),
                    waba_id: Set(row.waba_id.clone()),
                    access_token_enc: Set(row.access_token_enc.clone()),
                    created_at: Set(e.created_at),
                    updated_at: Set(row.updated_at),
                };
                phone_numbers::Entity::update(am).exec(&txn).await?;
            }
            None => {
                phone_numbers::Entity::insert(phone_numbers::ActiveModel::from(row.clone()))
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
        sea_orm::TransactionSession::commit(txn).await?;
        self.route_number(&row.phone_number_id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Metadata counts for the platform view.
    pub async fn tenant_counts(&self, tenant_id: Uuid) -> StoreResult<(u64, u64)> {
        let tx = self.tenant(tenant_id).await?;
        let contacts = entity::contacts::Entity::find()
            .filter(entity::contacts::Column::TenantId.eq(tenant_id))
            .count(tx.conn())
            .await?;
        let messages = entity::messages::Entity::find()
            .filter(entity::messages::Column::TenantId.eq(tenant_id))
            .count(tx.conn())
            .await?;
        tx.commit().await?;
        Ok((contacts, messages))
    }
}
