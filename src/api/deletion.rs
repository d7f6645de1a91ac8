//! `/v1/tenants/{id}/deletion`: request, cancel, run and read a tenant's deletion.
//!
//! A request suspends the tenant, which shuts its users out of every other route; its owner can
//! still read and cancel the pending deletion here with a session from before the suspension.
use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, HttpResponse, delete, dev::Payload, get, post, web};
use entity::deletion_requests;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::{Authorized, Caller, client_info, perm};
use crate::auth::{Decision, Permission, Principal, Resource, Role, decide};
use crate::clock::{opt_rfc3339, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::platform::STATUS_SUSPENDED;
use crate::wipe::{self, DeletionCertificate};

#[derive(Deserialize, ToSchema)]
pub struct DeletionRequestBody {
    /// Why the tenant is to be deleted (1 to 1000 characters).
    pub reason: String,
}

/// A tenant's deletion request and, once executed, its certificate.
#[derive(Serialize, ToSchema)]
pub struct DeletionView {
    pub id: Uuid,
    /// `scheduled`, `cancelled` or `executed`.
    pub status: String,
    pub reason: String,
    pub requested_at: String,
    pub scheduled_for: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<DeletionCertificate>,
}

fn view(r: deletion_requests::Model) -> ApiResult<DeletionView> {
    let certificate = wipe::stored_certificate(&r)?;
    Ok(DeletionView {
        id: r.id,
        status: r.status,
        reason: r.reason,
        requested_at: rfc3339(r.requested_at),
        scheduled_for: rfc3339(r.scheduled_for),
        cancelled_at: opt_rfc3339(r.cancelled_at),
        executed_at: opt_rfc3339(r.executed_at),
        certificate,
    })
}

fn allow(p: &Principal, perm: Permission, tenant_id: Uuid) -> ApiResult<()> {
    match decide(p, perm, &Resource::Tenant(tenant_id), false) {
        Decision::Allow => Ok(()),
        Decision::Deny => Err(ApiError::forbidden()),
        Decision::NotFound => Err(ApiError::not_found()),
    }
}

#[utoipa::path(post, path = "/v1/tenants/{id}/deletion", tag = "platform", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tenant id")), request_body = DeletionRequestBody,
    responses(
        (status = 202, description = "scheduled; the tenant is suspended", body = DeletionView),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no such tenant, or another tenant's", body = crate::error::ErrorBody),
        (status = 409, description = "deletion_already_scheduled or tenant_deleted", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_reason", body = crate::error::ErrorBody)))]
#[post("/v1/tenants/{id}/deletion")]
pub async fn request_deletion(
    state: web::Data<AppState>,
    auth: Authorized<perm::RequestTenantDeletion>,
    path: web::Path<Uuid>,
    body: web::Json<DeletionRequestBody>,
) -> ApiResult<HttpResponse> {
    let tenant_id = path.into_inner();
    allow(
        &auth.principal,
        Permission::RequestTenantDeletion,
        tenant_id,
    )?;
    let req = wipe::request(&state, tenant_id, &auth.actor(), &body.reason).await?;
    Ok(HttpResponse::Accepted().json(view(req)?))
}

#[utoipa::path(delete, path = "/v1/tenants/{id}/deletion", tag = "platform", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tenant id")),
    responses(
        (status = 200, description = "cancelled; the tenant is active again", body = DeletionView),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no scheduled deletion, no such tenant, or another tenant's", body = crate::error::ErrorBody),
        (status = 409, description = "deletion_already_executed", body = crate::error::ErrorBody)))]
#[delete("/v1/tenants/{id}/deletion")]
pub async fn cancel_deletion(
    state: web::Data<AppState>,
    caller: DeletionCaller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let tenant_id = path.into_inner();
    caller.allow(Permission::CancelTenantDeletion, tenant_id)?;
    let req = wipe::cancel(&state, tenant_id, &caller.0.actor()).await?;
    Ok(HttpResponse::Ok().json(view(req)?))
}

#[utoipa::path(post, path = "/v1/tenants/{id}/deletion/execute", tag = "platform", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tenant id")),
    responses(
        (status = 200, description = "the wipe ran (or had run): its signed certificate", body = DeletionCertificate),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no scheduled deletion for this tenant", body = crate::error::ErrorBody)))]
#[post("/v1/tenants/{id}/deletion/execute")]
pub async fn execute_deletion(
    state: web::Data<AppState>,
    auth: Authorized<perm::ExecuteTenantDeletion>,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let tenant_id = path.into_inner();
    allow(
        &auth.principal,
        Permission::ExecuteTenantDeletion,
        tenant_id,
    )?;
    let cert = wipe::execute(&state, tenant_id, &auth.actor()).await?;
    Ok(HttpResponse::Ok().json(cert))
}

#[utoipa::path(get, path = "/v1/tenants/{id}/deletion", tag = "platform", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tenant id")),
    responses(
        (status = 200, body = DeletionView),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no deletion request, no such tenant, or another tenant's", body = crate::error::ErrorBody)))]
#[get("/v1/tenants/{id}/deletion")]
pub async fn get_deletion(
    state: web::Data<AppState>,
    caller: DeletionCaller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let tenant_id = path.into_inner();
    caller.allow(Permission::ReadTenantDeletion, tenant_id)?;
    let req = wipe::current(&state, tenant_id).await?;
    Ok(HttpResponse::Ok().json(view(req)?))
}

/// A signed-in caller, or the owner of a tenant suspended by its own pending deletion.
pub struct DeletionCaller(pub Caller);

impl DeletionCaller {
    fn allow(&self, perm: Permission, tenant_id: Uuid) -> ApiResult<()> {
        if self.0.must_enroll_totp {
            return Err(ApiError::new(
                actix_web::http::StatusCode::FORBIDDEN,
                "totp_enrollment_required",
                "this tenant requires two-factor authentication: enrol with /v1/auth/totp/enroll",
            ));
        }
        allow(&self.0.principal, perm, tenant_id)
    }
}

impl FromRequest for DeletionCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match Caller::from_request(&req, &mut Payload::None).await {
                Ok(caller) => Ok(Self(caller)),
                Err(e) if e.status == actix_web::http::StatusCode::UNAUTHORIZED => {
                    suspended_owner(&req).await?.map(Self).ok_or(e)
                }
                Err(e) => Err(e),
            }
        })
    }
}

