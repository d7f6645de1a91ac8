//! Opaque refresh tokens: `<session id, 32 hex>.<32 random bytes, base64url>`. Only the
//! SHA-256 of the whole token is stored; the session id prefix finds the row to compare with.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::auth::AuthError;

const RANDOM_LEN: usize = 32;
const SESSION_HEX_LEN: usize = 32;
/// 32 bytes in unpadded base64.
const RANDOM_B64_LEN: usize = 43;
const TOKEN_LEN: usize = SESSION_HEX_LEN + 1 + RANDOM_B64_LEN;

/// A new refresh token for `session_id`: the token for the client and the hash to store.
pub fn new_refresh_token(session_id: Uuid) -> Result<(String, Vec<u8>), AuthError> {
    let mut random = Zeroizing::new([0u8; RANDOM_LEN]);
    getrandom::fill(random.as_mut_slice()).map_err(|_| AuthError::Random)?;
    let token = format!(
        "{}.{}",
        session_id.simple(),
        URL_SAFE_NO_PAD.encode(random.as_slice())
    );
    let hash = sha256(&token);
    Ok((token, hash))
}

/// Splits a token presented by a client into its session id and the SHA-256 of the whole
/// token. `None` when it does not have the exact shape [`new_refresh_token`] produces.
pub fn parse_refresh_token(token: &str) -> Option<(Uuid, Vec<u8>)> {
    if token.len() != TOKEN_LEN {
        return None;
    }
    let (session_hex, random_b64) = token.split_once('.')?;
    if session_hex.len() != SESSION_HEX_LEN
        || !session_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let session_id = Uuid::try_parse(session_hex).ok()?;
    let random = Zeroizing::new(URL_SAFE_NO_PAD.decode(random_b64).ok()?);
    if random.len() != RANDOM_LEN {
        return None;
    }
    Some((session_id, sha256(token)))
}

/// Constant-time equality of two stored hashes (the length is not secret).
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

fn sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
