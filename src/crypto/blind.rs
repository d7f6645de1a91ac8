//! Blind indexes: keyed hashes that let exact-match lookups run on
//! encrypted columns without revealing the values.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{CryptoError, DataKey, TenantKeys};

const PURPOSES: [Purpose; 3] = [Purpose::Phone, Purpose::UserId, Purpose::Wamid];

/// What a blind index is for. Each purpose has its own key, so equal
/// strings in different columns cannot be correlated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Phone,
    UserId,
    Wamid,
}

impl Purpose {
    /// HKDF info label; changing one orphans every stored index for it.
    pub fn label(self) -> &'static str {
        match self {
            Purpose::Phone => "wavault-bidx-phone-v1",
            Purpose::UserId => "wavault-bidx-userid-v1",
            Purpose::Wamid => "wavault-bidx-wamid-v1",
        }
    }

    fn slot(self) -> usize {
        match self {
            Purpose::Phone => 0,
            Purpose::UserId => 1,
            Purpose::Wamid => 2,
        }
    }

    fn normalize(self, value: &str) -> Result<String, CryptoError> {
        match self {
            Purpose::Phone => normalize_phone(value),
            Purpose::UserId => {
                let v = value.trim();
                if v.is_empty() || v.chars().count() > 128 {
                    return Err(CryptoError::InvalidInput(
                        "user id must be 1 to 128 characters",
                    ));
                }
                Ok(v.to_owned())
            }
            Purpose::Wamid if value.is_empty() => Err(CryptoError::InvalidInput("empty wamid")),
            Purpose::Wamid => Ok(value.to_owned()),
        }
    }
}

