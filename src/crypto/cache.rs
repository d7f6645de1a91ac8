//! Bounded in-memory cache of unwrapped tenant keys, so hot tenants skip
//! the database read and master-key unwrap on every request. Entries carry the time they were
//! loaded, so a reader can refuse entries older than it accepts (key versions added or destroyed
//! by another instance are seen once the entry ages out).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use crate::crypto::TenantKeys;

struct Entry {
    keys: Arc<TenantKeys>,
    /// Use counter value at the last use (for LRU eviction).
    used: u64,
    /// When the keys were read from the database (ms since the epoch).
    loaded_at_ms: i64,
}

struct Inner {
    entries: HashMap<Uuid, Entry>,
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

    /// The tenant's keys if they were loaded at or after `fresh_since_ms`; an older entry is
    /// dropped.
    pub fn get(&self, tenant_id: &Uuid, fresh_since_ms: i64) -> Option<Arc<TenantKeys>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(tenant_id)?;
        if entry.loaded_at_ms < fresh_since_ms {
            inner.entries.remove(tenant_id);
            return None;
        }
        entry.used = now;
        Some(Arc::clone(&entry.keys))
    }

    /// Caches keys read from the database at `loaded_at_ms`.
    pub fn insert(&self, keys: Arc<TenantKeys>, loaded_at_ms: i64) {
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
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(
            id,
            Entry {
                keys,
                used: now,
                loaded_at_ms,
            },
        );
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
        cache.insert(a.clone(), 0);
        cache.insert(b.clone(), 0);
        assert!(cache.get(&a.tenant_id(), 0).is_some()); // b is now least recent
        cache.insert(c.clone(), 0);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&b.tenant_id(), 0).is_none());
        assert!(Arc::ptr_eq(&cache.get(&a.tenant_id(), 0).unwrap(), &a));
        assert!(cache.get(&c.tenant_id(), 0).is_some());
        for _ in 0..10 {
            cache.insert(tk(), 0);
            assert!(cache.len() <= 2);
        }
        // Re-inserting a present tenant replaces it without evicting others.
        let d = tk();
        cache.insert(d.clone(), 0);
        let e = tk();
        cache.insert(e.clone(), 0);
        cache.insert(d.clone(), 0);
        assert!(cache.get(&d.tenant_id(), 0).is_some() && cache.get(&e.tenant_id(), 0).is_some());
    }

    #[test]
    fn evict_and_clear() {
        let cache = KeyCache::new(8);
        let (a, b) = (tk(), tk());
        cache.insert(a.clone(), 0);
        cache.insert(b.clone(), 0);
        cache.evict(&a.tenant_id());
        assert!(cache.get(&a.tenant_id(), 0).is_none());
        assert!(cache.get(&b.tenant_id(), 0).is_some());
        cache.clear();
        assert!(cache.is_empty());
        let none = KeyCache::new(0);
        none.insert(a, 0);
        assert!(none.is_empty());
    }

    #[test]
    fn entries_older_than_the_reader_accepts_are_dropped() {
        let cache = KeyCache::new(8);
        let a = tk();
        cache.insert(a.clone(), 1_000);
        assert!(cache.get(&a.tenant_id(), 1_000).is_some());
        assert!(cache.get(&a.tenant_id(), 1_001).is_none());
        // Dropped, not only hidden: an older bound no longer finds it either.
        assert!(cache.get(&a.tenant_id(), 0).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn poisoned_lock_is_recovered() {
        let cache = Arc::new(KeyCache::new(2));
        let a = tk();
        cache.insert(a.clone(), 0);
        let c2 = Arc::clone(&cache);
        let _ = std::thread::spawn(move || {
            let _guard = c2.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(cache.inner.is_poisoned());
        assert!(cache.get(&a.tenant_id(), 0).is_some());
        cache.evict(&a.tenant_id());
        assert!(cache.is_empty());
    }
}
