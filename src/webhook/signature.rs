//! `X-Hub-Signature-256` check: HMAC-SHA256 of the exact raw body under any configured app secret.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const SCHEME: &str = "sha256";
const TAG_LEN: usize = 32;

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header is missing")]
    Missing,
    #[error("signature header is not of the form sha256=<64 hex digits>")]
    Malformed,
    #[error("signature does not match the body under any configured app secret")]
    Mismatch,
}

/// Checks an `X-Hub-Signature-256` header value against the raw request body.
///
/// The body is authenticated under each secret in turn (several are allowed so that a secret
/// can be rotated) and the comparison is constant-time. Empty secrets are ignored; with no
/// usable secret every signature is a [`SignatureError::Mismatch`].
pub fn verify_signature(
    secrets: &[SecretString],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let tag = parse_header(header).ok_or(SignatureError::Malformed)?;
    let matched = secrets
        .iter()
        .map(|s| s.expose_secret().as_bytes())
        .filter(|key| !key.is_empty())
        .any(|key| {
            HmacSha256::new_from_slice(key)
                .map(|mac| mac.chain_update(body).verify_slice(&tag).is_ok())
                .unwrap_or(false)
        });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Header value (`sha256=<hex>`) signing `body` with `secret`, as the sender computes it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so the key setup cannot fail.
    let hex = HmacSha256::new_from_slice(secret.as_bytes())
        .map(|mac| hex::encode(mac.chain_update(body).finalize().into_bytes()))
        .unwrap_or_default();
    format!("{SCHEME}={hex}")
}

fn parse_header(header: &str) -> Option<[u8; TAG_LEN]> {
    let (scheme, hex_tag) = header.split_once('=')?;
    if !scheme.trim().eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let mut tag = [0u8; TAG_LEN];
    hex::decode_to_slice(hex_tag.trim(), &mut tag).ok()?;
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter().map(|s| SecretString::from(*s)).collect()
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn accepts_right_secret() {
        let header = sign("app-secret", BODY);
        assert_eq!(
            verify_signature(&secrets(&["app-secret"]), Some(&header), BODY),
            Ok(())
        );
    }

    #[test]
    fn accepts_second_of_two_secrets() {
        let header = sign("new-secret", BODY);
        let both = secrets(&["old-secret", "new-secret"]);
        assert_eq!(verify_signature(&both, Some(&header), BODY), Ok(()));
        let only_old = secrets(&["old-secret"]);
        assert_eq!(
            verify_signature(&only_old, Some(&header), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn accepts_uppercase_hex_and_surrounding_space() {
        let header = sign("app-secret", BODY)
            .to_uppercase()
            .replace("SHA256", "sha256");
        let padded = format!("  {header} ");
        assert_eq!(
            verify_signature(&secrets(&["app-secret"]), Some(&padded), BODY),
            Ok(())
        );
    }

    #[test]
    fn rejects_wrong_secret() {
        let header = sign("attacker", BODY);
        assert_eq!(
            verify_signature(&secrets(&["app-secret"]), Some(&header), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_missing_header() {
        let s = secrets(&["app-secret"]);
        assert_eq!(
            verify_signature(&s, None, BODY),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(&s, Some("  "), BODY),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn rejects_malformed_header() {
        let s = secrets(&["app-secret"]);
        let good = sign("app-secret", BODY);
        let hex_only = good.trim_start_matches("sha256=").to_owned();
        let sha1 = format!("sha1={hex_only}");
        let short = good[..good.len() - 2].to_owned();
        let not_hex = format!("{}zz", &good[..good.len() - 2]);
        for bad in [hex_only, sha1, short, not_hex, "sha256=".to_owned()] {
            assert_eq!(
                verify_signature(&s, Some(&bad), BODY),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_one_flipped_byte_of_body() {
        let header = sign("app-secret", BODY);
        let s = secrets(&["app-secret"]);
        for i in 0..BODY.len() {
            let mut tampered = BODY.to_vec();
            tampered[i] ^= 0x01;
            assert_eq!(
                verify_signature(&s, Some(&header), &tampered),
                Err(SignatureError::Mismatch),
                "byte {i}"
            );
        }
    }

    #[test]
    fn empty_secret_never_matches() {
        let header = sign("", BODY);
        assert_eq!(
            verify_signature(&secrets(&[""]), Some(&header), BODY),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&[], Some(&header), BODY),
            Err(SignatureError::Mismatch)
        );
    }
}
