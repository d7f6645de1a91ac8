//! Sign-in, refresh, logout, TOTP enrolment and `GET /v1/me`.
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::extract::{Caller, client_info};
use crate::error::ApiResult;
use crate::service::sessions::{self as svc, LoginInput};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Tenant slug or id; omitted by platform staff.
    pub tenant: Option<String>,
    pub email: String,
    pub password: String,
    pub totp_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

impl From<svc::Tokens> for TokenPair {
    fn from(t: svc::Tokens) -> Self {
        Self {
            access_token: t.access,
            refresh_token: t.refresh,
            token_type: "Bearer",
            expires_in: t.expires_in,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct TotpConfirmRequest {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_uri: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: uuid::Uuid,
    pub tenant_id: Option<uuid::Uuid>,
    pub email: String,
    pub role: String,
    pub totp_enabled: bool,
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
#[post("/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let (ip, user_agent) = client_info(&req);
    let body = body.into_inner();
    let tokens = svc::login(
        &state,
        LoginInput {
            tenant: body.tenant,
            email: body.email,
            password: zeroize::Zeroizing::new(body.password),
            totp_code: body.totp_code,
            ip,
            user_agent,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(TokenPair::from(tokens)))
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = crate::error::ErrorBody)))]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let tokens = svc::refresh(&state, &body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(TokenPair::from(tokens)))
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
#[post("/v1/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    svc::logout(&state, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
#[get("/v1/me")]
pub async fn me(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        user_id: caller.principal.user_id,
        tenant_id: caller.principal.tenant_id,
        email: caller.email.clone(),
        role: caller.principal.role.as_str().to_owned(),
        totp_enabled: caller.totp_enabled,
    })
}

#[utoipa::path(post, path = "/v1/auth/totp/enroll", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrollment), (status = 409, body = crate::error::ErrorBody)))]
#[post("/v1/auth/totp/enroll")]
pub async fn totp_enroll(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let (secret, otpauth_uri) = svc::totp_enroll(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(TotpEnrollment {
        secret,
        otpauth_uri,
    }))
}

#[utoipa::path(post, path = "/v1/auth/totp/confirm", tag = "auth", security(("bearer" = [])), request_body = TotpConfirmRequest,
    responses((status = 200), (status = 422, body = crate::error::ErrorBody)))]
#[post("/v1/auth/totp/confirm")]
pub async fn totp_confirm(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<TotpConfirmRequest>,
) -> ApiResult<HttpResponse> {
    svc::totp_confirm(&state, &caller, &body.code).await?;
    Ok(HttpResponse::Ok().json(json!({"totp_enabled": true})))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(totp_enroll)
        .service(totp_confirm);
}
