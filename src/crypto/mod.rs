//! Field-level encryption, key management, blind indexes and signatures for wavault.
//!
//! Key hierarchy: master key-encryption keys (from configuration) wrap one
//! data key per tenant and version; data keys seal individual fields and
//! derive the tenant's blind-index keys.

mod blind;
mod cache;
mod datakey;
mod error;
mod field;
mod gcm;
mod keyring;
mod keyspec;
mod place;
mod rotate;
mod sign;
mod typed;

pub use blind::{Purpose, normalize_phone};
pub use cache::KeyCache;
pub use datakey::DataKey;
pub use error::CryptoError;
pub use field::TenantKeys;
pub use keyring::{MasterKeyRing, WrappedKey};
pub use place::Place;
pub use sign::{CertSigner, verify_signature};

/// Bytes from the operating system CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| CryptoError::Random)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_types_are_thread_safe() {
        // Key material is shared across request handlers via Arc.
        fn send_sync<T: Send + Sync>() {}
        send_sync::<TenantKeys>();
        send_sync::<KeyCache>();
        send_sync::<MasterKeyRing>();
        send_sync::<CertSigner>();
        send_sync::<DataKey>();
    }

    #[test]
    fn random_bytes_differ_between_calls() {
        let a = random_bytes::<32>().unwrap();
        let b = random_bytes::<32>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
