//! Sealing individual entity fields under a tenant's versioned data keys.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::Aes256Gcm;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::blind::IndexKeys;
use crate::crypto::gcm::{self, NONCE_LEN, TAG_LEN};
use crate::crypto::{CryptoError, DataKey, Place};

const FORMAT_V1: u8 = 1;
const HEADER_LEN: usize = 1 + 4;

/// All data keys of one tenant, by version. Sealing always uses the active
/// version; opening uses whichever version the value records.
pub struct TenantKeys {
    tenant_id: Uuid,
    active_version: i32,
    keys: BTreeMap<i32, DataKey>,
    // Built once so each seal or open skips the AES key schedule.
    ciphers: BTreeMap<i32, Aes256Gcm>,
    pub(crate) index_keys: BTreeMap<i32, IndexKeys>,
}

impl TenantKeys {
    pub fn new(
        tenant_id: Uuid,
        versions: Vec<(i32, DataKey)>,
        active_version: i32,
    ) -> Result<Self, CryptoError> {
        let mut keys = BTreeMap::new();
        let mut ciphers = BTreeMap::new();
        let mut index_keys = BTreeMap::new();
        for (version, dek) in versions {
            if version < 0 {
                return Err(CryptoError::InvalidInput(
                    "key versions must be non-negative",
                ));
            }
            ciphers.insert(version, gcm::cipher(dek.expose())?);
            index_keys.insert(version, IndexKeys::derive(tenant_id, &dek)?);
            if keys.insert(version, dek).is_some() {
                return Err(CryptoError::InvalidInput("duplicate key version"));
            }
        }
        if !keys.contains_key(&active_version) {
            return Err(CryptoError::UnknownKeyVersion(active_version));
        }
        Ok(Self {
            tenant_id,
            active_version,
            keys,
            ciphers,
            index_keys,
        })
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    pub fn active_version(&self) -> i32 {
        self.active_version
    }

    /// Held versions, ascending.
    pub fn versions(&self) -> Vec<i32> {
        self.keys.keys().copied().collect()
    }

    pub fn seal(&self, place: &Place, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal_with_version(self.active_version, place, plaintext)
    }

    pub fn seal_with_version(
        &self,
        version: i32,
        place: &Place,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let cipher = self
            .ciphers
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let encoded =
            u32::try_from(version).map_err(|_| CryptoError::UnknownKeyVersion(version))?;
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(FORMAT_V1);
        out.extend_from_slice(&encoded.to_be_bytes());
        gcm::seal_into(cipher, &place.aad(self.tenant_id)?, plaintext, &mut out)?;
        Ok(out)
    }

    pub fn open(&self, place: &Place, stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let version = Self::stored_version(stored)?;
        let cipher = self
            .ciphers
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let plain = gcm::open(
            cipher,
            &place.aad(self.tenant_id)?,
            stored.get(HEADER_LEN..).ok_or(CryptoError::Format)?,
            CryptoError::Decrypt,
        )?;
        Ok(Zeroizing::new(plain))
    }

    /// Reads the key version from a stored value's header without
    /// decrypting, so rotation can find values still on an old version.
    pub fn stored_version(stored: &[u8]) -> Result<i32, CryptoError> {
        if stored.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || stored.first() != Some(&FORMAT_V1) {
            return Err(CryptoError::Format);
        }
        let mut be = [0u8; 4];
        be.copy_from_slice(stored.get(1..HEADER_LEN).ok_or(CryptoError::Format)?);
        i32::try_from(u32::from_be_bytes(be)).map_err(|_| CryptoError::Format)
    }
}

impl fmt::Debug for TenantKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantKeys")
            .field("tenant_id", &self.tenant_id)
            .field("active_version", &self.active_version)
            .field("versions", &self.versions())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn keys(tenant: Uuid, versions: &[i32], active: i32) -> TenantKeys {
        let v = versions
            .iter()
            .map(|&n| (n, DataKey::generate().unwrap()))
            .collect();
        TenantKeys::new(tenant, v, active).unwrap()
    }

    #[test]
    fn bytes_round_trip_and_layout() {
        let k = keys(Uuid::new_v4(), &[3], 3);
        let place = Place::new("messages", "body", Uuid::new_v4());
        let sealed = k.seal(&place, b"\x00\xffbinary").unwrap();
        assert_eq!(sealed.len(), HEADER_LEN + NONCE_LEN + 8 + TAG_LEN);
        assert_eq!(&sealed[..HEADER_LEN], &[1, 0, 0, 0, 3]);
        assert_eq!(TenantKeys::stored_version(&sealed).unwrap(), 3);
        assert_eq!(
            k.open(&place, &sealed).unwrap().as_slice(),
            b"\x00\xffbinary"
        );
        assert_ne!(k.seal(&place, b"x").unwrap(), k.seal(&place, b"x").unwrap());
    }

    #[test]
    fn flipping_any_byte_fails() {
        let k = keys(Uuid::new_v4(), &[1], 1);
        let place = Place::new("contacts", "name", Uuid::new_v4());
        let sealed = k.seal(&place, b"Alice").unwrap();
        for i in 0..sealed.len() {
            for bit in [0x01, 0x80] {
                let mut t = sealed.clone();
                t[i] ^= bit;
                assert!(k.open(&place, &t).is_err(), "byte {i} bit {bit:#x}");
            }
        }
        assert!(matches!(
            k.open(&place, &sealed[..sealed.len() - 1]),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            k.open(&place, &sealed[..20]),
            Err(CryptoError::Format)
        ));
    }

    #[test]
    fn moved_values_do_not_open() {
        let tenant = Uuid::new_v4();
        let dek = [9u8; 32];
        let k = TenantKeys::new(tenant, vec![(1, DataKey::from_bytes(dek))], 1).unwrap();
        let row = Uuid::new_v4();
        let place = Place::new("contacts", "name", row);
        let sealed = k.seal(&place, b"Alice").unwrap();
        for other in [
            Place::new("contacts", "name", Uuid::new_v4()),
            Place::new("contacts", "notes", row),
            Place::new("groups", "name", row),
            Place::new("contactsn", "ame", row),
        ] {
            assert!(
                matches!(k.open(&other, &sealed), Err(CryptoError::Decrypt)),
                "{other:?}"
            );
        }
        // Same key bytes under another tenant id still must not open it.
        let same_dek =
            TenantKeys::new(Uuid::new_v4(), vec![(1, DataKey::from_bytes(dek))], 1).unwrap();
        assert!(matches!(
            same_dek.open(&place, &sealed),
            Err(CryptoError::Decrypt)
        ));
        let other_tenant = keys(Uuid::new_v4(), &[1], 1);
        assert!(matches!(
            other_tenant.open(&place, &sealed),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn nonces_are_not_reused_across_a_million_seals() {
        let k = keys(Uuid::new_v4(), &[1], 1);
        let place = Place::new("t", "c", Uuid::nil());
        // Two threads sealing concurrently with one key, as request handlers do.
        let batches: Vec<Vec<[u8; NONCE_LEN]>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        (0..500_000)
                            .map(|_| {
                                let v = k.seal(&place, b"").unwrap();
                                v[HEADER_LEN..HEADER_LEN + NONCE_LEN].try_into().unwrap()
                            })
                            .collect()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut seen = HashSet::with_capacity(1_000_000);
        for nonce in batches.into_iter().flatten() {
            assert!(seen.insert(nonce), "nonce reused");
        }
        assert_eq!(seen.len(), 1_000_000);
    }
}
