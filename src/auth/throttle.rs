//! Failed sign-in throttling per account and per client IP, shared by every instance.
//!
//! Counts live in the database (`login_failures`), so N instances behind a load balancer enforce
//! one budget, not N. Keys are stored as HMAC-SHA256 under a key derived from the JWT secret,
//! which every instance shares: the table holds no e-mail address or IP. The lock-out answer is
//! 429 with `Retry-After`.
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::store::{Db, StoreResult};

pub struct LoginThrottle {
    db: Db,
    key: Zeroizing<[u8; 32]>,
    max_failures: i64,
    window_ms: i64,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("max_failures", &self.max_failures)
            .field("window_ms", &self.window_ms)
            .finish_non_exhaustive()
    }
}

impl LoginThrottle {
    /// `secret` is the JWT secret; the keys' HMAC key is derived from it for this purpose only.
    pub fn new(db: Db, secret: &SecretString, max_failures: u32, window_secs: i64) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        let hk = Hkdf::<Sha256>::new(None, secret.expose_secret().as_bytes());
        // 32 bytes is a valid HKDF-SHA256 output length, so this cannot fail.
        let _ = hk.expand(b"wavault login throttle v1", key.as_mut());
        Self {
            db,
            key,
            max_failures: i64::from(max_failures.max(1)),
            window_ms: window_secs.max(1).saturating_mul(1000),
        }
    }

    fn hash(&self, key: &str) -> Vec<u8> {
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_ref()) {
            Ok(m) => m,
            // HMAC takes keys of any length.
            Err(_) => return Vec::new(),
        };
        mac.update(key.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Seconds to wait if any of `keys` is locked out at `now_ms`.
    pub async fn retry_after(&self, keys: &[String], now_ms: i64) -> StoreResult<Option<u64>> {
        let hashes: Vec<Vec<u8>> = keys.iter().map(|k| self.hash(k)).collect();
        let counts = self.db.login_failures(&hashes).await?;
        Ok(counts
            .iter()
            .filter(|c| c.failures >= self.max_failures && now_ms - c.window_start < self.window_ms)
            .map(|c| ((c.window_start + self.window_ms - now_ms) / 1000).max(1) as u64)
            .max())
    }

    /// Counts a failure against each of `keys`; a key whose window has ended starts a new one.
    pub async fn record_failure(&self, keys: &[String], now_ms: i64) -> StoreResult<()> {
        let mut hashes: Vec<Vec<u8>> = keys.iter().map(|k| self.hash(k)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        self.db
            .record_login_failures(&hashes, now_ms, now_ms - self.window_ms)
            .await
    }

    /// A successful sign-in clears the account's counter (not the IP's).
    pub async fn record_success(&self, account_key: &str) -> StoreResult<()> {
        self.db.clear_login_failures(&self.hash(account_key)).await
    }

    /// Deletes counts whose window has ended (the job run); returns how many.
    pub async fn purge(&self, now_ms: i64) -> StoreResult<u64> {
        self.db.purge_login_failures(now_ms - self.window_ms).await
    }
}
