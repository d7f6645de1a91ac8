//! Tests of TOTP codes: RFC 6238 vectors, skew window, single use.

use totp_rs::{Algorithm, Builder, Secret};

use crate::auth::AuthError;
use crate::auth::totp::{STEP_SECS, code_at, new_secret, otpauth_uri, step_of, verify_code};

/// RFC 6238 appendix B: the ASCII secret "12345678901234567890".
fn rfc_secret() -> String {
    Secret::from(b"12345678901234567890".to_vec()).to_base32()
}

const NOW: u64 = 1_900_000_015;

#[test]
fn rfc6238_sha1_vector() {
    let b32 = rfc_secret();
    assert_eq!(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    let eight = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(8)
        .with_secret(Secret::try_from_base32(&b32).unwrap())
        .build()
        .unwrap();
    assert_eq!(eight.generate(59).to_string(), "94287082");
    assert_eq!(eight.generate(1_111_111_109).to_string(), "07081804");
    assert_eq!(code_at(&b32, 59).unwrap(), "287082");
    assert_eq!(code_at(&b32, 1_111_111_109).unwrap(), "081804");
    assert_eq!(verify_code(&b32, "287082", 59, None).unwrap(), Some(1));
}

#[test]
fn current_code_verifies_once() {
    let secret = new_secret().unwrap();
    let code = code_at(&secret, NOW).unwrap();
    let step = verify_code(&secret, &code, NOW, None).unwrap();
    assert_eq!(step, Some(step_of(NOW)));
    assert_eq!(verify_code(&secret, &code, NOW, step).unwrap(), None);
    assert_eq!(verify_code(&secret, &code, NOW + 1, step).unwrap(), None);
}

#[test]
fn a_later_step_after_a_used_one_is_accepted() {
    let secret = new_secret().unwrap();
    let used = Some(step_of(NOW) - 1);
    let code = code_at(&secret, NOW).unwrap();
    assert_eq!(
        verify_code(&secret, &code, NOW, used).unwrap(),
        Some(step_of(NOW))
    );
}

#[test]
fn one_step_of_skew_either_way() {
    let secret = new_secret().unwrap();
    let prev = code_at(&secret, NOW - STEP_SECS).unwrap();
    let next = code_at(&secret, NOW + STEP_SECS).unwrap();
    assert_eq!(
        verify_code(&secret, &prev, NOW, None).unwrap(),
        Some(step_of(NOW) - 1)
    );
    assert_eq!(
        verify_code(&secret, &next, NOW, None).unwrap(),
        Some(step_of(NOW) + 1)
    );
}

#[test]
fn three_steps_away_is_refused() {
    let secret = rfc_secret();
    let now = 1_111_111_109;
    for offset in [3 * STEP_SECS, 2 * STEP_SECS] {
        let old = code_at(&secret, now - offset).unwrap();
        let future = code_at(&secret, now + offset).unwrap();
        assert_ne!(old, code_at(&secret, now).unwrap());
        assert_eq!(verify_code(&secret, &old, now, None).unwrap(), None);
        assert_eq!(verify_code(&secret, &future, now, None).unwrap(), None);
    }
}

#[test]
fn wrong_or_malformed_code_is_refused() {
    let secret = rfc_secret();
    // "287082" is the code at T=59; "287083" and the rest are not.
    for code in [
        "287083", "000000", "28708", "2870822", "+87082", "abcdef", "",
    ] {
        assert_eq!(
            verify_code(&secret, code, 59, None).unwrap(),
            None,
            "{code}"
        );
    }
    assert_eq!(
        verify_code(&secret, " 287 082 ", 59, None).unwrap(),
        Some(1)
    );
}

#[test]
fn bad_secret_is_an_error() {
    assert!(matches!(
        verify_code("not base32!", "123456", NOW, None),
        Err(AuthError::Totp(_))
    ));
    // Ten bytes: below the 128 bits RFC 4226 requires.
    let short = Secret::from(b"0123456789".to_vec()).to_base32();
    assert!(matches!(code_at(&short, NOW), Err(AuthError::Totp(_))));
}

#[test]
fn new_secrets_are_random_160_bit_base32() {
    let a = new_secret().unwrap();
    let b = new_secret().unwrap();
    assert_ne!(a, b);
    assert_eq!(Secret::try_from_base32(&a).unwrap().as_bytes().len(), 20);
    assert_eq!(a.len(), 32);
}

#[test]
fn otpauth_uri_carries_secret_issuer_and_account() {
    let secret = rfc_secret();
    let uri = otpauth_uri(&secret, "wavault", "priya@example.com").unwrap();
    assert!(
        uri.starts_with("otpauth://totp/wavault:priya%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=wavault"), "{uri}");
    assert!(otpauth_uri(&secret, "wa:vault", "priya@example.com").is_err());
}