/// Reduces a phone number to E.164 digits without '+', so the formats users
/// type ("+1 (415) 555-0100", "1.415.555.0100") share one index.
pub fn normalize_phone(raw: &str) -> Result<String, CryptoError> {
    let trimmed = raw.trim();
    let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let digits: String = rest
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')))
        .collect();
    let ok = (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !ok {
        return Err(CryptoError::InvalidInput(
            "phone number must be 7 to 15 digits, not starting with 0",
        ));
    }
    Ok(digits)
}

/// Per-version index keys, derived once when the tenant's keys are loaded.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct IndexKeys([[u8; 32]; 3]);

impl IndexKeys {
    pub(crate) fn derive(tenant_id: Uuid, dek: &DataKey) -> Result<Self, CryptoError> {
        let hk = Hkdf::<Sha256>::new(Some(tenant_id.as_bytes()), dek.expose());
        let mut keys = Self([[0u8; 32]; 3]);
        for p in PURPOSES {
            let slot = keys
                .0
                .get_mut(p.slot())
                .ok_or(CryptoError::InvalidInput("blind index purpose"))?;
            hk.expand(p.label().as_bytes(), slot)
                .map_err(|_| CryptoError::InvalidInput("HKDF output length"))?;
        }
        Ok(keys)
    }

    fn index(&self, purpose: Purpose, normalized: &str) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .0
            .get(purpose.slot())
            .ok_or(CryptoError::InvalidInput("blind index purpose"))?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .map_err(|_| CryptoError::InvalidInput("HMAC key length"))?;
        mac.update(normalized.as_bytes());
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl TenantKeys {
    /// 32-byte index of `value` under the active version, for writes.
    pub fn blind_index(&self, purpose: Purpose, value: &str) -> Result<Vec<u8>, CryptoError> {
        let v = self.active_version();
        let keys = self
            .index_keys
            .get(&v)
            .ok_or(CryptoError::UnknownKeyVersion(v))?;
        keys.index(purpose, &purpose.normalize(value)?)
    }

    /// One index per held version, active first then newest to oldest, so
    /// lookups still find rows a rotation has not re-indexed yet.
    pub fn blind_index_candidates(
        &self,
        purpose: Purpose,
        value: &str,
    ) -> Result<Vec<Vec<u8>>, CryptoError> {
        let normalized = purpose.normalize(value)?;
        let active = self.active_version();
        let active_keys = self
            .index_keys
            .get(&active)
            .ok_or(CryptoError::UnknownKeyVersion(active))?;
        let mut out = vec![active_keys.index(purpose, &normalized)?];
        for (_, keys) in self.index_keys.iter().rev().filter(|(v, _)| **v != active) {
            out.push(keys.index(purpose, &normalized)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::gcm::hex;

    fn keys(tenant: Uuid, deks: &[(i32, u8)], active: i32) -> TenantKeys {
        let v = deks
            .iter()
            .map(|&(n, b)| (n, DataKey::from_bytes([b; 32])))
            .collect();
        TenantKeys::new(tenant, v, active).unwrap()
    }

    #[test]
    fn hmac_sha256_rfc4231_test_case_2() {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let expected = hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(mac.finalize().into_bytes().to_vec(), expected);
    }

    #[test]
    fn index_is_deterministic_and_separated() {
        let t = Uuid::new_v4();
        let k = keys(t, &[(1, 1)], 1);
        let a = k.blind_index(Purpose::UserId, "12345").unwrap();
        assert_eq!(a.len(), 32);
        assert_eq!(a, k.blind_index(Purpose::UserId, " 12345 ").unwrap());
        assert_ne!(a, k.blind_index(Purpose::UserId, "12346").unwrap());
        assert_ne!(a, k.blind_index(Purpose::Wamid, "12345").unwrap());
        let phone = k.blind_index(Purpose::Phone, "1234567").unwrap();
        assert_ne!(phone, k.blind_index(Purpose::UserId, "1234567").unwrap());
        // Same key bytes, different tenant: the HKDF salt must separate them.
        let other = keys(Uuid::new_v4(), &[(1, 1)], 1);
        assert_ne!(a, other.blind_index(Purpose::UserId, "12345").unwrap());
        // Wamids are matched exactly.
        let w = k.blind_index(Purpose::Wamid, "wamid.ABC").unwrap();
        assert_ne!(w, k.blind_index(Purpose::Wamid, "wamid.abc").unwrap());
        assert_ne!(w, k.blind_index(Purpose::Wamid, " wamid.ABC").unwrap());
    }

    #[test]
    fn phone_formats_share_an_index() {
        let k = keys(Uuid::new_v4(), &[(1, 1)], 1);
        let a = k.blind_index(Purpose::Phone, "+1 (415) 555-0100").unwrap();
        assert_eq!(a, k.blind_index(Purpose::Phone, "14155550100").unwrap());
        assert_eq!(a, k.blind_index(Purpose::Phone, "1.415.555.0100").unwrap());
        assert_eq!(normalize_phone("+44 20 7946 0958").unwrap(), "442079460958");
    }

    #[test]
    fn invalid_inputs_are_refused() {
        for bad in [
            "",
            "+",
            "123456",
            "1234567890123456",
            "0123456789",
            "+1 415 CALL NOW",
            "1+4155550100",
        ] {
            assert!(
                matches!(normalize_phone(bad), Err(CryptoError::InvalidInput(_))),
                "{bad}"
            );
        }
        let k = keys(Uuid::new_v4(), &[(1, 1)], 1);
        assert!(k.blind_index(Purpose::Phone, "12").is_err());
        assert!(k.blind_index(Purpose::UserId, "   ").is_err());
        assert!(k.blind_index(Purpose::UserId, &"x".repeat(129)).is_err());
        assert!(k.blind_index(Purpose::UserId, &"x".repeat(128)).is_ok());
        assert!(k.blind_index(Purpose::Wamid, "").is_err());
    }

    #[test]
    fn candidates_cover_every_version_active_first() {
        let t = Uuid::new_v4();
        let old = keys(t, &[(1, 1)], 1);
        let mid = keys(t, &[(1, 1), (2, 2)], 1);
        let new = keys(t, &[(1, 1), (2, 2), (3, 3)], 2);
        let v1 = old.blind_index(Purpose::Phone, "14155550100").unwrap();
        let v2 = new.blind_index(Purpose::Phone, "14155550100").unwrap();
        assert_ne!(v1, v2);
        assert_eq!(mid.blind_index(Purpose::Phone, "+14155550100").unwrap(), v1);
        let c = new
            .blind_index_candidates(Purpose::Phone, "+1 415 555 0100")
            .unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], v2);
        assert_eq!(c[2], v1);
        assert!(new.blind_index_candidates(Purpose::Phone, "x").is_err());
    }
}
