//! Bounded in-memory cache of unwrapped tenant keys, so hot tenants skip
//! the database read and master-key unwrap on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use crate::crypto::TenantKeys;

struct Inner {
    entries: HashMap<Uuid, (Arc<TenantKeys>, u64)>,
    clock: u64,
}

/// Least-recently-used eviction. A capacity of 0 caches nothing.
pub struct KeyCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl KeyCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                clock: 0,
            }),
        }
    }

    /// A panic elsewhere while holding the lock leaves the map consistent
    /// (every mutation is a single insert or remove), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, tenant_id: &Uuid) -> Option<Arc<TenantKeys>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(tenant_id)?;
        entry.1 = now;
        Some(Arc::clone(&entry.0))
    }

    pub fn insert(&self, keys: Arc<TenantKeys>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let id = keys.tenant_id();
        if !inner.entries.contains_key(&id) && inner.entries.len() >= self.capacity {
            // Linear scan is fine: the cache holds at most a few thousand tenants.
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(id, (keys, now));
    }

    /// Must be called when a tenant's keys are rotated or wiped, so stale
    /// keys are not served.
    pub fn evict(&self, tenant_id: &Uuid) {
        self.lock().entries.remove(tenant_id);
    }

    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    fn tk() -> Arc<TenantKeys> {
        let v = vec![(1, DataKey::from_bytes([1; 32]))];
        Arc::new(TenantKeys::new(Uuid::new_v4(), v, 1).unwrap())
    }

    #[test]
    fn bound_is_respected_and_lru_is_evicted() {
        let cache = KeyCache::new(2);
        let (a, b, c) = (tk(), tk(), tk());
        cache.insert(a.clone());
        cache.insert(b.clone());
        assert!(cache.get(&a.tenant_id()).is_some()); // b is now least recent
        cache.insert(c.clone());
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&b.tenant_id()).is_none());
        assert!(Arc::ptr_eq(&cache.get(&a.tenant_id()).unwrap(), &a));
        assert!(cache.get(&c.tenant_id()).is_some());
        for _ in 0..10 {
            cache.insert(tk());
            assert!(cache.len() <= 2);
        }
        // Re-inserting a present tenant replaces it without evicting others.
        let d = tk();
        cache.insert(d.clone());
        let e = tk();
        cache.insert(e.clone());
        cache.insert(d.clone());
        assert!(cache.get(&d.tenant_id()).is_some() && cache.get(&e.tenant_id()).is_some());
    }

    #[test]
    fn evict_and_clear() {
        let cache = KeyCache::new(8);
        let (a, b) = (tk(), tk());
        cache.insert(a.clone());
        cache.insert(b.clone());
        cache.evict(&a.tenant_id());
        assert!(cache.get(&a.tenant_id()).is_none());
        assert!(cache.get(&b.tenant_id()).is_some());
        cache.clear();
        assert!(cache.is_empty());
        let none = KeyCache::new(0);
        none.insert(a);
        assert!(none.is_empty());
    }

    #[test]
    fn poisoned_lock_is_recovered() {
        let cache = Arc::new(KeyCache::new(2));
        let a = tk();
        cache.insert(a.clone());
        let c2 = Arc::clone(&cache);
        let _ = std::thread::spawn(move || {
            let _guard = c2.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(cache.inner.is_poisoned());
        assert!(cache.get(&a.tenant_id()).is_some());
        cache.evict(&a.tenant_id());
        assert!(cache.is_empty());
    }
}
