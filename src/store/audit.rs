//! Hash-chained audit events: one chain per tenant, one for the platform.
//!
//! Each event stores the hash of the previous one and its own hash over a canonical encoding of
//! its fields, so editing, removing or reordering an event breaks the chain at that point.
//! Writers of one chain are serialised (a row lock on the tenant, an advisory lock for the
//! platform), so sequence numbers never collide.
use entity::{audit_events, platform_audit_events};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::store::{Db, StoreResult, TenantTx, new_id};

/// What happened, by whom, to what: ids and codes only, never contact content.
#[derive(Clone, Debug, Default)]
pub struct AuditRecord {
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Serialize)]
struct Canonical<'a> {
    tenant_id: Option<Uuid>,
    seq: i64,
    id: Uuid,
    actor_kind: &'a str,
    actor_id: Option<Uuid>,
    action: &'a str,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    detail: &'a str,
    created_at: i64,
}

fn chain_hash(prev: &[u8], c: &Canonical<'_>) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    // serde_json of a struct is deterministic: field order is declaration order.
    h.update(serde_json::to_vec(c).unwrap_or_default());
    h.finalize().to_vec()
}

/// Result of walking a chain.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChainCheck {
    pub ok: bool,
    pub events_checked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i64>,
}

/// The state of a walk along a chain, shared by the tenant and platform checks.
struct ChainWalk {
    prev: Vec<u8>,
    expected_seq: i64,
    checked: u64,
}

impl ChainWalk {
    fn new() -> Self {
        Self {
            prev: vec![0u8; 32],
            expected_seq: 1,
            checked: 0,
        }
    }

    /// Checks the next event; `Some` with the verdict at the first break.
    fn step(&mut self, c: &Canonical<'_>, prev_hash: &[u8], hash: &[u8]) -> Option<ChainCheck> {
        if c.seq != self.expected_seq
            || prev_hash != self.prev.as_slice()
            || chain_hash(&self.prev, c) != hash
        {
            return Some(ChainCheck {
                ok: false,
                events_checked: self.checked,
                first_bad_seq: Some(self.expected_seq.min(c.seq)),
            });
        }
        self.prev = hash.to_vec();
        self.expected_seq += 1;
        self.checked += 1;
        None
    }

    fn finish(self) -> ChainCheck {
        ChainCheck {
            ok: true,
            events_checked: self.checked,
            first_bad_seq: None,
        }
    }
}

struct Link {
    seq: i64,
    prev_hash: Vec<u8>,
}

impl TenantTx {
    /// Appends to this tenant's chain; fails (and so fails the caller's transaction) if it cannot.
    pub async fn append_audit(&self, rec: &AuditRecord, now: i64) -> StoreResult<Uuid> {
        let tenant_id = self.tenant_id();
        if self.conn().get_database_backend() == DbBackend::Postgres {
            self.conn()
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT id FROM tenants WHERE id = $1 FOR UPDATE",
                    [tenant_id.into()],
                ))
                .await?;
        }
        let last = audit_events::Entity::find()
            .filter(audit_events::Column::TenantId.eq(tenant_id))
            .order_by_desc(audit_events::Column::Seq)
            .limit(1)
            .one(self.conn())
            .await?;
        let link = Link {
            seq: last.as_ref().map_or(1, |l| l.seq + 1),
            prev_hash: last.map(|l| l.hash).unwrap_or_else(|| vec![0u8; 32]),
        };
        let id = new_id();
        let detail = rec.detail.to_string();
        let hash = chain_hash(
            &link.prev_hash,
            &canonical(Some(tenant_id), link.seq, id, rec, &detail, now),
        );
        audit_events::Entity::insert(audit_events::ActiveModel {
            tenant_id: Set(tenant_id),
            seq: Set(link.seq),
            id: Set(id),
            actor_kind: Set(rec.actor_kind.clone()),
            actor_id: Set(rec.actor_id),
            action: Set(rec.action.clone()),
            target_type: Set(rec.target_type.clone()),
            target_id: Set(rec.target_id.clone()),
            ip: Set(rec.ip.clone()),
            user_agent: Set(rec.user_agent.clone()),
            detail: Set(detail),
            created_at: Set(now),
            prev_hash: Set(link.prev_hash),
            hash: Set(hash),
        })
        .exec_without_returning(self.conn())
        .await?;
        Ok(id)
    }

    /// Newest first, before sequence `before`.
    pub async fn audit_page(
        &self,
        before: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<audit_events::Model>> {
        let mut q = audit_events::Entity::find()
            .filter(audit_events::Column::TenantId.eq(self.tenant_id()))
            .order_by_desc(audit_events::Column::Seq)
            .limit(limit);
        if let Some(b) = before {
            q = q.filter(audit_events::Column::Seq.lt(b));
        }
        Ok(q.all(self.conn()).await?)
    }

    /// Audit events about one target (used by the data-subject access bundle).
    pub async fn audit_for_target(&self, target_id: &str) -> StoreResult<Vec<audit_events::Model>> {
        Ok(audit_events::Entity::find()
            .filter(audit_events::Column::TenantId.eq(self.tenant_id()))
            .filter(audit_events::Column::TargetId.eq(target_id))
            .order_by_asc(audit_events::Column::Seq)
            .all(self.conn())
            .await?)
    }

    pub async fn verify_audit(&self) -> StoreResult<ChainCheck> {
        let mut walk = ChainWalk::new();
        let mut after = 0i64;
        loop {
            let page = audit_events::Entity::find()
                .filter(audit_events::Column::TenantId.eq(self.tenant_id()))
                .filter(audit_events::Column::Seq.gt(after))
                .order_by_asc(audit_events::Column::Seq)
                .limit(1000)
                .all(self.conn())
                .await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                let rec = record_of(
                    &e.actor_kind,
                    e.actor_id,
                    &e.action,
                    &e.target_type,
                    &e.target_id,
                    &e.ip,
                    &e.user_agent,
                );
                let c = canonical(
                    Some(e.tenant_id),
                    e.seq,
                    e.id,
                    &rec,
                    &e.detail,
                    e.created_at,
                );
                if let Some(bad) = walk.step(&c, &e.prev_hash, &e.hash) {
                    return Ok(bad);
                }
            }
        }
        Ok(walk.finish())
    }
}

