//! Where a sealed value lives, and the associated data that binds it there.

use uuid::Uuid;

use crate::crypto::CryptoError;

const FIELD_AAD_PREFIX: &[u8] = b"wavault-field-v1";

/// Bound into the ciphertext, so a value copied to another row, column,
/// table or tenant no longer opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: Uuid,
}

impl<'a> Place<'a> {
    pub fn new(table: &'a str, column: &'a str, row_id: Uuid) -> Self {
        Self {
            table,
            column,
            row_id,
        }
    }

    /// Length prefixes keep ("ab", "c") and ("a", "bc") from colliding.
    pub(crate) fn aad(&self, tenant_id: Uuid) -> Result<Vec<u8>, CryptoError> {
        let (t, c) = (self.table.as_bytes(), self.column.as_bytes());
        let mut aad = Vec::with_capacity(FIELD_AAD_PREFIX.len() + 16 + 8 + t.len() + c.len() + 16);
        aad.extend_from_slice(FIELD_AAD_PREFIX);
        aad.extend_from_slice(tenant_id.as_bytes());
        for part in [t, c] {
            let len = u32::try_from(part.len())
                .map_err(|_| CryptoError::InvalidInput("name too long"))?;
            aad.extend_from_slice(&len.to_be_bytes());
            aad.extend_from_slice(part);
        }
        aad.extend_from_slice(self.row_id.as_bytes());
        Ok(aad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_layout() {
        let tenant = Uuid::from_bytes([0xAA; 16]);
        let row = Uuid::from_bytes([0xBB; 16]);
        let aad = Place::new("ab", "c", row).aad(tenant).unwrap();
        let mut expected = b"wavault-field-v1".to_vec();
        expected.extend([0xAA; 16]);
        expected.extend([0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c']);
        expected.extend([0xBB; 16]);
        assert_eq!(aad, expected);
    }

    #[test]
    fn every_part_changes_the_aad() {
        let (t, r) = (Uuid::new_v4(), Uuid::new_v4());
        let base = Place::new("ab", "c", r).aad(t).unwrap();
        assert_ne!(base, Place::new("a", "bc", r).aad(t).unwrap());
        assert_ne!(base, Place::new("ab", "d", r).aad(t).unwrap());
        assert_ne!(base, Place::new("ab", "c", Uuid::new_v4()).aad(t).unwrap());
        assert_ne!(base, Place::new("ab", "c", r).aad(Uuid::new_v4()).unwrap());
    }
}
