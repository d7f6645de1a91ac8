//! Tenant deletion: a request suspends the tenant at once and schedules the wipe a configured
//! number of business days later; it can be cancelled until the wipe runs; the wipe (see
//! [`execute`]) empties every tenant table, destroys the tenant's data keys and issues a signed
//! certificate. Request, cancellation and execution are recorded in the platform audit chain.
pub mod business_days;
pub mod certificate;
mod execute;

use entity::deletion_requests;
use serde_json::json;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::identity::Actor;
use crate::state::AppState;
use crate::store::audit::append_platform;
use crate::store::deletion::{
    self, DELETION_EXECUTED, DELETION_SCHEDULED, NewDeletionRequest, latest_request,
};
use crate::store::platform::{STATUS_ACTIVE, STATUS_DELETED, STATUS_SUSPENDED, set_tenant_status};
use crate::store::{StoreError, new_id};

pub use business_days::add_business_days;
pub use certificate::{CertificateError, DeletionCertificate};
pub use execute::{DueRun, WipeHooks, execute, execute_due, execute_with};

/// Longest accepted reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum WipeError {
    #[error("no such tenant or deletion request")]
    NotFound,
    #[error("a deletion is already scheduled for this tenant")]
    AlreadyScheduled,
    #[error("the tenant has been deleted")]
    TenantDeleted,
    #[error("the deletion has already been executed")]
    AlreadyExecuted,
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("the wipe was interrupted")]
    Interrupted,
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
}

impl From<StoreError> for WipeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

impl From<WipeError> for ApiError {
    fn from(e: WipeError) -> Self {
        match e {
            WipeError::NotFound => ApiError::not_found(),
            WipeError::AlreadyScheduled => ApiError::conflict(
                "deletion_already_scheduled",
                "a deletion is already scheduled for this tenant",
            ),
            WipeError::TenantDeleted => {
                ApiError::conflict("tenant_deleted", "the tenant has already been deleted")
            }
            WipeError::AlreadyExecuted => ApiError::conflict(
                "deletion_already_executed",
                "the deletion has already been executed and cannot be cancelled",
            ),
            WipeError::Invalid(code, detail) => ApiError::unprocessable(code, detail),
            WipeError::Store(s) => s.into(),
            other => ApiError::internal(&other),
        }
    }
}

/// Records a deletion request and suspends the tenant, in one transaction.
pub async fn request(
    state: &AppState,
    tenant_id: Uuid,
    actor: &Actor,
    reason: &str,
) -> Result<deletion_requests::Model, WipeError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(WipeError::Invalid(
            "invalid_reason",
            format!("reason must be 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    let now = state.clock.now_ms();
    let r = &state.settings.retention;
    let scheduled_for = add_business_days(now, r.deletion_business_days, &r.holidays)
        .ok_or_else(|| WipeError::Internal("the clock is outside the calendar".into()))?;
    let tx = state.db.tenant(tenant_id).await?;
    let tenant = deletion::lock_tenant(tx.conn(), tenant_id).await?;
    if tenant.status == STATUS_DELETED {
        return Err(WipeError::TenantDeleted);
    }
    if let Some(prev) = latest_request(tx.conn(), tenant_id, true).await? {
        match prev.status.as_str() {
            DELETION_SCHEDULED => return Err(WipeError::AlreadyScheduled),
            DELETION_EXECUTED => return Err(WipeError::TenantDeleted),
            _ => {}
        }
    }
    let row = deletion_requests::Model {
        tenant_id,
        id: new_id(),
        status: DELETION_SCHEDULED.into(),
        reason: reason.to_owned(),
        requested_by: actor.id.unwrap_or_default(),
        requested_by_kind: actor.kind.to_owned(),
        requested_at: now,
        scheduled_for,
        cancelled_at: None,
        cancelled_by: None,
        executed_at: None,
        executed_by: None,
        executed_by_kind: None,
        certificate: None,
    };
    deletion::insert_request(
        tx.conn(),
        NewDeletionRequest {
            id: row.id,
            tenant_id,
            reason,
            requested_by: row.requested_by,
            requested_by_kind: actor.kind,
            requested_at: now,
            scheduled_for,
        },
    )
    .await?;
    set_tenant_status(tx.conn(), tenant_id, STATUS_SUSPENDED, now).await?;
    let rec = actor.record(
        "tenant.deletion_requested",
        "tenant",
        tenant_id,
        json!({"request_id": row.id, "scheduled_for": rfc3339(scheduled_for)}),
    );
    tx.append_audit(&rec, now).await?;
    append_platform(tx.conn(), Some(tenant_id), &rec, now).await?;
    tx.commit().await?;
    tracing::info!(%tenant_id, request_id = %row.id, "tenant deletion scheduled");
    Ok(row)
}

/// Cancels the scheduled request and reactivates the tenant.
pub async fn cancel(
    state: &AppState,
    tenant_id: Uuid,
    actor: &Actor,
) -> Result<deletion_requests::Model, WipeError> {
    let now = state.clock.now_ms();
    let tx = state.db.tenant(tenant_id).await?;
    deletion::lock_tenant(tx.conn(), tenant_id).await?;
    let mut req = latest_request(tx.conn(), tenant_id, true)
        .await?
        .ok_or(WipeError::NotFound)?;
    match req.status.as_str() {
        DELETION_SCHEDULED => {}
        DELETION_EXECUTED => return Err(WipeError::AlreadyExecuted),
        _ => return Err(WipeError::NotFound),
    }
    if !deletion::cancel_request(tx.conn(), tenant_id, req.id, actor.id, now).await? {
        return Err(WipeError::NotFound);
    }
    set_tenant_status(tx.conn(), tenant_id, STATUS_ACTIVE, now).await?;
    let rec = actor.record(
        "tenant.deletion_cancelled",
        "tenant",
        tenant_id,
        json!({"request_id": req.id}),
    );
    tx.append_audit(&rec, now).await?;
    append_platform(tx.conn(), Some(tenant_id), &rec, now).await?;
    tx.commit().await?;
    tracing::info!(%tenant_id, request_id = %req.id, "tenant deletion cancelled");
    req.status = deletion::DELETION_CANCELLED.into();
    req.cancelled_at = Some(now);
    req.cancelled_by = actor.id;
    Ok(req)
}

/// The tenant's newest deletion request.
pub async fn current(
    state: &AppState,
    tenant_id: Uuid,
) -> Result<deletion_requests::Model, WipeError> {
    state.db.tenant_by_id(tenant_id).await?;
    latest_request(state.db.conn(), tenant_id, false)
        .await?
        .ok_or(WipeError::NotFound)
}

/// Whether the tenant is suspended only because its deletion is scheduled.
pub async fn pending(state: &AppState, tenant_id: Uuid) -> Result<bool, WipeError> {
    Ok(latest_request(state.db.conn(), tenant_id, false)
        .await?
        .is_some_and(|r| r.status == DELETION_SCHEDULED))
}

/// The stored certificate of an executed request.
pub fn stored_certificate(
    req: &deletion_requests::Model,
) -> Result<Option<DeletionCertificate>, WipeError> {
    req.certificate
        .as_deref()
        .map(|text| {
            serde_json::from_str(text).map_err(|_| {
                WipeError::Store(StoreError::Invalid(
                    "stored certificate is not valid".into(),
                ))
            })
        })
        .transpose()
}
