//! `/v1/tenants`: operators create tenants; platform staff and a tenant's own owners and admins
//! read tenant metadata (name, slug, status, counts), never content.
use actix_web::{HttpResponse, get, post, web};
use entity::tenants;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::api::page::{PageQuery, split_page};
use crate::auth::extract::{Authorized, perm};
use crate::auth::{Decision, Permission, Resource, decide};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::identity;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct CreateTenantRequest {
    pub name: String,
    /// 3 to 63 lower-case letters, digits or hyphens; used at sign-in.
    pub slug: String,
    pub owner_email: String,
    pub owner_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTenant {
    pub id: Uuid,
    pub slug: String,
    pub status: String,
}

/// Tenant metadata: what platform staff may see without a support grant.
#[derive(Serialize, ToSchema)]
pub struct TenantView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// `active`, `suspended` or `deleted`.
    pub status: String,
    pub created_at: String,
    pub contact_count: u64,
    pub message_count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    pub items: Vec<TenantView>,
    pub next_cursor: Option<String>,
}

async fn view(state: &AppState, t: tenants::Model) -> ApiResult<TenantView> {
    let (contact_count, message_count) = state.db.tenant_counts(t.id).await?;
    Ok(TenantView {
        id: t.id,
        name: t.name,
        slug: t.slug,
        status: t.status,
        created_at: rfc3339(t.created_at),
        contact_count,
        message_count,
    })
}

#[utoipa::path(post, path = "/v1/tenants", tag = "platform", security(("bearer" = [])),
    request_body = CreateTenantRequest,
    responses(
        (status = 201, body = CreatedTenant),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 409, description = "the slug is taken", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_name, invalid_slug, invalid_email, password_too_short, password_too_long, password_too_weak", body = crate::error::ErrorBody)))]
#[post("/v1/tenants")]
pub async fn create_tenant(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageTenants>,
    body: web::Json<CreateTenantRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let password = Zeroizing::new(body.owner_password);
    let tenant = identity::create_tenant(
        &state,
        &body.name,
        &body.slug,
        &body.owner_email,
        &password,
        &auth.actor(),
    )
    .await?;
    Ok(HttpResponse::Created().json(CreatedTenant {
        id: tenant.id,
        slug: tenant.slug,
        status: tenant.status,
    }))
}

#[utoipa::path(get, path = "/v1/tenants", tag = "platform", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = TenantList),
        (status = 400, description = "invalid_limit or invalid_cursor", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
#[get("/v1/tenants")]
pub async fn list_tenants(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ReadTenantsMetadata>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit()?;
    let after = query.cursor::<Uuid>()?;
    let rows = state.db.list_tenants(after, limit + 1).await?;
    let (rows, next_cursor) = split_page(rows, limit, |t| t.id);
    let mut items = Vec::with_capacity(rows.len());
    for t in rows {
        items.push(view(&state, t).await?);
    }
    Ok(HttpResponse::Ok().json(TenantList { items, next_cursor }))
}

#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "platform", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tenant id")),
    responses(
        (status = 200, body = TenantView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no such tenant, or another tenant's", body = crate::error::ErrorBody)))]
#[get("/v1/tenants/{id}")]
pub async fn get_tenant(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReadOwnTenantMetadata>,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    match decide(
        &auth.principal,
        Permission::ReadOwnTenantMetadata,
        &Resource::Tenant(id),
        false,
    ) {
        Decision::Allow => {}
        Decision::Deny => return Err(ApiError::forbidden()),
        Decision::NotFound => return Err(ApiError::not_found()),
    }
    let tenant = state.db.tenant_by_id(id).await?;
    Ok(HttpResponse::Ok().json(view(&state, tenant).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_tenant)
        .service(list_tenants)
        .service(get_tenant);
}
