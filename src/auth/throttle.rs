//! Failed sign-in throttling per account and per client IP.
//!
//! Counts live in memory on each instance: behind a load balancer with N instances an attacker
//! gets at most N times the budget, which still caps online guessing; the lock-out answer is 429
//! with `Retry-After`.
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
pub struct LoginThrottle {
    max_failures: u32,
    window_ms: i64,
    entries: Mutex<HashMap<String, (u32, i64)>>,
}

const MAX_ENTRIES: usize = 100_000;

impl LoginThrottle {
    pub fn new(max_failures: u32, window_secs: i64) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window_ms: window_secs.max(1) * 1000,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, i64)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Seconds to wait if any of `keys` is locked out at `now_ms`.
    pub fn retry_after(&self, keys: &[String], now_ms: i64) -> Option<u64> {
        let map = self.lock();
        keys.iter()
            .filter_map(|k| map.get(k))
            .filter(|(count, start)| *count >= self.max_failures && now_ms - start < self.window_ms)
            .map(|(_, start)| ((start + self.window_ms - now_ms) / 1000).max(1) as u64)
            .max()
    }

    pub fn record_failure(&self, keys: &[String], now_ms: i64) {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            let window = self.window_ms;
            map.retain(|_, (_, start)| now_ms - *start < window);
        }
        for k in keys {
            let e = map.entry(k.clone()).or_insert((0, now_ms));
            if now_ms - e.1 >= self.window_ms {
                *e = (0, now_ms);
            }
            e.0 += 1;
        }
    }

    /// A successful sign-in clears the account's counter (not the IP's).
    pub fn record_success(&self, account_key: &str) {
        self.lock().remove(account_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_expires() {
        let t = LoginThrottle::new(3, 60);
        let keys = vec!["acct:a".to_owned(), "ip:1".to_owned()];
        for _ in 0..2 {
            t.record_failure(&keys, 1_000);
        }
        assert_eq!(t.retry_after(&keys, 1_000), None);
        t.record_failure(&keys, 1_000);
        assert_eq!(t.retry_after(&keys, 1_000), Some(60));
        assert_eq!(t.retry_after(&["ip:1".to_owned()], 31_000), Some(30));
        assert_eq!(t.retry_after(&keys, 61_000), None);
        t.record_success("acct:a");
        assert_eq!(t.retry_after(&["acct:a".to_owned()], 2_000), None);
        assert!(t.retry_after(&["ip:1".to_owned()], 2_000).is_some());
    }
}
