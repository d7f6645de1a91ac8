//! Data-subject rights routes: tenant export, access bundle, erasure (restriction is a field of
//! the contact correction, `PATCH /v1/contacts/{id}`).
//! Owners and admins only; to an agent these routes do not exist (404).
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use actix_web::{HttpResponse, delete, get, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::extract::Caller;
use crate::auth::{Permission, Role, role_allows};
use crate::error::{ApiError, ApiResult};
use crate::rights::{self, export};
use crate::state::AppState;

/// The caller's tenant if its role holds `perm`; agents get 404, staff 403.
fn tenant_for(caller: &Caller, perm: Permission) -> ApiResult<Uuid> {
    if caller.must_enroll_totp {
        return Err(ApiError::forbidden());
    }
    match caller.tenant_id() {
        Some(t) if role_allows(caller.principal.role, perm) => Ok(t),
        Some(_) if caller.principal.role == Role::Agent => Err(ApiError::not_found()),
        _ => Err(ApiError::forbidden()),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `ndjson`.
    pub format: Option<String>,
    /// `messages` adds conversations and messages to NDJSON lines.
    pub include: Option<String>,
}

#[utoipa::path(get, path = "/v1/contacts/export", tag = "contacts", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "CSV or NDJSON stream", content_type = "text/csv"), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[get("/v1/contacts/export")]
pub async fn export_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let tenant_id = tenant_for(&caller, Permission::ExportContacts)?;
    let with_messages = match q.include.as_deref() {
        None | Some("") => false,
        Some("messages") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "include must be 'messages'",
            ));
        }
    };
    let (format, content_type, ext) = match q.format.as_deref().unwrap_or("csv") {
        "csv" if !with_messages => (export::Format::Csv, "text/csv; charset=utf-8", "csv"),
        "csv" => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "include=messages needs format=ndjson",
            ));
        }
        "ndjson" => (
            export::Format::Ndjson {
                messages: with_messages,
            },
            "application/x-ndjson",
            "ndjson",
        ),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "format must be csv or ndjson",
            ));
        }
    };
    let keys = state.keys.for_tenant(tenant_id).await?;
    let now = state.clock.now_ms();
    let actor = caller.actor();
    // The start of an export is recorded before any data leaves (fail closed); its completion,
    // with the row count, when the stream ends.
    let tx = state.db.tenant(tenant_id).await?;
    tx.append_audit(
        &actor.record(
            "contacts.export",
            "tenant",
            tenant_id,
            json!({"format": ext, "messages": with_messages}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    let body = export::stream(
        state.db.clone(),
        keys,
        format,
        actor,
        now,
        Arc::new(AtomicU64::new(0)),
    );
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"contacts.{ext}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}

#[utoipa::path(get, path = "/v1/contacts/{id}/export", tag = "contacts", security(("bearer" = [])),
    responses((status = 200, description = "access bundle (schema wavault.access_bundle.v1)"), (status = 404, body = crate::error::ErrorBody)))]
#[get("/v1/contacts/{id}/export")]
pub async fn contact_bundle(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let tenant_id = tenant_for(&caller, Permission::ExportContacts)?;
    let bundle = rights::access_bundle(&state, tenant_id, id.into_inner(), &caller.actor()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(bundle))
}

#[utoipa::path(delete, path = "/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    responses((status = 204, description = "erased"), (status = 404, body = crate::error::ErrorBody)))]
#[delete("/v1/contacts/{id}")]
pub async fn erase_contact(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let tenant_id = tenant_for(&caller, Permission::EraseContacts)?;
    rights::erase(&state, tenant_id, id.into_inner(), &caller.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registered before the other contact routes so `/v1/contacts/export` is not taken for an id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(export_contacts)
        .service(contact_bundle)
        .service(erase_contact);
}
