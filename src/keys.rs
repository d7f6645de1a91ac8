//! Tenant data keys at run time: load, unwrap, cache, create, rotate and destroy.
use std::sync::Arc;

use uuid::Uuid;

use crate::clock::SharedClock;
use crate::crypto::{DataKey, KeyCache, MasterKeyRing, TenantKeys, WrappedKey};
use crate::shred::ShredStore;
use crate::store::{Db, StoreError, StoreResult, keys as key_rows};

#[derive(Clone)]
pub struct KeyService {
    ring: Arc<MasterKeyRing>,
    shred: Arc<ShredStore>,
    cache: Arc<KeyCache>,
    /// How long cached keys are used before they are read again.
    max_age_ms: i64,
    db: Db,
    clock: SharedClock,
}

/// Default of [`KeyService::with_max_age`] (`crypto.key_cache_ttl_secs`).
pub const DEFAULT_KEY_CACHE_TTL_SECS: u64 = 60;

impl std::fmt::Debug for KeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyService")
            .field("ring", &self.ring)
            .finish_non_exhaustive()
    }
}

impl KeyService {
    pub fn new(
        ring: MasterKeyRing,
        shred: ShredStore,
        capacity: usize,
        db: Db,
        clock: SharedClock,
    ) -> Self {
        Self {
            ring: Arc::new(ring),
            shred: Arc::new(shred),
            cache: Arc::new(KeyCache::new(capacity.max(1))),
            max_age_ms: secs_to_ms(DEFAULT_KEY_CACHE_TTL_SECS),
            db,
            clock,
        }
    }

    /// Cached keys are read again from the database once they are older than `secs`, so key
    /// versions added (rotation) or destroyed (wipe) through another instance are used here
    /// within that time.
    pub fn with_max_age(mut self, secs: u64) -> Self {
        self.max_age_ms = secs_to_ms(secs);
        self
    }

    pub fn ring(&self) -> &MasterKeyRing {
        &self.ring
    }

    /// The tenant's key versions, from the cache or unwrapped from the database.
    pub async fn for_tenant(&self, tenant_id: Uuid) -> StoreResult<Arc<TenantKeys>> {
        let now = self.clock.now_ms();
        if let Some(keys) = self
            .cache
            .get(&tenant_id, now.saturating_sub(self.max_age_ms))
        {
            return Ok(keys);
        }
        let rows = key_rows::live_versions(self.db.conn(), tenant_id).await?;
        let active = rows
            .iter()
            .map(|r| r.version)
            .max()
            .ok_or(StoreError::NotFound)?;
        let mut versions = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(blob) = row.wrapped_dek.as_deref() else {
                continue;
            };
            let inner = self.shred.open(tenant_id, blob)?;
            let dek = self.ring.unwrap(tenant_id, &row.kek_id, &inner)?;
            versions.push((row.version, dek));
        }
        let keys = Arc::new(TenantKeys::new(tenant_id, versions, active)?);
        self.cache.insert(keys.clone(), now);
        Ok(keys)
    }

    /// Keys of a tenant, or of the platform (`None`: staff TOTP secrets), created on first use
    /// for the platform.
    pub async fn for_scope(&self, tenant_id: Option<Uuid>) -> StoreResult<Arc<TenantKeys>> {
        let Some(tid) = tenant_id else {
            return match self.for_tenant(Uuid::nil()).await {
                Err(StoreError::NotFound) => {
                    // Two instances may race to create it; the loser's insert conflicts.
                    let _ = self.create_for_tenant(self.db.conn(), Uuid::nil()).await;
                    self.for_tenant(Uuid::nil()).await
                }
                other => other,
            };
        };
        self.for_tenant(tid).await
    }

    /// Creates version 1 of a new tenant's data key inside the caller's transaction.
    pub async fn create_for_tenant<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        tenant_id: Uuid,
    ) -> StoreResult<()> {
        let wrapped = self.wrap_new(tenant_id)?;
        key_rows::insert_version(conn, tenant_id, 1, &wrapped, self.clock.now_ms()).await
    }

    /// Adds a new active version for a tenant; existing values keep opening with old versions.
    pub async fn add_version(&self, tenant_id: Uuid) -> StoreResult<i32> {
        let txn = self.db.begin().await?;
        let next = key_rows::max_version(&txn, tenant_id)
            .await?
            .ok_or(StoreError::NotFound)?
            + 1;
        let wrapped = self.wrap_new(tenant_id)?;
        key_rows::insert_version(&txn, tenant_id, next, &wrapped, self.clock.now_ms()).await?;
        txn_commit(txn).await?;
        self.cache.evict(&tenant_id);
        Ok(next)
    }

    /// Rewraps every live data key under the active master key; data is not touched.
    pub async fn rotate_master(&self) -> StoreResult<usize> {
        let txn = self.db.begin().await?;
        let rows = key_rows::all_live(&txn).await?;
        let mut changed = 0;
        for row in rows {
            let Some(blob) = row.wrapped_dek.as_deref() else {
                continue;
            };
            if row.kek_id == self.ring.active_id() {
                continue;
            }
            let inner = self.shred.open(row.tenant_id, blob)?;
            let dek = self.ring.unwrap(row.tenant_id, &row.kek_id, &inner)?;
            let mut wrapped = self.ring.wrap(row.tenant_id, &dek)?;
            wrapped.blob = self.shred.seal(row.tenant_id, &wrapped.blob)?;
            key_rows::rewrap(&txn, row.tenant_id, row.version, &wrapped).await?;
            changed += 1;
        }
        txn_commit(txn).await?;
        self.cache.clear();
        Ok(changed)
    }

    /// A fresh data key, wrapped by the active master key and then by the tenant's shred key.
    fn wrap_new(&self, tenant_id: Uuid) -> StoreResult<WrappedKey> {
        let dek = DataKey::generate()?;
        let mut wrapped = self.ring.wrap(tenant_id, &dek)?;
        wrapped.blob = self.shred.seal(tenant_id, &wrapped.blob)?;
        Ok(wrapped)
    }

    /// Destroys the tenant's shred key: every wrapped key of the tenant, in the database or in
    /// any backup of it, becomes unopenable. Called after a wipe commits.
    pub fn shred(&self, tenant_id: Uuid) -> std::io::Result<bool> {
        self.cache.evict(&tenant_id);
        self.shred.destroy(tenant_id)
    }

    /// Forgets cached keys of a tenant (after a wipe or a rotation).
    pub fn evict(&self, tenant_id: &Uuid) {
        self.cache.evict(tenant_id);
    }
}

async fn txn_commit(txn: sea_orm::DatabaseTransaction) -> StoreResult<()> {
    sea_orm::TransactionSession::commit(txn).await?;
    Ok(())
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
