//! Parsing of the master-key configuration variables.

use std::collections::BTreeMap;

use aes_gcm::Aes256Gcm;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::crypto::CryptoError;
use crate::crypto::gcm;

const KEYS_VAR: &str = "WAVAULT__CRYPTO__MASTER_KEYS";
const ACTIVE_VAR: &str = "WAVAULT__CRYPTO__ACTIVE_KEY";

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn bad(msg: String) -> CryptoError {
    CryptoError::BadMasterKeys(msg)
}

/// Error messages name the variable and the entry by position, and never
/// echo anything that might be key material.
pub(crate) fn parse(
    spec: &str,
    active: &str,
) -> Result<(BTreeMap<String, Aes256Gcm>, String), CryptoError> {
    if spec.trim().is_empty() {
        return Err(bad(format!("{KEYS_VAR} is empty")));
    }
    let mut keys = BTreeMap::new();
    for (i, entry) in spec.split(',').map(str::trim).enumerate() {
        let n = i + 1;
        let Some((id, b64)) = entry.split_once(':') else {
            return Err(bad(format!(
                "{KEYS_VAR}: entry {n} is not key_id:base64(32 bytes)"
            )));
        };
        let (id, b64) = (id.trim(), b64.trim());
        if !valid_id(id) {
            return Err(bad(format!(
                "{KEYS_VAR}: entry {n} has an invalid key id (expected [A-Za-z0-9_-]{{1,32}})"
            )));
        }
        let bytes = Zeroizing::new(STANDARD.decode(b64).map_err(|_| {
            bad(format!(
                "{KEYS_VAR}: key '{id}' (entry {n}) is not valid base64"
            ))
        })?);
        let Ok(key) = <&[u8; 32]>::try_from(bytes.as_slice()) else {
            return Err(bad(format!(
                "{KEYS_VAR}: key '{id}' (entry {n}) is {} bytes, expected 32",
                bytes.len()
            )));
        };
        if keys.insert(id.to_owned(), gcm::cipher(key)?).is_some() {
            return Err(bad(format!(
                "{KEYS_VAR}: key id '{id}' appears more than once"
            )));
        }
    }
    let active = active.trim();
    if active.is_empty() {
        return Err(bad(format!("{ACTIVE_VAR} is empty")));
    }
    if !keys.contains_key(active) {
        // Only echo the value if it looks like an id, in case a key was
        // pasted into the wrong variable.
        let shown = if valid_id(active) {
            active
        } else {
            "<invalid id>"
        };
        return Err(bad(format!("{ACTIVE_VAR} '{shown}' is not in {KEYS_VAR}")));
    }
    Ok((keys, active.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="; // 32 x 0x01
    const K2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="; // 32 x 0x02

    fn parse_err(spec: &str, active: &str) -> String {
        match parse(spec, active) {
            Err(CryptoError::BadMasterKeys(m)) => m,
            Err(e) => panic!("expected BadMasterKeys, got {e:?}"),
            Ok(_) => panic!("expected BadMasterKeys for {spec:?}"),
        }
    }

    #[test]
    fn accepts_whitespace_and_several_keys() {
        let (keys, active) = parse(&format!("\n k1 : {K1} ,\tk-2_B:{K2} "), " k-2_B ").unwrap();
        assert_eq!(active, "k-2_B");
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["k-2_B", "k1"]);
    }

    #[test]
    fn parse_errors_name_the_variable_and_hide_keys() {
        let cases = [
            (format!("k1:{K1},k2:!!notbase64!!"), "k1", "base64"),
            ("k1:AQEBAQ==".to_owned(), "k1", "4 bytes"),
            (
                format!("k1:{K1},{K2}"),
                "k1",
                "entry 2 is not key_id:base64(32 bytes)",
            ),
            (format!("k 1:{K1}"), "k 1", "invalid key id"),
            (format!("k1:{K1},k1:{K2}"), "k1", "more than once"),
            ("   ".to_owned(), "k1", "is empty"),
        ];
        for (spec, active, needle) in cases {
            let m = parse_err(&spec, active);
            assert!(m.contains(KEYS_VAR), "{m}");
            assert!(m.contains(needle), "{m}");
            assert!(!m.contains(K1) && !m.contains(K2), "{m}");
        }
        let m = parse_err(&format!("k1:{K1}"), "k9");
        assert_eq!(m, format!("{ACTIVE_VAR} 'k9' is not in {KEYS_VAR}"));
        let m = parse_err(&format!("k1:{K1}"), K2);
        assert!(m.contains(ACTIVE_VAR) && !m.contains(K2), "{m}");
        assert!(parse_err(&format!("k1:{K1}"), " ").contains(ACTIVE_VAR));
    }
}
