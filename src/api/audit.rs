//! `/v1/audit`: the calling tenant's audit events, newest first, and a check of their chain.
use actix_web::{HttpResponse, get, web};
use entity::audit_events;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::page::{PageQuery, split_page};
use crate::auth::extract::{Authorized, perm};
use crate::clock::rfc3339;
use crate::error::ApiResult;
use crate::service::users::caller_tenant;
use crate::state::AppState;
use crate::store::audit::ChainCheck;

#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    /// Position in the tenant's hash chain, from 1.
    pub seq: i64,
    /// `user`, `staff`, `cli` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    /// e.g. `auth.login`, `user.role_change`, `user.disable`.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Codes and ids that qualify the action; never contact content.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub created_at: String,
}

impl From<audit_events::Model> for AuditEvent {
    fn from(e: audit_events::Model) -> Self {
        // The stored detail is JSON text written by this service; anything else is shown as text
        // rather than failing the whole page.
        let detail = serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::String(e.detail));
        Self {
            id: e.id,
            seq: e.seq,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            ip: e.ip,
            user_agent: e.user_agent,
            detail,
            created_at: rfc3339(e.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = AuditList),
        (status = 400, description = "invalid_limit or invalid_cursor", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
#[get("/v1/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReadAudit>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit()?;
    let before = query.cursor::<i64>()?;
    let tx = state.db.tenant(caller_tenant(&auth)?).await?;
    let rows = tx.audit_page(before, limit + 1).await?;
    tx.commit().await?;
    let (rows, next_cursor) = split_page(rows, limit, |e| e.seq);
    Ok(HttpResponse::Ok().json(AuditList {
        items: rows.into_iter().map(AuditEvent::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses(
        (status = 200, description = "ok is false and first_bad_seq names the first event that was changed, removed or moved", body = ChainCheck),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
#[get("/v1/audit/verify")]
pub async fn verify_audit(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReadAudit>,
) -> ApiResult<HttpResponse> {
    let tx = state.db.tenant(caller_tenant(&auth)?).await?;
    let check = tx.verify_audit().await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(check))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(verify_audit).service(list_audit);
}
