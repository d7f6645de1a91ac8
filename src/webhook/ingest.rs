//! Storing a verified, parsed webhook body: each change is routed to its tenant, and everything
//! for one tenant is written in one transaction that commits before the POST is answered.
//!
//! Idempotency makes a retry safe at every step: messages are unique per wamid, statuses per
//! (wamid, status), and events and webhook consent changes carry ids derived from their content,
//! so a body that fails half-way (one tenant committed, the next not) can be delivered again.
mod other;
mod queue;
mod route;
mod seen;
mod tally;
mod tenant;

use uuid::Uuid;

use crate::crypto::{CryptoError, Purpose, TenantKeys};
use crate::keys::KeyService;
use crate::store::{Db, StoreError};
use crate::webhook::normalize::{Batch, Change};

pub use queue::{IngestOptions, Ingestor};
pub use route::RouteCache;
use route::{Route, Router};
use tenant::TenantRun;

/// What ingestion needs from the service.
#[derive(Clone, Copy, Debug)]
pub struct IngestContext<'a> {
    pub db: &'a Db,
    /// Number and tenant routing, shared across groups.
    pub routes: &'a RouteCache,
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

/// Stores every change of each body for the tenant owning its number; changes for unknown
/// numbers or inactive tenants are dropped and counted. All bodies' changes for one tenant go in
/// one transaction; if it fails, each body is tried again alone, so one body that cannot be
/// stored fails only itself. Returns one result per body: `Ok` once all of it is committed.
pub async fn ingest_many(
    ctx: &IngestContext<'_>,
    batches: &[&Batch],
) -> Vec<Result<IngestReport, IngestError>> {
    let mut router = Router::new(ctx.db, ctx.routes);
    let mut results: Vec<Result<IngestReport, IngestError>> = batches
        .iter()
        .map(|_| Ok(IngestReport::default()))
        .collect();
    // Per tenant: (body, change) in arrival order.
    let mut groups: Vec<(Uuid, Vec<(usize, usize)>)> = Vec::new();
    for (j, batch) in batches.iter().enumerate() {
        match route_body(&mut router, batch).await {
            Ok((routes, dropped)) => {
                if let Some(Ok(r)) = results.get_mut(j) {
                    r.dropped += dropped;
                }
                for (tenant_id, i) in routes {
                    match groups.iter_mut().find(|(t, _)| *t == tenant_id) {
                        Some((_, list)) => list.push((j, i)),
                        None => groups.push((tenant_id, vec![(j, i)])),
                    }
                }
            }
            Err(e) => set_err(&mut results, j, e),
        }
    }
    for (tenant_id, items) in groups {
        let Some(auto_assign) = router.auto_assign(tenant_id) else {
            continue;
        };
        let mut bodies: Vec<usize> = items.iter().map(|(j, _)| *j).collect();
        bodies.dedup();
        match store_tenant(ctx, tenant_id, auto_assign, batches, &items).await {
            Ok(report) => {
                for j in &bodies {
                    if let Some(Ok(r)) = results.get_mut(*j) {
                        r.tenants += 1;
                    }
                }
                if let Some(j) = bodies.first()
                    && let Some(Ok(r)) = results.get_mut(*j)
                {
                    r.absorb(&report);
                }
            }
            Err(e) if bodies.len() == 1 => {
                if let Some(j) = bodies.first() {
                    set_err(&mut results, *j, e);
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, bodies = bodies.len(), "grouped webhook bodies failed; storing each alone");
                metrics::counter!("webhook_group_retries_total").increment(1);
                for j in bodies {
                    if results.get(j).is_some_and(Result::is_err) {
                        continue;
                    }
                    let own: Vec<(usize, usize)> =
                        items.iter().filter(|(b, _)| *b == j).copied().collect();
                    match store_tenant(ctx, tenant_id, auto_assign, batches, &own).await {
                        Ok(report) => {
                            if let Some(Ok(r)) = results.get_mut(j) {
                                r.tenants += 1;
                                r.absorb(&report);
                            }
                        }
                        Err(e) => set_err(&mut results, j, e),
                    }
                }
            }
        }
    }
    results
}

/// Stores one body; see [`ingest_many`].
pub async fn ingest(ctx: &IngestContext<'_>, batch: &Batch) -> Result<IngestReport, IngestError> {
    ingest_many(ctx, &[batch])
        .await
        .pop()
        .unwrap_or_else(|| Ok(IngestReport::default()))
}

fn set_err(results: &mut [Result<IngestReport, IngestError>], j: usize, e: IngestError) {
    if let Some(slot) = results.get_mut(j) {
        *slot = Err(e);
    }
}

/// The tenant of each routable change of `batch` (by index), and how many were dropped.
async fn route_body(
    router: &mut Router<'_>,
    batch: &Batch,
) -> Result<(Vec<(Uuid, usize)>, u64), IngestError> {
    let mut routes = Vec::new();
    let mut drops = 0;
    for (i, change) in batch.changes.iter().enumerate() {
        match router.route(change).await? {
            Route::Tenant(tenant_id) => routes.push((tenant_id, i)),
            Route::Drop(reason) => {
                dropped(reason);
                drops += 1;
            }
        }
    }
    Ok((routes, drops))
}

/// Writes the listed changes for one tenant in one transaction.
async fn store_tenant(
    ctx: &IngestContext<'_>,
    tenant_id: Uuid,
    auto_assign: bool,
    batches: &[&Batch],
    items: &[(usize, usize)],
) -> Result<IngestReport, IngestError> {
    let keys = ctx.keys.for_tenant(tenant_id).await?;
    let tx = ctx.db.tenant_by_keys(tenant_id).await?;
    let changes: Vec<&Change> = items
        .iter()
        .filter_map(|(j, i)| batches.get(*j).and_then(|b| b.changes.get(*i)))
        .collect();
    let mut run = TenantRun::new(ctx, &tx, &keys, auto_assign);
    run.read_ahead(&changes).await?;
    for change in changes {
        run.change(change).await?;
    }
    let tally = run.finish().await?;
    tx.commit().await?;
    tally.record_metrics();
    Ok(tally.report)
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