/// The same checks as `Caller`, except that the tenant may be suspended, provided a deletion is
/// what suspended it and the caller is one of its owners.
async fn suspended_owner(req: &HttpRequest) -> ApiResult<Option<Caller>> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Ok(None);
    };
    let Some(token) = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
    else {
        return Ok(None);
    };
    let now = state.clock.now_ms();
    let Ok(claims) = state.jwt.verify(&token, now.div_euclid(1000)) else {
        return Ok(None);
    };
    let Some(tenant_id) = claims.tid else {
        return Ok(None);
    };
    let Ok(tenant) = state.db.tenant_by_id(tenant_id).await else {
        return Ok(None);
    };
    if tenant.status != STATUS_SUSPENDED || !wipe::pending(state, tenant_id).await? {
        return Ok(None);
    }
    let tx = state.db.tenant(tenant_id).await?;
    let (Ok(session), Ok(user)) = (tx.session(claims.sid).await, tx.user(claims.sub).await) else {
        return Ok(None);
    };
    tx.commit().await?;
    let live = session.user_id == user.id
        && session.revoked_at.is_none()
        && session.expires_at > now
        && !user.disabled
        && user.role == Role::Owner.as_str();
    if !live {
        return Ok(None);
    }
    let (ip, user_agent) = client_info(req);
    Ok(Some(Caller {
        principal: Principal {
            user_id: user.id,
            session_id: session.id,
            tenant_id: Some(tenant_id),
            role: Role::Owner,
        },
        email: user.email,
        totp_enabled: user.totp_enabled,
        must_enroll_totp: tenant.require_totp && !user.totp_enabled,
        ip,
        user_agent,
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(request_deletion)
        .service(cancel_deletion)
        .service(execute_deletion)
        .service(get_deletion);
}
