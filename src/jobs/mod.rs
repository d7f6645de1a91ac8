//! Background jobs: due tenant wipes, message retention, billing-record retention, pending
//! delivery statuses whose message has been stored since, and expired failed sign-in counts.
//!
//! [`run_due`] runs them once under a database lock, so however many instances call it only one
//! works at a time (`wavault jobs run-due`); [`spawn_loop`] calls it on an interval inside
//! `serve`. Every step is transactional, so a run stopped anywhere (shutdown, crash) leaves
//! nothing half done and the next run carries on.
pub mod retention;

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use uuid::Uuid;

use crate::identity::Actor;
use crate::state::AppState;
use crate::store::platform::STATUS_DELETED;
use crate::wipe::{self, WipeError};

/// Name of the single-runner lock.
pub const LOCK_NAME: &str = "wavault.jobs";
/// SQLite lock expiry: a runner that died releases its claim after this long. Overlapping runs
/// stay correct (every step re-checks its rows under its own transaction), only wasteful.
const LOCK_TTL_MS: i64 = 15 * 60 * 1000;

/// What one run did: counts only, no tenant data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    /// False when another runner held the lock and this one did nothing.
    pub ran: bool,
    pub wipes_executed: u64,
    pub wipes_failed: u64,
    pub retention_tenants: u64,
    pub messages_purged: u64,
    pub status_events_purged: u64,
    pub billing_records_purged: u64,
    /// Pending delivery statuses applied to their message (see [`reconcile_statuses`]).
    pub statuses_reconciled: u64,
    /// Failed sign-in counts whose window had ended.
    pub login_failures_purged: u64,
}

/// The actor jobs act as in audit records and certificates.
pub fn job_actor() -> Actor {
    Actor {
        kind: "job",
        id: None,
        ip: None,
        user_agent: None,
    }
}

/// Runs every due job once, unless another runner holds the lock.
pub async fn run_due(state: &AppState) -> Result<JobReport, WipeError> {
    let holder = Uuid::new_v4().to_string();
    let now = state.clock.now_ms();
    let Some(lock) = state
        .db
        .try_job_lock(LOCK_NAME, &holder, now, LOCK_TTL_MS)
        .await?
    else {
        tracing::debug!("jobs skipped: another runner holds the lock");
        return Ok(JobReport::default());
    };
    let result = run_locked(state).await;
    if let Err(e) = state.db.release_job_lock(lock).await {
        tracing::warn!(error = %e, "cannot release the job lock; it expires on its own");
    }
    result
}

async fn run_locked(state: &AppState) -> Result<JobReport, WipeError> {
    let actor = job_actor();
    let wipes = wipe::execute_due(state, &actor).await?;
    shred_deleted(state).await?;
    let messages = retention::purge_messages(state, &actor).await?;
    let billing = retention::purge_billing(state, &actor).await?;
    let statuses_reconciled = reconcile_statuses(state).await?;
    let login_failures_purged = state.throttle.purge(state.clock.now_ms()).await?;
    let report = JobReport {
        ran: true,
        wipes_executed: wipes.executed,
        wipes_failed: wipes.failed,
        retention_tenants: messages.tenants,
        messages_purged: messages.messages,
        status_events_purged: messages.status_events,
        billing_records_purged: billing,
        statuses_reconciled,
        login_failures_purged,
    };
    tracing::info!(
        wipes_executed = report.wipes_executed,
        wipes_failed = report.wipes_failed,
        messages_purged = report.messages_purged,
        status_events_purged = report.status_events_purged,
        billing_records_purged = report.billing_records_purged,
        statuses_reconciled = report.statuses_reconciled,
        login_failures_purged = report.login_failures_purged,
        "jobs ran"
    );
    Ok(report)
}

/// The in-process job loop of `serve`.
pub struct JobLoop {
    stop: watch::Sender<bool>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the loop: a first run one interval after start, then every `job_interval_secs`
/// (0 turns the loop off, for deployments that schedule `wavault jobs run-due` instead).
pub fn spawn_loop(state: AppState) -> JobLoop {
    let (stop, mut stopped) = watch::channel(false);
    let secs = state.settings.retention.job_interval_secs;
    if secs == 0 {
        return JobLoop { stop, handle: None };
    }
    let period = Duration::from_secs(secs);
    let handle = tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(Instant::now() + period, period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => break,
            }
            // Shutdown may interrupt a run: its open transaction rolls back, nothing is lost.
            tokio::select! {
                result = run_due(&state) => {
                    if let Err(e) = result {
                        tracing::error!(error = %e, "job run failed");
                    }
                }
                _ = stopped.changed() => break,
            }
        }
    });
    JobLoop {
        stop,
        handle: Some(handle),
    }
}

impl JobLoop {
    /// Stops the loop and waits for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(handle) = self.handle {
            let _ = handle.await;
        }
    }
}

/// Deletes the shred key of every wiped tenant; catches a wipe that committed but crashed before
/// removing the file.
async fn shred_deleted(state: &AppState) -> Result<(), WipeError> {
    for id in tenant_ids(state, |status| status == STATUS_DELETED).await? {
        if let Err(e) = state.keys.shred(id) {
            tracing::error!(tenant_id = %id, error = %e, "cannot delete a wiped tenant's shred key");
        }
    }
    Ok(())
}

/// Ids of every tenant whose status passes `keep`, read a page at a time.
async fn tenant_ids(
    state: &AppState,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Uuid>, crate::store::StoreError> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = state.db.list_tenants(after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        ids.extend(page.iter().filter(|t| keep(&t.status)).map(|t| t.id));
    }
    Ok(ids)
}

/// Pending statuses reconciled per tenant transaction.
const RECONCILE_BATCH: u64 = 500;

/// Applies, tenant by tenant, the delivery statuses still waiting for a message that has been
/// stored since. On PostgreSQL a status and its message committed at the same moment by two
/// transactions can each miss the other; this run closes that gap. Each batch is its own
/// transaction; a tenant that fails is logged and the others go on.
pub async fn reconcile_statuses(state: &AppState) -> Result<u64, WipeError> {
    let now = state.clock.now_ms();
    let mut total = 0;
    for id in tenant_ids(state, |status| status != STATUS_DELETED).await? {
        match reconcile_tenant(state, id, RECONCILE_BATCH, now).await {
            Ok(n) => total += n,
            Err(e) => {
                tracing::warn!(tenant_id = %id, error = %e, "pending statuses not reconciled");
            }
        }
    }
    if total > 0 {
        tracing::info!(statuses = total, "pending delivery statuses applied");
    }
    Ok(total)
}

/// Links and applies one tenant's pending statuses, `batch` wamids per transaction, until none
/// are left; returns how many changed a message. The tenant's keys are read only when there is
/// something to apply.
pub async fn reconcile_tenant(
    state: &AppState,
    tenant_id: Uuid,
    batch: u64,
    now: i64,
) -> Result<u64, crate::store::StoreError> {
    let mut keys = None;
    let mut total = 0;
    loop {
        let tx = state.db.tenant(tenant_id).await?;
        let wamids = tx.linkable_pending_wamids(batch).await?;
        if wamids.is_empty() {
            tx.rollback().await?;
            return Ok(total);
        }
        let keys = match &keys {
            Some(k) => k,
            None => keys.insert(state.keys.for_tenant(tenant_id).await?),
        };
        let applied = tx.link_pending_statuses(keys, &wamids, now).await?;
        tx.commit().await?;
        total += applied as u64;
        if (wamids.len() as u64) < batch {
            return Ok(total);
        }
    }
}