fn record_of(
    actor_kind: &str,
    actor_id: Option<Uuid>,
    action: &str,
    target_type: &Option<String>,
    target_id: &Option<String>,
    ip: &Option<String>,
    user_agent: &Option<String>,
) -> AuditRecord {
    AuditRecord {
        actor_kind: actor_kind.to_owned(),
        actor_id,
        action: action.to_owned(),
        target_type: target_type.clone(),
        target_id: target_id.clone(),
        ip: ip.clone(),
        user_agent: user_agent.clone(),
        detail: serde_json::Value::Null,
    }
}

fn canonical<'a>(
    tenant_id: Option<Uuid>,
    seq: i64,
    id: Uuid,
    rec: &'a AuditRecord,
    detail: &'a str,
    created_at: i64,
) -> Canonical<'a> {
    Canonical {
        tenant_id,
        seq,
        id,
        actor_kind: &rec.actor_kind,
        actor_id: rec.actor_id,
        action: &rec.action,
        target_type: rec.target_type.as_deref(),
        target_id: rec.target_id.as_deref(),
        ip: rec.ip.as_deref(),
        user_agent: rec.user_agent.as_deref(),
        detail,
        created_at,
    }
}

/// Appends to the platform chain inside the caller's platform transaction.
pub async fn append_platform(
    txn: &DatabaseTransaction,
    tenant_id: Option<Uuid>,
    rec: &AuditRecord,
    now: i64,
) -> StoreResult<Uuid> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7246158901)")
            .await?;
    }
    let last = platform_audit_events::Entity::find()
        .order_by_desc(platform_audit_events::Column::Seq)
        .limit(1)
        .one(txn)
        .await?;
    let seq = last.as_ref().map_or(1, |l| l.seq + 1);
    let prev_hash = last.map(|l| l.hash).unwrap_or_else(|| vec![0u8; 32]);
    let id = new_id();
    let detail = rec.detail.to_string();
    let hash = chain_hash(
        &prev_hash,
        &canonical(tenant_id, seq, id, rec, &detail, now),
    );
    platform_audit_events::Entity::insert(platform_audit_events::ActiveModel {
        seq: Set(seq),
        id: Set(id),
        actor_kind: Set(rec.actor_kind.clone()),
        actor_id: Set(rec.actor_id),
        action: Set(rec.action.clone()),
        target_type: Set(rec.target_type.clone()),
        target_id: Set(rec.target_id.clone()),
        tenant_id: Set(tenant_id),
        ip: Set(rec.ip.clone()),
        user_agent: Set(rec.user_agent.clone()),
        detail: Set(detail),
        created_at: Set(now),
        prev_hash: Set(prev_hash),
        hash: Set(hash),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(id)
}

impl Db {
    pub async fn verify_platform_audit(&self) -> StoreResult<ChainCheck> {
        let mut walk = ChainWalk::new();
        let mut after = 0i64;
        loop {
            let page = platform_audit_events::Entity::find()
                .filter(platform_audit_events::Column::Seq.gt(after))
                .order_by_asc(platform_audit_events::Column::Seq)
                .limit(1000)
                .all(self.conn())
                .await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                let rec = record_of(
                    &e.actor_kind,
                    e.actor_id,
                    &e.action,
                    &e.target_type,
                    &e.target_id,
                    &e.ip,
                    &e.user_agent,
                );
                let c = canonical(e.tenant_id, e.seq, e.id, &rec, &e.detail, e.created_at);
                if let Some(bad) = walk.step(&c, &e.prev_hash, &e.hash) {
                    return Ok(bad);
                }
            }
        }
        Ok(walk.finish())
    }
}
