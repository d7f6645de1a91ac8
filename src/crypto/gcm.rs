//! AES-256-GCM with random 96-bit nonces: the one AEAD construction in wavault.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::crypto::CryptoError;

pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;

pub(crate) fn cipher(key: &[u8; 32]) -> Result<Aes256Gcm, CryptoError> {
    Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::InvalidInput("AES-256 key length"))
}

/// Appends `nonce || ciphertext || tag` to `out`, so callers can put their
/// own header in front without another copy.
pub(crate) fn seal_into(
    cipher: &Aes256Gcm,
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    // Random nonces are safe here: each key seals far fewer than 2^32 values
    // in practice, and tenants are rotated to fresh keys long before that.
    let nonce_bytes = crate::crypto::random_bytes::<NONCE_LEN>()?;
    let nonce = Nonce::try_from(&nonce_bytes[..]).map_err(|_| CryptoError::Format)?;
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::InvalidInput("plaintext too long"))?;
    out.reserve(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    Ok(())
}

/// Opens `nonce || ciphertext || tag`; any authentication failure is `fail`.
pub(crate) fn open(
    cipher: &Aes256Gcm,
    aad: &[u8],
    sealed: &[u8],
    fail: CryptoError,
) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Format);
    }
    let (nonce_bytes, ct) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_from(nonce_bytes).map_err(|_| CryptoError::Format)?;
    cipher
        .decrypt(&nonce, Payload { msg: ct, aad })
        .map_err(|_| fail)
}

#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16.
    const K: &str = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
    const P: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                     1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    const A: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    const IV: &str = "cafebabefacedbaddecaf888";
    const C: &str = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                     8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
    const T: &str = "76fc6ece0f4e1768cddf8853bb2d551b";

    #[test]
    fn aes256gcm_known_answer_test_case_16() {
        let key: [u8; 32] = hex(K).try_into().unwrap();
        let c = Aes256Gcm::new_from_slice(&key).unwrap();
        let nonce = Nonce::try_from(&hex(IV)[..]).unwrap();
        let (p, a) = (hex(P), hex(A));
        let out = c.encrypt(&nonce, Payload { msg: &p, aad: &a }).unwrap();
        let mut expected = hex(C);
        expected.extend(hex(T));
        assert_eq!(out, expected);
        let back = c.decrypt(&nonce, Payload { msg: &out, aad: &a }).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn seal_open_round_trip_and_wrong_aad_fails() {
        let c = cipher(&[7u8; 32]).unwrap();
        let mut sealed = Vec::new();
        seal_into(&c, b"aad", b"hello", &mut sealed).unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(
            open(&c, b"aad", &sealed, CryptoError::Decrypt).unwrap(),
            b"hello"
        );
        assert!(matches!(
            open(&c, b"aaD", &sealed, CryptoError::Decrypt),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            open(&c, b"aad", &sealed[..27], CryptoError::Decrypt),
            Err(CryptoError::Format)
        ));
    }
}
