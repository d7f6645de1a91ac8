//! Tests of password hashing, rehash detection and the password policy.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};

use crate::auth::password::FALLBACK_DUMMY_HASH;
use crate::auth::{
    AuthError, PasswordParams, PolicyViolation, check_policy, dummy_hash, hash_password,
    needs_rehash, verify_password,
};

const PW: &str = "correct horse battery staple";

#[test]
fn hash_then_verify_round_trip() {
    let phc = hash_password(PW, &PasswordParams::default()).unwrap();
    assert!(verify_password(PW, &phc).unwrap());
    assert!(!verify_password("correct horse battery stapler", &phc).unwrap());
}

#[test]
fn salts_differ_between_hashes() {
    let params = PasswordParams::default();
    assert_ne!(
        hash_password(PW, &params).unwrap(),
        hash_password(PW, &params).unwrap()
    );
}

#[test]
fn phc_string_is_argon2id_with_owasp_params() {
    let phc = hash_password(PW, &PasswordParams::default()).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
    assert!(phc.contains("m=19456,t=2,p=1"), "{phc}");
}

#[test]
fn corrupt_hash_is_an_error_not_false() {
    assert!(matches!(
        verify_password(PW, "not a phc string"),
        Err(AuthError::Hash(_))
    ));
    let corrupt = [
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$AAAA", // output too short
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",      // no output
        "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHRzYWx0$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
        "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
    ];
    for phc in corrupt {
        assert!(
            matches!(verify_password(PW, phc), Err(AuthError::Hash(_))),
            "{phc}"
        );
    }
}

#[test]
fn params_below_the_minimum_are_refused() {
    let weak = [
        PasswordParams {
            m_cost_kib: 19_455,
            ..Default::default()
        },
        PasswordParams {
            t_cost: 1,
            ..Default::default()
        },
        PasswordParams {
            p_cost: 0,
            ..Default::default()
        },
    ];
    for params in weak {
        assert!(params.validate().is_err(), "{params:?}");
        assert!(matches!(
            hash_password(PW, &params),
            Err(AuthError::Hash(_))
        ));
    }
    assert!(PasswordParams::default().validate().is_ok());
}

#[test]
fn needs_rehash_detects_weaker_hashes() {
    let current = PasswordParams::default();
    let fresh = hash_password(PW, &current).unwrap();
    assert!(!needs_rehash(&fresh, &current));

    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8_192, 1, 1, None).unwrap(),
    );
    let old = weak.hash_password(PW.as_bytes()).unwrap().to_string();
    assert!(needs_rehash(&old, &current));
    // A weaker hash still verifies, so the login that notices can upgrade it.
    assert!(verify_password(PW, &old).unwrap());

    let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default());
    let other_alg = argon2i.hash_password(PW.as_bytes()).unwrap().to_string();
    assert!(needs_rehash(&other_alg, &current));

    let stronger = PasswordParams {
        t_cost: 3,
        ..current
    };
    assert!(needs_rehash(&fresh, &stronger));
    assert!(needs_rehash("garbage", &current));
}

#[test]
fn dummy_hash_is_valid_and_stable() {
    let first = dummy_hash();
    assert!(std::ptr::eq(first, dummy_hash()));
    assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!verify_password(PW, first).unwrap());
    assert!(!needs_rehash(first, &PasswordParams::default()));
}

#[test]
fn fallback_dummy_hash_is_a_valid_current_hash() {
    assert!(!verify_password(PW, FALLBACK_DUMMY_HASH).unwrap());
    assert!(!needs_rehash(
        FALLBACK_DUMMY_HASH,
        &PasswordParams::default()
    ));
}

#[test]
fn policy_codes() {
    let email = "priya.sharma@example.com";
    let cases: [(&str, Option<&str>); 11] = [
        ("short pw", Some("password_too_short")),
        ("ééééééééééé", Some("password_too_short")), // 11 chars, 22 bytes
        ("ééééééééééé1", None),                      // 12 chars
        (&"ab".repeat(64), None),                    // 128 chars
        (&"ab".repeat(65), Some("password_too_long")),
        ("zzzzzzzzzzzzzzzz", Some("password_too_weak")),
        ("my Priya.Sharma pass", Some("password_too_weak")),
        ("Password1234", Some("password_too_weak")),
        ("123456789012", Some("password_too_weak")),
        ("qwertyuiopas", Some("password_too_weak")),
        ("tangerine-orbit-42", None),
    ];
    for (pw, expected) in cases {
        let got = check_policy(pw, email).err().map(|v| v.code());
        assert_eq!(got, expected, "{pw:?}");
    }
}

#[test]
fn short_local_part_is_ignored() {
    assert!(check_policy("xy-is-my-name-here", "xy@example.com").is_ok());
}

#[test]
fn violations_have_codes_and_details() {
    for v in [
        PolicyViolation::TooShort,
        PolicyViolation::TooLong,
        PolicyViolation::SingleCharacter,
        PolicyViolation::ContainsEmail,
        PolicyViolation::Common,
    ] {
        assert!(v.code().starts_with("password_too_"));
        assert!(!v.detail().is_empty());
    }
}
