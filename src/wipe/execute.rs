//! The wipe itself, in ONE transaction: delete the tenant's rows from every table the live
//! schema shows with a `tenant_id` column (minus `migration::schema::WIPE_KEEPS`), destroy every
//! version of its data key, mark it deleted, sign the certificate, store it on the request and
//! append the platform audit event. A crash at any point rolls all of it back, so a re-run starts
//! from a clean state, counts every row, and the certificate exists once, from the run that
//! committed. On PostgreSQL the transaction is the tenant's own (`Db::tenant`), so row-level
//! security confines every delete to this tenant as a second guard.
//!
//! Crypto-shredding covers the live database (and, on SQLite, its free pages and write-ahead
//! log). A copy taken earlier still holds the wrapped data keys: it stays unreadable only once
//! the master key that wrapped them is retired (`keys rotate-master`, then drop the old key).
use std::collections::BTreeMap;

use migration::schema::{TENANT_TABLES, WIPE_KEEPS};
use serde_json::json;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::identity::Actor;
use crate::state::AppState;
use crate::store::audit::append_platform;
use crate::store::deletion::{
    self, DELETION_EXECUTED, DELETION_SCHEDULED, Executor, latest_request,
};
use crate::store::platform::{STATUS_DELETED, set_tenant_status};
use crate::store::{StoreError, billing, keys};
use crate::wipe::certificate::{self, DeletionCertificate, Facts, KeptBillingRecord};
use crate::wipe::{WipeError, stored_certificate};

/// Interruption points for crash tests: after the n-th table, fail (an error) or stall for ever
/// (the caller drops the future, as a killed process would). Both leave the transaction open
/// and uncommitted. `WipeHooks::default()` has none.
#[derive(Clone, Copy, Debug, Default)]
pub struct WipeHooks {
    pub fail_after_tables: Option<usize>,
    pub stall_after_tables: Option<usize>,
}

impl WipeHooks {
    async fn after_table(&self, done: usize) -> Result<(), WipeError> {
        if self.stall_after_tables == Some(done) {
            std::future::pending::<()>().await;
        }
        if self.fail_after_tables == Some(done) {
            return Err(WipeError::Interrupted);
        }
        Ok(())
    }
}

/// Tables to empty, from the live schema. Every table the schema declares as tenant data must
/// be among them: if discovery misses one, the wipe refuses rather than leave data behind.
async fn tables_to_wipe(state: &AppState) -> Result<Vec<String>, WipeError> {
    let found = state.db.tables_with_tenant_id().await?;
    if let Some(missing) = TENANT_TABLES
        .iter()
        .find(|t| !found.iter().any(|f| f == *t))
    {
        return Err(WipeError::Internal(format!(
            "tenant table {missing} has no tenant_id column in the live schema"
        )));
    }
    Ok(found
        .into_iter()
        .filter(|t| !WIPE_KEEPS.contains(&t.as_str()))
        .collect())
}

/// Runs the tenant's scheduled wipe now; an already executed one returns its certificate.
pub async fn execute(
    state: &AppState,
    tenant_id: Uuid,
    actor: &Actor,
) -> Result<DeletionCertificate, WipeError> {
    execute_with(state, tenant_id, actor, &WipeHooks::default()).await
}

