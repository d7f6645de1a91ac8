//! The single error type returned by every operation in the `crypto` module.

/// Messages never carry key material, plaintext or ciphertext, so they are
/// safe to log.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("invalid master key configuration: {0}")]
    BadMasterKeys(String),
    #[error("master key '{0}' is not configured")]
    UnknownMasterKey(String),
    #[error("cannot unwrap data key: wrong master key or tampered wrapped key")]
    Unwrap,
    #[error("data key version {0} is not available for this tenant")]
    UnknownKeyVersion(i32),
    #[error("decryption failed: value tampered with, moved, or sealed under another key")]
    Decrypt,
    #[error("malformed sealed value: too short or unknown format version")]
    Format,
    #[error("decrypted value has the wrong encoding: {0}")]
    Encoding(&'static str),
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    #[error("signature verification failed")]
    Signature,
    #[error("operating system random number generator failed")]
    Random,
}
