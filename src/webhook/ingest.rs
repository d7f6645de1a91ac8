//! Storing a verified, parsed webhook body: each change is routed to its tenant, and everything
//! for one tenant is written in one transaction that commits before the POST is answered.
//!
//! Idempotency makes a retry safe at every step: messages are unique per wamid, statuses per
//! (wamid, status), and events and webhook consent changes carry ids derived from their content,
//! so a body that fails half-way (one tenant committed, the next not) can be delivered again.
mod other;
mod route;
mod seen;
mod tally;
mod tenant;

use uuid::Uuid;

use crate::crypto::{CryptoError, Purpose, TenantKeys};
use crate::keys::KeyService;
use crate::store::{Db, StoreError};
use crate::webhook::normalize::Batch;

use route::{Route, Router};
use tenant::TenantRun;

/// What ingestion needs from the service.
#[derive(Clone, Copy, Debug)]
pub struct IngestContext<'a> {
    pub db: &'a Db,
    pub keys: &'a KeyService,
    /// Words that, sent alone, opt a contact out (in addition to STOP and UNSUBSCRIBE).
    pub opt_out_words: &'a [String],
    pub now_ms: i64,
}

/// Counts of what one body did; the same figures feed the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub tenants: u64,
    pub messages_stored: u64,
    pub duplicate_messages: u64,
    pub duplicate_statuses: u64,
    pub statuses_applied: u64,
    pub statuses_pending: u64,
    /// Statuses recorded in the history but not applied: a regression or an unknown status.
    pub statuses_stale: u64,
    pub events_stored: u64,
    pub opt_outs: u64,
    pub dropped: u64,
}

impl IngestReport {
    fn absorb(&mut self, part: &IngestReport) {
        self.messages_stored += part.messages_stored;
        self.duplicate_messages += part.duplicate_messages;
        self.duplicate_statuses += part.duplicate_statuses;
        self.statuses_applied += part.statuses_applied;
        self.statuses_pending += part.statuses_pending;
        self.statuses_stale += part.statuses_stale;
        self.events_stored += part.events_stored;
        self.opt_outs += part.opt_outs;
        self.dropped += part.dropped;
    }
}

/// Why a body could not be stored. The caller answers 5xx so that Meta retries.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CryptoError> for IngestError {
    fn from(e: CryptoError) -> Self {
        Self::Store(StoreError::Crypto(e))
    }
}

/// Stores every change of `batch` for the tenant owning its number; changes for unknown
/// numbers or inactive tenants are dropped and counted.
pub async fn ingest(ctx: &IngestContext<'_>, batch: &Batch) -> Result<IngestReport, IngestError> {
    let mut router = Router::new(ctx.db);
    let mut groups: Vec<(Uuid, Vec<usize>)> = Vec::new();
    let mut report = IngestReport::default();
    for (i, change) in batch.changes.iter().enumerate() {
        match router.route(change).await? {
            Route::Tenant(tenant_id) => match groups.iter_mut().find(|(t, _)| *t == tenant_id) {
                Some((_, list)) => list.push(i),
                None => groups.push((tenant_id, vec![i])),
            },
            Route::Drop(reason) => {
                dropped(reason);
                report.dropped += 1;
            }
        }
    }
    for (tenant_id, indexes) in groups {
        let Some(auto_assign) = router.auto_assign(tenant_id) else {
            continue;
        };
        let keys = ctx.keys.for_tenant(tenant_id).await?;
        let tx = ctx.db.tenant(tenant_id).await?;
        let mut run = TenantRun::new(ctx, &tx, &keys, auto_assign);
        for i in indexes {
            if let Some(change) = batch.changes.get(i) {
                run.change(change).await?;
            }
        }
        let tally = run.finish().await?;
        tx.commit().await?;
        tally.record_metrics();
        report.absorb(&tally.report);
        report.tenants += 1;
    }
    Ok(report)
}

/// Counts a change or item that is deliberately not stored.
pub(crate) fn dropped(reason: &'static str) {
    metrics::counter!("webhook_events_dropped_total", "reason" => reason).increment(1);
}

/// A stable id for an event that has no id of its own, derived from its content under the
/// tenant's key: a redelivery maps to the same row, and the id reveals nothing about the content.
/// The wamid index key serves as the PRF; the prefix keeps these inputs apart from real wamids.
pub(crate) fn content_id(keys: &TenantKeys, parts: &[&str]) -> Result<Uuid, CryptoError> {
    let mut input = String::from("wavault-event-id-v1");
    for part in parts {
        input.push('\u{1f}');
        input.push_str(part);
    }
    let mac = keys.blind_index(Purpose::Wamid, &input)?;
    let mut bytes = [0u8; 16];
    for (b, m) in bytes.iter_mut().zip(mac.iter()) {
        *b = *m;
    }
    Ok(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}
