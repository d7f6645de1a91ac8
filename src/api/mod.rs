//! HTTP handlers: thin, one file per resource; decisions live in `auth::policy`, queries in `store`.
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

pub mod audit;
pub mod auth;
pub mod billing;
pub mod contacts;
pub mod conversations;
pub mod deletion;
pub mod extract;
pub mod grants;
pub mod health;
pub mod numbers;
pub mod openapi;
pub mod page;
pub mod rights;
pub mod settings;
pub mod tenants;
pub mod users;
pub mod webhooks;

/// Routes under `/v1` and `/webhooks`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    auth::configure(cfg);
    tenants::configure(cfg);
    users::configure(cfg);
    settings::configure(cfg);
    audit::configure(cfg);
    numbers::configure(cfg);
    webhooks::configure(cfg);
    conversations::configure(cfg);
    rights::configure(cfg);
    contacts::configure(cfg);
    openapi::configure(cfg);
    deletion::configure(cfg);
    billing::configure(cfg);
    grants::configure(cfg);
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found())
}
