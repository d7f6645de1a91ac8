//! Liveness, readiness and metrics.
use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

/// Process alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Database reachable, migrations applied, keys loaded.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db_ok = state.db.ping().await.is_ok();
    let migrated = db_ok && matches!(state.db.migrations_applied().await, Ok(true));
    let keys_ok = !state.keys.ring().active_id().is_empty();
    let body = json!({"database": db_ok, "migrations": migrated, "keys": keys_ok});
    if db_ok && migrated && keys_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