pub async fn execute_with(
    state: &AppState,
    tenant_id: Uuid,
    actor: &Actor,
    hooks: &WipeHooks,
) -> Result<DeletionCertificate, WipeError> {
    let tables = tables_to_wipe(state).await?;
    let now = state.clock.now_ms();
    let tx = state.db.tenant(tenant_id).await?;
    deletion::lock_tenant(tx.conn(), tenant_id).await?;
    let req = latest_request(tx.conn(), tenant_id, true)
        .await?
        .ok_or(WipeError::NotFound)?;
    match req.status.as_str() {
        DELETION_SCHEDULED => {}
        DELETION_EXECUTED => {
            tx.rollback().await?;
            return stored_certificate(&req)?.ok_or(WipeError::Store(StoreError::Invalid(
                "executed deletion without a certificate".into(),
            )));
        }
        _ => return Err(WipeError::NotFound),
    }
    state.keys.evict(&tenant_id);
    tx.overwrite_deleted_content().await?;
    let mut rows_removed = BTreeMap::new();
    for (i, table) in tables.iter().enumerate() {
        rows_removed.insert(table.clone(), tx.delete_tenant_rows(table).await?);
        hooks.after_table(i + 1).await?;
    }
    let destroyed = keys::destroy_all(tx.conn(), tenant_id, now).await?;
    set_tenant_status(tx.conn(), tenant_id, STATUS_DELETED, now).await?;
    let kept = billing::records_of(tx.conn(), tenant_id)
        .await?
        .into_iter()
        .map(|b| KeptBillingRecord {
            id: b.id,
            invoice_number: b.invoice_number,
            retain_until: rfc3339(b.retain_until),
        })
        .collect();
    let cert = certificate::issue(
        &state.signer,
        Facts {
            tenant_id,
            request_id: req.id,
            requested_at: rfc3339(req.requested_at),
            requested_by: req.requested_by,
            requested_by_kind: req.requested_by_kind.clone(),
            executed_at: rfc3339(now),
            executed_by: actor.id,
            executed_by_kind: actor.kind.to_owned(),
            rows_removed,
            key_versions_destroyed: destroyed,
            billing_records_kept: kept,
        },
    )?;
    let text = serde_json::to_string(&cert)
        .map_err(|_| WipeError::Internal("certificate cannot be encoded".into()))?;
    let executor = Executor {
        id: actor.id,
        kind: actor.kind,
    };
    if !deletion::mark_executed(tx.conn(), tenant_id, req.id, now, &executor, &text).await? {
        return Err(WipeError::NotFound);
    }
    let rec = actor.record(
        "tenant.wiped",
        "tenant",
        tenant_id,
        json!({
            "request_id": req.id,
            "total_rows_removed": cert.total_rows_removed,
            "key_versions_destroyed": cert.key_versions_destroyed,
            "certificate_signature": cert.signature,
        }),
    );
    append_platform(tx.conn(), Some(tenant_id), &rec, now).await?;
    tx.commit().await?;
    // After the commit: a crash before this line leaves the file, which the job removes on its
    // next run (jobs::shred_deleted), never a wiped tenant whose keys were shredded but rows kept.
    if let Err(e) = state.keys.shred(tenant_id) {
        tracing::error!(%tenant_id, error = %e, "cannot delete the tenant's shred key; the next job run retries");
    }
    if let Err(e) = state.db.checkpoint().await {
        tracing::warn!(error = %e, "checkpoint after a wipe failed; it completes later");
    }
    tracing::info!(
        %tenant_id,
        request_id = %req.id,
        rows = cert.total_rows_removed,
        key_versions = cert.key_versions_destroyed.len(),
        "tenant wiped"
    );
    Ok(cert)
}

/// Outcome of one pass over due wipes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DueRun {
    pub executed: u64,
    pub failed: u64,
}

/// Runs every scheduled wipe whose time has come (at most 100 per pass). A failure is logged
/// and left scheduled for the next pass; the others still run.
pub async fn execute_due(state: &AppState, actor: &Actor) -> Result<DueRun, WipeError> {
    let now = state.clock.now_ms();
    let due = deletion::due_requests(state.db.conn(), now, 100).await?;
    let mut run = DueRun::default();
    for r in due {
        match execute(state, r.tenant_id, actor).await {
            Ok(_) => run.executed += 1,
            Err(e) => {
                run.failed += 1;
                tracing::error!(tenant_id = %r.tenant_id, error = %e, "scheduled wipe failed");
            }
        }
    }
    Ok(run)
}
