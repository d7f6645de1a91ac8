//! Per-tenant shred keys, held outside the database.
//!
//! Every tenant data key is wrapped twice: by the master key ring (which the operator rotates)
//! and then by a random per-tenant key kept as a file in `crypto.tenant_key_dir`. A wipe deletes
//! that file, so a database backup taken before the wipe holds wrapped keys that nothing can
//! open any more, even with the master keys. Several instances must share the directory (a
//! shared volume), as they share the database.
use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::{CryptoError, random_bytes};

const AAD_PREFIX: &[u8] = b"wavault-shred-v1";
const NONCE_LEN: usize = 12;

#[derive(Debug)]
pub struct ShredStore {
    dir: PathBuf,
}

fn aad(tenant_id: Uuid) -> Vec<u8> {
    let mut a = AAD_PREFIX.to_vec();
    a.extend_from_slice(tenant_id.as_bytes());
    a
}

impl ShredStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, tenant_id: Uuid) -> PathBuf {
        self.dir.join(format!("{tenant_id}.key"))
    }

    fn read(path: &Path) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|_| CryptoError::Unwrap)?);
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(CryptoError::Format);
        }
        key.copy_from_slice(&bytes);
        Ok(key)
    }

    /// The tenant's shred key, created (0600, synced) on first use.
    fn get_or_create(&self, tenant_id: Uuid) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let path = self.path(tenant_id);
        if path.exists() {
            return Self::read(&path);
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|_| CryptoError::InvalidInput("crypto.tenant_key_dir is not writable"))?;
        let key = Zeroizing::new(random_bytes::<32>()?);
        let unwritable = |_| CryptoError::InvalidInput("crypto.tenant_key_dir is not writable");
        // Written whole to a temporary name, then linked into place: a concurrent reader never
        // sees a partial file, and a concurrent creator's key is never overwritten.
        let tmp = self
            .dir
            .join(format!("{tenant_id}.{}.tmp", Uuid::new_v4().simple()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&tmp)
            .and_then(|mut f| f.write_all(key.as_slice()).and_then(|()| f.sync_all()));
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, &path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key),
            // Another instance created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::read(&path),
            Err(e) => Err(unwritable(e)),
        }
    }

    /// Adds the outer layer to a master-wrapped key blob.
    pub fn seal(&self, tenant_id: Uuid, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.get_or_create(tenant_id)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| CryptoError::Format)?;
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let nonce = Nonce::try_from(&nonce_bytes[..]).map_err(|_| CryptoError::Format)?;
        let aad = aad(tenant_id);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: blob,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Random)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Removes the outer layer; fails once the tenant's shred key is destroyed.
    pub fn open(&self, tenant_id: Uuid, stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key = Self::read(&self.path(tenant_id))?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| CryptoError::Format)?;
        let (nonce, ct) = stored
            .split_at_checked(NONCE_LEN)
            .ok_or(CryptoError::Format)?;
        let nonce = Nonce::try_from(nonce).map_err(|_| CryptoError::Format)?;
        let aad = aad(tenant_id);
        let plain = cipher
            .decrypt(&nonce, Payload { msg: ct, aad: &aad })
            .map_err(|_| CryptoError::Unwrap)?;
        Ok(Zeroizing::new(plain))
    }

    /// Destroys the tenant's shred key. Idempotent.
    pub fn destroy(&self, tenant_id: Uuid) -> std::io::Result<bool> {
        match std::fs::remove_file(self.path(tenant_id)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_blobs_open_until_the_key_is_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShredStore::new(dir.path());
        let (t1, t2) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = store.seal(t1, b"wrapped key").unwrap();
        assert_eq!(store.open(t1, &sealed).unwrap().as_slice(), b"wrapped key");
        assert!(store.open(t2, &sealed).is_err(), "bound to its tenant");
        let mut bad = sealed.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(store.open(t1, &bad).is_err());
        assert!(store.destroy(t1).unwrap());
        assert!(store.open(t1, &sealed).is_err());
        assert!(!store.destroy(t1).unwrap());
    }
}
