//! Master key-encryption keys and the per-tenant data keys they wrap.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::Aes256Gcm;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::gcm::{self, NONCE_LEN, TAG_LEN};
use crate::crypto::keyspec;
use crate::crypto::{CryptoError, DataKey};

const WRAP_AAD_PREFIX: &[u8] = b"wavault-dek-v1";
const WRAPPED_LEN: usize = NONCE_LEN + 32 + TAG_LEN;

/// A data key sealed under a master key; safe to store next to the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub kek_id: String,
    /// `nonce || ciphertext || tag`
    pub blob: Vec<u8>,
}

/// Every configured master key, so data keys wrapped under a retired key
/// still unwrap, while new wraps always use the active one.
pub struct MasterKeyRing {
    active: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl MasterKeyRing {
    /// `spec` is `id:base64(32 bytes)[,id:base64(32 bytes)...]`, as in
    /// WAVAULT__CRYPTO__MASTER_KEYS; `active` names the key used for new wraps.
    pub fn parse(spec: &str, active: &str) -> Result<Self, CryptoError> {
        let (keys, active) = keyspec::parse(spec, active)?;
        Ok(Self { active, keys })
    }

    pub fn active_id(&self) -> &str {
        &self.active
    }

    pub fn contains(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    /// Sorted ids of every configured master key.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.keys().map(String::as_str).collect()
    }

    pub fn wrap(&self, tenant_id: Uuid, dek: &DataKey) -> Result<WrappedKey, CryptoError> {
        let cipher = self
            .keys
            .get(&self.active)
            .ok_or_else(|| CryptoError::UnknownMasterKey(self.active.clone()))?;
        let mut blob = Vec::with_capacity(WRAPPED_LEN);
        gcm::seal_into(cipher, &wrap_aad(tenant_id), dek.expose(), &mut blob)?;
        Ok(WrappedKey {
            kek_id: self.active.clone(),
            blob,
        })
    }

    pub fn unwrap(
        &self,
        tenant_id: Uuid,
        kek_id: &str,
        blob: &[u8],
    ) -> Result<DataKey, CryptoError> {
        let cipher = self
            .keys
            .get(kek_id)
            .ok_or_else(|| CryptoError::UnknownMasterKey(kek_id.to_owned()))?;
        if blob.len() != WRAPPED_LEN {
            return Err(CryptoError::Format);
        }
        let plain = Zeroizing::new(gcm::open(
            cipher,
            &wrap_aad(tenant_id),
            blob,
            CryptoError::Unwrap,
        )?);
        DataKey::from_slice(&plain).ok_or(CryptoError::Unwrap)
    }
}

/// Binding the tenant id means a wrapped key copied to another tenant's row
/// cannot be unwrapped there.
fn wrap_aad(tenant_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_AAD_PREFIX.len() + 16);
    aad.extend_from_slice(WRAP_AAD_PREFIX);
    aad.extend_from_slice(tenant_id.as_bytes());
    aad
}

impl fmt::Debug for MasterKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKeyRing")
            .field("active", &self.active)
            .field("ids", &self.ids())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="; // 32 x 0x01
    const K2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="; // 32 x 0x02

    fn ring(active: &str) -> MasterKeyRing {
        MasterKeyRing::parse(&format!(" k1:{K1} , k2:{K2} "), active).unwrap()
    }

    #[test]
    fn parses_and_reports_ids() {
        let r = ring("k2");
        assert_eq!(r.active_id(), "k2");
        assert!(r.contains("k1") && r.contains("k2") && !r.contains("k3"));
        assert_eq!(r.ids(), vec!["k1", "k2"]);
        assert!(matches!(
            MasterKeyRing::parse(&format!("k1:{K1}"), "k2"),
            Err(CryptoError::BadMasterKeys(m)) if m.contains("WAVAULT__CRYPTO__ACTIVE_KEY")
        ));
        let dbg = format!("{r:?}");
        assert!(dbg.contains("k1") && !dbg.contains(K1) && !dbg.contains("AQEB"));
    }

    #[test]
    fn wrap_unwrap_round_trip_and_old_key_still_unwraps() {
        let tenant = Uuid::new_v4();
        let dek = DataKey::generate().unwrap();
        let w = ring("k1").wrap(tenant, &dek).unwrap();
        assert_eq!(w.kek_id, "k1");
        assert_eq!(w.blob.len(), WRAPPED_LEN);
        // After the active key moves on, the old wrap still opens.
        let back = ring("k2").unwrap(tenant, &w.kek_id, &w.blob).unwrap();
        assert_eq!(back.expose(), dek.expose());
        assert_eq!(ring("k2").wrap(tenant, &dek).unwrap().kek_id, "k2");
    }

    #[test]
    fn unwrap_fails_with_wrong_key_tenant_or_tampering() {
        let tenant = Uuid::new_v4();
        let r = ring("k1");
        let w = r.wrap(tenant, &DataKey::generate().unwrap()).unwrap();
        assert!(matches!(
            r.unwrap(tenant, "k2", &w.blob),
            Err(CryptoError::Unwrap)
        ));
        assert!(matches!(
            r.unwrap(Uuid::new_v4(), "k1", &w.blob),
            Err(CryptoError::Unwrap)
        ));
        assert!(matches!(
            r.unwrap(tenant, "k3", &w.blob),
            Err(CryptoError::UnknownMasterKey(id)) if id == "k3"
        ));
        assert!(matches!(
            r.unwrap(tenant, "k1", &w.blob[1..]),
            Err(CryptoError::Format)
        ));
        for i in 0..w.blob.len() {
            let mut b = w.blob.clone();
            b[i] ^= 0x01;
            assert!(r.unwrap(tenant, "k1", &b).is_err(), "byte {i}");
        }
    }
}
