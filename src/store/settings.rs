//! A tenant's own settings row, read and written inside that tenant's `TenantTx`, so a settings
//! change and its audit event commit or fail together.
use entity::tenants;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use crate::store::{StoreError, StoreResult, TenantTx};

/// Fields of `PATCH /v1/tenant/settings`; `None` leaves a field as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct SettingsChange {
    pub require_totp: Option<bool>,
    /// `Some(None)` clears the retention period.
    pub message_retention_days: Option<Option<i32>>,
    pub auto_assign: Option<bool>,
}

impl SettingsChange {
    pub fn is_empty(&self) -> bool {
        self.require_totp.is_none()
            && self.message_retention_days.is_none()
            && self.auto_assign.is_none()
    }
}

impl TenantTx {
    /// The tenant this transaction is bound to.
    pub async fn own_tenant(&self) -> StoreResult<tenants::Model> {
        tenants::Entity::find_by_id(self.tenant_id())
            .one(self.conn())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn update_settings(
        &self,
        change: SettingsChange,
        now: i64,
    ) -> StoreResult<tenants::Model> {
        if !change.is_empty() {
            crate::store::platform::routing_changed();
            let mut q = tenants::Entity::update_many()
                .col_expr(tenants::Column::UpdatedAt, Expr::value(now))
                .filter(tenants::Column::Id.eq(self.tenant_id()));
            if let Some(v) = change.require_totp {
                q = q.col_expr(tenants::Column::RequireTotp, Expr::value(v));
            }
            if let Some(v) = change.message_retention_days {
                q = q.col_expr(tenants::Column::MessageRetentionDays, Expr::value(v));
            }
            if let Some(v) = change.auto_assign {
                q = q.col_expr(tenants::Column::AutoAssign, Expr::value(v));
            }
            q.exec(self.conn()).await?;
        }
        self.own_tenant().await
    }
}
