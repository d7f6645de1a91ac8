//! Tests of refresh token format, parsing and hash comparison.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{hashes_equal, new_refresh_token, parse_refresh_token};

#[test]
fn parse_round_trip() {
    let sid = Uuid::new_v4();
    let (token, stored) = new_refresh_token(sid).unwrap();
    let (session_hex, random) = token.split_once('.').unwrap();
    assert_eq!(session_hex, sid.simple().to_string());
    assert_eq!(random.len(), 43);
    assert_eq!(stored, Sha256::digest(token.as_bytes()).to_vec());

    let (parsed_sid, presented) = parse_refresh_token(&token).unwrap();
    assert_eq!(parsed_sid, sid);
    assert!(hashes_equal(&presented, &stored));
}

#[test]
fn tokens_are_unique() {
    let sid = Uuid::new_v4();
    let (a, ha) = new_refresh_token(sid).unwrap();
    let (b, hb) = new_refresh_token(sid).unwrap();
    assert_ne!(a, b);
    assert!(!hashes_equal(&ha, &hb));
}

#[test]
fn garbage_is_none() {
    let (token, _) = new_refresh_token(Uuid::new_v4()).unwrap();
    let (hex, random) = token.split_once('.').unwrap();
    let hyphenated = Uuid::new_v4().hyphenated().to_string();
    let bad = [
        String::new(),
        "garbage".to_owned(),
        format!("{hex}{random}"),
        format!("{hex}.{random}x"),
        format!("{hex}.{}", &random[..42]),
        format!("{}.{random}", hex.to_uppercase()),
        format!("{}.{random}", &hyphenated[..32]),
        format!("{hex}.{}+", &random[..42]),
        format!("{}g.{random}", &hex[..31]),
        format!("{hex}.{random}.{hex}"),
        format!("{hex}:{random}"),
    ];
    for t in bad {
        assert!(parse_refresh_token(&t).is_none(), "{t}");
    }
}

#[test]
fn tampered_token_hashes_differently() {
    let (token, stored) = new_refresh_token(Uuid::new_v4()).unwrap();
    // The first character after the dot: changing it keeps the base64 canonical.
    let mut chars: Vec<char> = token.chars().collect();
    chars[33] = if chars[33] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let (_, presented) = parse_refresh_token(&tampered).unwrap();
    assert!(!hashes_equal(&presented, &stored));
}

#[test]
fn hashes_equal_compares_content_and_length() {
    assert!(hashes_equal(b"abc", b"abc"));
    assert!(!hashes_equal(b"abc", b"abd"));
    assert!(!hashes_equal(b"abc", b"abcd"));
}
