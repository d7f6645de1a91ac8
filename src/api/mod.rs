//! HTTP handlers: thin, one file per resource; decisions live in `auth::policy`, queries in `store`.
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

pub mod extract;
pub mod auth;
pub mod health;

/// Routes under `/v1` and `/webhooks`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    auth::configure(cfg);
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found())
}
