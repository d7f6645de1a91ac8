//! Retention purges: messages older than a tenant's `message_retention_days` (with their status
//! events), and billing records past `retain_until`. Each batch is its own transaction carrying
//! its audit event, so a purge can stop anywhere and the next run continues where it stopped.
use serde_json::json;

use crate::identity::Actor;
use crate::state::AppState;
use crate::store::audit::append_platform;
use crate::store::{StoreResult, billing};

/// Rows per purge transaction: large enough to be quick, small enough not to hold locks long.
pub const BATCH: u64 = 1000;
const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessagePurge {
    pub tenants: u64,
    pub messages: u64,
    pub status_events: u64,
}

/// Purges expired messages of every tenant with a retention period.
pub async fn purge_messages(state: &AppState, actor: &Actor) -> StoreResult<MessagePurge> {
    let now = state.clock.now_ms();
    let mut total = MessagePurge::default();
    for (tenant_id, days) in state.db.tenants_with_retention().await? {
        let cutoff = now.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
        let (messages, events) = purge_tenant(state, tenant_id, cutoff, actor, now).await?;
        if messages + events > 0 {
            total.tenants += 1;
            tracing::info!(%tenant_id, messages, status_events = events, "retention purge");
        }
        total.messages += messages;
        total.status_events += events;
    }
    Ok(total)
}

async fn purge_tenant(
    state: &AppState,
    tenant_id: uuid::Uuid,
    cutoff: i64,
    actor: &Actor,
    now: i64,
) -> StoreResult<(u64, u64)> {
    let (mut messages, mut events) = (0, 0);
    loop {
        let tx = state.db.tenant(tenant_id).await?;
        let ids = tx.messages_sent_before(cutoff, BATCH).await?;
        let (m, e) = tx.delete_messages(&ids).await?;
        let unmatched = if (ids.len() as u64) < BATCH {
            tx.delete_unmatched_status_events(cutoff, BATCH).await?
        } else {
            0
        };
        if m + e + unmatched == 0 {
            tx.rollback().await?;
            break;
        }
        tx.append_audit(
            &actor.record(
                "retention.purge",
                "tenant",
                tenant_id,
                json!({"cutoff": crate::clock::rfc3339(cutoff), "messages": m,
                       "status_events": e + unmatched}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        messages += m;
        events += e + unmatched;
        if (ids.len() as u64) < BATCH && unmatched < BATCH {
            break;
        }
    }
    Ok((messages, events))
}

/// Deletes billing records whose retention has ended.
pub async fn purge_billing(state: &AppState, actor: &Actor) -> StoreResult<u64> {
    let now = state.clock.now_ms();
    let mut purged = 0;
    loop {
        let txn = state.db.begin().await?;
        let ids = billing::expired_ids(&txn, now, BATCH).await?;
        let n = billing::delete_expired(&txn, &ids, now).await?;
        if n == 0 {
            txn.rollback().await?;
            break;
        }
        append_platform(
            &txn,
            None,
            &actor.record(
                "billing.purge",
                "billing_records",
                "expired",
                json!({"records": n, "ids": ids}),
            ),
            now,
        )
        .await?;
        txn.commit().await?;
        purged += n;
        if (ids.len() as u64) < BATCH {
            break;
        }
    }
    if purged > 0 {
        tracing::info!(records = purged, "billing records past retention purged");
    }
    Ok(purged)
}
