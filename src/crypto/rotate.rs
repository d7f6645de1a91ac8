//! Moving sealed values onto a tenant's active data-key version after rotation.

use crate::crypto::{CryptoError, Place, TenantKeys};

impl TenantKeys {
    /// Re-seals under the active version if needed; `None` means the value
    /// is already current and can be left alone.
    pub fn rekey(&self, place: &Place, stored: &[u8]) -> Result<Option<Vec<u8>>, CryptoError> {
        if Self::stored_version(stored)? == self.active_version() {
            return Ok(None);
        }
        let plain = self.open(place, stored)?;
        self.seal(place, &plain).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;
    use uuid::Uuid;

    fn keys(tenant: Uuid, versions: &[i32], active: i32) -> TenantKeys {
        let v = versions
            .iter()
            .map(|&n| (n, DataKey::generate().unwrap()))
            .collect();
        TenantKeys::new(tenant, v, active).unwrap()
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_rekey_moves_them() {
        let tenant = Uuid::new_v4();
        let v1 = [1u8; 32];
        let place = Place::new("chats", "title", Uuid::new_v4());
        let old = TenantKeys::new(tenant, vec![(1, DataKey::from_bytes(v1))], 1).unwrap();
        let sealed = old.seal(&place, b"family").unwrap();
        assert!(old.rekey(&place, &sealed).unwrap().is_none());

        let v = vec![
            (1, DataKey::from_bytes(v1)),
            (2, DataKey::generate().unwrap()),
        ];
        let new = TenantKeys::new(tenant, v, 2).unwrap();
        assert_eq!(new.versions(), vec![1, 2]);
        assert_eq!(new.open(&place, &sealed).unwrap().as_slice(), b"family");
        let moved = new.rekey(&place, &sealed).unwrap().unwrap();
        assert_eq!(TenantKeys::stored_version(&moved).unwrap(), 2);
        assert_eq!(new.open(&place, &moved).unwrap().as_slice(), b"family");
        assert!(new.rekey(&place, &moved).unwrap().is_none());
        assert!(matches!(
            old.open(&place, &moved),
            Err(CryptoError::UnknownKeyVersion(2))
        ));
        assert_eq!(
            TenantKeys::stored_version(&new.seal_with_version(1, &place, b"").unwrap()).unwrap(),
            1
        );
    }

    #[test]
    fn constructor_and_version_errors() {
        let t = Uuid::new_v4();
        let place = Place::new("a", "b", Uuid::new_v4());
        let k = keys(t, &[1], 1);
        assert!(matches!(
            k.seal_with_version(7, &place, b"x"),
            Err(CryptoError::UnknownKeyVersion(7))
        ));
        assert!(matches!(
            TenantKeys::new(t, vec![], 1),
            Err(CryptoError::UnknownKeyVersion(1))
        ));
        let dup = vec![
            (1, DataKey::generate().unwrap()),
            (1, DataKey::generate().unwrap()),
        ];
        assert!(matches!(
            TenantKeys::new(t, dup, 1),
            Err(CryptoError::InvalidInput(_))
        ));
        let neg = vec![(-1, DataKey::generate().unwrap())];
        assert!(matches!(
            TenantKeys::new(t, neg, -1),
            Err(CryptoError::InvalidInput(_))
        ));
        let mut bad_format = k.seal(&place, b"x").unwrap();
        bad_format[0] = 2;
        assert!(matches!(
            TenantKeys::stored_version(&bad_format),
            Err(CryptoError::Format)
        ));
        assert!(!format!("{k:?}").contains("DataKey"));
    }
}
