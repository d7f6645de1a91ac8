//! `/v1/users`: a tenant's owners and admins manage the tenant's users.
use actix_web::{HttpResponse, get, patch, post, web};
use entity::users;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::api::page::{PageQuery, split_page};
use crate::auth::extract::{Authorized, perm};
use crate::clock::rfc3339;
use crate::error::ApiResult;
use crate::service::users::{self as svc, UserChange, parse_tenant_role};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct CreateUserRequest {
    pub email: String,
    pub password: String,
    /// `owner`, `admin` or `agent`; only an owner creates owners and admins.
    pub role: String,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    /// `owner`, `admin` or `agent`.
    pub role: Option<String>,
    /// `true` disables the user and revokes its sessions at once.
    pub disabled: Option<bool>,
}

/// A tenant user as shown to its administrators: no password hash, no TOTP secret.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<users::Model> for UserView {
    fn from(u: users::Model) -> Self {
        Self {
            id: u.id,
            email: u.email,
            role: u.role,
            disabled: u.disabled,
            totp_enabled: u.totp_enabled,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/v1/users", tag = "users", security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = UserView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "not an owner or admin, or an admin creating an owner or admin", body = crate::error::ErrorBody),
        (status = 409, description = "the email is taken in this tenant", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_role, invalid_email, password_too_short, password_too_long, password_too_weak", body = crate::error::ErrorBody)))]
#[post("/v1/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageUsers>,
    body: web::Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let role = parse_tenant_role(&body.role)?;
    let password = Zeroizing::new(body.password);
    let user = svc::create(&state, &auth, &body.email, password, role).await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

#[utoipa::path(get, path = "/v1/users", tag = "users", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = UserList),
        (status = 400, description = "invalid_limit or invalid_cursor", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
#[get("/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageUsers>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit()?;
    let after = query.cursor::<Uuid>()?;
    let rows = svc::list(&state, &auth, after, limit + 1).await?;
    let (rows, next_cursor) = split_page(rows, limit, |u| u.id);
    Ok(HttpResponse::Ok().json(UserList {
        items: rows.into_iter().map(UserView::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "user id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "an admin changing an owner or admin, or granting those roles", body = crate::error::ErrorBody),
        (status = 404, description = "no such user in this tenant", body = crate::error::ErrorBody),
        (status = 409, description = "last_owner: the last active owner cannot be demoted or disabled", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_role", body = crate::error::ErrorBody)))]
#[patch("/v1/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageUsers>,
    path: web::Path<Uuid>,
    body: web::Json<UpdateUserRequest>,
) -> ApiResult<HttpResponse> {
    let change = UserChange {
        role: body.role.as_deref().map(parse_tenant_role).transpose()?,
        disabled: body.disabled,
    };
    let user = svc::update(&state, &auth, path.into_inner(), change).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_user)
        .service(list_users)
        .service(update_user);
}
