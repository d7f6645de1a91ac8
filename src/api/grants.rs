//! `/v1/support-grants`: a tenant owner lets the provider's support staff read the tenant's
//! content for a bounded time, with a reason, and can revoke it at once. Granting and revoking
//! are audited in the tenant's chain; the content routes check for a live grant.
use actix_web::{HttpResponse, delete, post, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::{Authorized, perm};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::new_id;

/// Longest grant: one week.
pub const MAX_GRANT_MINUTES: i64 = 10_080;
const MAX_REASON_CHARS: usize = 500;

#[derive(Deserialize, ToSchema)]
pub struct NewSupportGrant {
    /// How long support may read, 1 to 10080 minutes.
    pub minutes: i64,
    /// Why (1 to 500 characters); shown to the tenant in its audit log.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct SupportGrantView {
    pub id: Uuid,
    pub reason: String,
    pub created_at: String,
    /// Support's read access ends at this time, or when the owner revokes it.
    pub expires_at: String,
}

/// The caller's tenant: the permission is held by tenant owners only, who always have one.
fn own_tenant<P: crate::auth::extract::Need>(auth: &Authorized<P>) -> ApiResult<Uuid> {
    auth.tenant_id().ok_or_else(ApiError::forbidden)
}

#[utoipa::path(post, path = "/v1/support-grants", tag = "administration", security(("bearer" = [])),
    request_body = NewSupportGrant,
    responses(
        (status = 201, body = SupportGrantView),
        (status = 403, body = crate::error::ErrorBody),
        (status = 422, description = "invalid_minutes or invalid_reason", body = crate::error::ErrorBody)))]
#[post("/v1/support-grants")]
pub async fn create_grant(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageSupportGrants>,
    body: web::Json<NewSupportGrant>,
) -> ApiResult<HttpResponse> {
    let tenant_id = own_tenant(&auth)?;
    if !(1..=MAX_GRANT_MINUTES).contains(&body.minutes) {
        return Err(ApiError::unprocessable(
            "invalid_minutes",
            format!("minutes must be 1 to {MAX_GRANT_MINUTES}"),
        ));
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::unprocessable(
            "invalid_reason",
            format!("reason must be 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    let now = state.clock.now_ms();
    let expires_at = now + body.minutes * 60_000;
    let id = new_id();
    let tx = state.db.tenant(tenant_id).await?;
    tx.insert_support_grant(id, auth.principal.user_id, reason, now, expires_at)
        .await?;
    tx.append_audit(
        &auth.actor().record(
            "support_grant.create",
            "support_grant",
            id,
            json!({"minutes": body.minutes, "expires_at": rfc3339(expires_at)}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(SupportGrantView {
        id,
        reason: reason.to_owned(),
        created_at: rfc3339(now),
        expires_at: rfc3339(expires_at),
    }))
}

#[utoipa::path(delete, path = "/v1/support-grants/{id}", tag = "administration", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "grant id")),
    responses(
        (status = 204, description = "revoked (also when it already was)"),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no such grant in this tenant", body = crate::error::ErrorBody)))]
#[delete("/v1/support-grants/{id}")]
pub async fn revoke_grant(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageSupportGrants>,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let tenant_id = own_tenant(&auth)?;
    let id = path.into_inner();
    let now = state.clock.now_ms();
    let tx = state.db.tenant(tenant_id).await?;
    tx.revoke_support_grant(id, now).await?;
    tx.append_audit(
        &auth
            .actor()
            .record("support_grant.revoke", "support_grant", id, json!({})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_grant).service(revoke_grant);
}
