//! `users`: a tenant's people (owner, admin, agent). Tenant-scoped.
use entity::users;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, sea_query::Expr,
};
use uuid::Uuid;

use crate::store::{StoreError, StoreResult, TenantTx};

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub now: i64,
}

impl TenantTx {
    pub async fn insert_user(&self, u: NewUser<'_>) -> StoreResult<()> {
        users::Entity::insert(users::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(u.id),
            email: Set(u.email.to_owned()),
            password_hash: Set(u.password_hash.to_owned()),
            role: Set(u.role.to_owned()),
            disabled: Set(false),
            totp_secret_enc: Set(None),
            totp_enabled: Set(false),
            totp_last_step: Set(None),
            created_at: Set(u.now),
            updated_at: Set(u.now),
        })
        .exec_without_returning(self.conn())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict("a user with this email exists".into()),
            other => other,
        })?;
        Ok(())
    }

    pub async fn user(&self, id: Uuid) -> StoreResult<users::Model> {
        users::Entity::find()
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .filter(users::Column::Id.eq(id))
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<users::Model>> {
        Ok(users::Entity::find()
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .filter(users::Column::Email.eq(email))
            .one(self.conn())
            .await?)
    }

    pub async fn users_page(
        &self,
        after: Option<Uuid>,
        limit: u64,
    ) -> StoreResult<Vec<users::Model>> {
        let mut q = users::Entity::find()
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .order_by_asc(users::Column::Id)
            .limit(limit);
        if let Some(a) = after {
            q = q.filter(users::Column::Id.gt(a));
        }
        Ok(q.all(self.conn()).await?)
    }

    /// Active (not disabled) users, oldest first: the round-robin pool for auto-assignment.
    pub async fn active_agents(&self) -> StoreResult<Vec<Uuid>> {
        Ok(users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .filter(users::Column::Disabled.eq(false))
            .filter(users::Column::Role.eq("agent"))
            .order_by_asc(users::Column::Id)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    pub async fn update_user(
        &self,
        id: Uuid,
        role: Option<&str>,
        disabled: Option<bool>,
        now: i64,
    ) -> StoreResult<()> {
        let mut q = users::Entity::update_many()
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .filter(users::Column::Id.eq(id));
        if let Some(r) = role {
            q = q.col_expr(users::Column::Role, Expr::value(r));
        }
        if let Some(d) = disabled {
            q = q.col_expr(users::Column::Disabled, Expr::value(d));
        }
        q.exec(self.conn()).await?;
        Ok(())
    }

    pub async fn set_user_password_hash(&self, id: Uuid, hash: &str, now: i64) -> StoreResult<()> {
        users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .filter(users::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Stores a TOTP secret (sealed) awaiting confirmation, or enables it and records a used step.
    pub async fn set_user_totp(
        &self,
        id: Uuid,
        secret_enc: Option<Vec<u8>>,
        enabled: bool,
        last_step: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        users::Entity::update_many()
            .col_expr(users::Column::TotpSecretEnc, Expr::value(secret_enc))
            .col_expr(users::Column::TotpEnabled, Expr::value(enabled))
            .col_expr(users::Column::TotpLastStep, Expr::value(last_step))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .filter(users::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Records a consumed TOTP step only if it is newer than the stored one (a code works once,
    /// even under concurrent sign-ins). Returns whether this caller consumed it.
    pub async fn consume_user_totp_step(&self, id: Uuid, step: i64) -> StoreResult<bool> {
        let res = users::Entity::update_many()
            .col_expr(users::Column::TotpLastStep, Expr::value(step))
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .filter(users::Column::Id.eq(id))
            .filter(
                sea_orm::Condition::any()
                    .add(users::Column::TotpLastStep.is_null())
                    .add(users::Column::TotpLastStep.lt(step)),
            )
            .exec(self.conn())
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Owners who are not disabled. On PostgreSQL the tenant row is locked first (as the audit
    /// chain does), so two concurrent demotions cannot each count the other owner and leave
    /// the tenant with none; SQLite transactions already hold the write lock.
    pub async fn active_owner_count(&self) -> StoreResult<u64> {
        if self.conn().get_database_backend() == DbBackend::Postgres {
            self.conn()
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT id FROM tenants WHERE id = $1 FOR UPDATE",
                    [self.tenant_id().into()],
                ))
                .await?;
        }
        Ok(users::Entity::find()
            .filter(users::Column::TenantId.eq(self.tenant_id()))
            .filter(users::Column::Role.eq("owner"))
            .filter(users::Column::Disabled.eq(false))
            .count(self.conn())
            .await?)
    }
}
