//! Ed25519 signatures on deletion certificates, so a tenant can verify
//! offline that a wipe was attested by this service.

use std::fmt;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::crypto::CryptoError;

pub struct CertSigner {
    key: SigningKey,
}

impl CertSigner {
    pub fn from_seed_b64(seed_b64: &str) -> Result<Self, CryptoError> {
        let seed = Zeroizing::new(
            STANDARD
                .decode(seed_b64.trim())
                .map_err(|_| CryptoError::InvalidInput("signing seed is not valid base64"))?,
        );
        let seed = <&[u8; 32]>::try_from(seed.as_slice())
            .map_err(|_| CryptoError::InvalidInput("signing seed must be 32 bytes"))?;
        Ok(Self {
            key: SigningKey::from_bytes(seed),
        })
    }

    /// Short stable identifier of the public key, so certificates can say
    /// which key signed them across key changes.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.key.verifying_key().as_bytes());
        digest
            .iter()
            .take(8)
            .fold(String::with_capacity(16), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }

    pub fn public_key_b64(&self) -> String {
        STANDARD.encode(self.key.verifying_key().as_bytes())
    }

    pub fn sign(&self, msg: &[u8]) -> String {
        STANDARD.encode(self.key.sign(msg).to_bytes())
    }
}

impl fmt::Debug for CertSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertSigner")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// Strict verification: rejects malleable and small-order-key signatures.
pub fn verify_signature(
    public_key_b64: &str,
    msg: &[u8],
    sig_b64: &str,
) -> Result<(), CryptoError> {
    let pk = STANDARD
        .decode(public_key_b64.trim())
        .map_err(|_| CryptoError::InvalidInput("public key is not valid base64"))?;
    let pk = <[u8; 32]>::try_from(pk.as_slice())
        .map_err(|_| CryptoError::InvalidInput("public key must be 32 bytes"))?;
    let pk = VerifyingKey::from_bytes(&pk)
        .map_err(|_| CryptoError::InvalidInput("malformed public key"))?;
    let sig = STANDARD
        .decode(sig_b64.trim())
        .map_err(|_| CryptoError::InvalidInput("signature is not valid base64"))?;
    let sig = <[u8; 64]>::try_from(sig.as_slice())
        .map_err(|_| CryptoError::InvalidInput("signature must be 64 bytes"))?;
    pk.verify_strict(msg, &Signature::from_bytes(&sig))
        .map_err(|_| CryptoError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> CertSigner {
        CertSigner::from_seed_b64(&STANDARD.encode([42u8; 32])).unwrap()
    }

    #[test]
    fn sign_and_verify() {
        let s = signer();
        let msg = br#"{"tenant":"t1","deleted_at":"2025-01-01T00:00:00Z"}"#;
        let sig = s.sign(msg);
        verify_signature(&s.public_key_b64(), msg, &sig).unwrap();
        for i in 0..msg.len() {
            let mut m = msg.to_vec();
            m[i] ^= 0x01;
            assert!(matches!(
                verify_signature(&s.public_key_b64(), &m, &sig),
                Err(CryptoError::Signature)
            ));
        }
        let other = CertSigner::from_seed_b64(&STANDARD.encode([7u8; 32])).unwrap();
        assert!(verify_signature(&other.public_key_b64(), msg, &sig).is_err());
        assert!(verify_signature(&s.public_key_b64(), msg, "bm90IGEgc2ln").is_err());
    }

    #[test]
    fn rfc8032_test_1_public_key() {
        let seed = crate::crypto::gcm::hex(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        );
        let s = CertSigner::from_seed_b64(&STANDARD.encode(seed)).unwrap();
        let pk = crate::crypto::gcm::hex(
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        );
        assert_eq!(s.public_key_b64(), STANDARD.encode(pk));
        let sig = STANDARD.decode(s.sign(b"")).unwrap();
        assert_eq!(
            sig,
            crate::crypto::gcm::hex(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            )
        );
    }

    #[test]
    fn key_id_and_debug() {
        let s = signer();
        let id = s.key_id();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        let pk = STANDARD.decode(s.public_key_b64()).unwrap();
        assert!(
            crate::crypto::gcm::hex(&id)
                .iter()
                .eq(Sha256::digest(&pk)[..8].iter())
        );
        assert!(format!("{s:?}").contains(&id));
        assert!(CertSigner::from_seed_b64("AQID").is_err());
        assert!(CertSigner::from_seed_b64("%%").is_err());
    }
}
