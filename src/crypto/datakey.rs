//! The per-tenant data-encryption key and how it is held in memory.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroize;

use crate::crypto::CryptoError;

/// A 256-bit tenant data-encryption key. Lives on the heap so moves do not
/// leave copies behind, and is wiped on drop. Deliberately not `Clone`.
pub struct DataKey(SecretBox<[u8; 32]>);

impl DataKey {
    pub fn generate() -> Result<Self, CryptoError> {
        let mut failed = false;
        let key = SecretBox::init_with_mut(|k: &mut [u8; 32]| {
            failed = getrandom::fill(k).is_err();
        });
        if failed {
            return Err(CryptoError::Random);
        }
        Ok(Self(key))
    }

    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = Self(SecretBox::new(Box::new(bytes)));
        bytes.zeroize();
        key
    }

    /// Copies straight into the heap allocation, so no stack copy of the
    /// key outlives the call.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 32 {
            return None;
        }
        Some(Self(SecretBox::init_with_mut(|k: &mut [u8; 32]| {
            k.copy_from_slice(bytes)
        })))
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_random() {
        let a = DataKey::generate().unwrap();
        let b = DataKey::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.expose(), &[0u8; 32]);
    }

    #[test]
    fn from_bytes_and_slice_keep_the_bytes() {
        assert_eq!(DataKey::from_bytes([5u8; 32]).expose(), &[5u8; 32]);
        assert_eq!(
            DataKey::from_slice(&[6u8; 32]).unwrap().expose(),
            &[6u8; 32]
        );
        assert!(DataKey::from_slice(&[6u8; 31]).is_none());
    }

    #[test]
    fn debug_is_redacted() {
        let s = format!("{:?}", DataKey::from_bytes([0xAB; 32]));
        assert_eq!(s, "DataKey([REDACTED])");
    }
}
