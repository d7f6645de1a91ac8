//! `PATCH /v1/tenant/settings`: the calling tenant's own settings, changed and audited in one
//! transaction.
use actix_web::{HttpResponse, patch, web};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::auth::extract::{Authorized, perm};
use crate::error::{ApiError, ApiResult};
use crate::service::users::caller_tenant;
use crate::state::AppState;
use crate::store::settings::SettingsChange;

const MAX_RETENTION_DAYS: i64 = 3650;

#[derive(Deserialize, ToSchema)]
pub struct SettingsRequest {
    /// Users must enrol TOTP before they can do anything but enrol.
    pub require_totp: Option<bool>,
    /// Days messages are kept, 1 to 3650; `null` keeps them until deleted; absent leaves it as is.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1, maximum = 3650)]
    pub message_retention_days: Option<Option<i64>>,
    /// New conversations are assigned to active agents in turn.
    pub auto_assign: Option<bool>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`, via `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

#[derive(Serialize, ToSchema)]
pub struct TenantSettings {
    pub require_totp: bool,
    pub message_retention_days: Option<i32>,
    pub auto_assign: bool,
}

fn retention(days: Option<i64>) -> ApiResult<Option<i32>> {
    days.map(|d| {
        i32::try_from(d)
            .ok()
            .filter(|d| (1..=MAX_RETENTION_DAYS).contains(&i64::from(*d)))
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "invalid_retention",
                    format!("message_retention_days must be 1 to {MAX_RETENTION_DAYS}, or null"),
                )
            })
    })
    .transpose()
}

/// What changed, for the audit record: setting names and values, nothing personal.
fn audit_detail(change: &SettingsChange) -> Value {
    let mut m = Map::new();
    if let Some(v) = change.require_totp {
        m.insert("require_totp".into(), json!(v));
    }
    if let Some(v) = change.message_retention_days {
        m.insert("message_retention_days".into(), json!(v));
    }
    if let Some(v) = change.auto_assign {
        m.insert("auto_assign".into(), json!(v));
    }
    Value::Object(m)
}

#[utoipa::path(patch, path = "/v1/tenant/settings", tag = "tenant", security(("bearer" = [])),
    request_body = SettingsRequest,
    responses(
        (status = 200, body = TenantSettings),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 422, description = "invalid_retention, or a field of the wrong type", body = crate::error::ErrorBody)))]
#[patch("/v1/tenant/settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageSettings>,
    body: web::Json<SettingsRequest>,
) -> ApiResult<HttpResponse> {
    let change = SettingsChange {
        require_totp: body.require_totp,
        message_retention_days: body.message_retention_days.map(retention).transpose()?,
        auto_assign: body.auto_assign,
    };
    let now = state.clock.now_ms();
    let tenant_id = caller_tenant(&auth)?;
    let tx = state.db.tenant(tenant_id).await?;
    let tenant = tx.update_settings(change, now).await?;
    if !change.is_empty() {
        tx.append_audit(
            &auth.actor().record(
                "tenant.settings_update",
                "tenant",
                tenant_id,
                audit_detail(&change),
            ),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(TenantSettings {
        require_totp: tenant.require_totp,
        message_retention_days: tenant.message_retention_days,
        auto_assign: tenant.auto_assign,
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(update_settings);
}
