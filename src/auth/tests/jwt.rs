//! Tests of access token issue and verification, including forged and expired tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use uuid::Uuid;

use crate::auth::{AuthError, Claims, JwtKeys, Role};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const OTHER_SECRET: &[u8] = b"fedcba9876543210fedcba9876543210";
const ISS: &str = "wavault";
const AUD: &str = "wavault-api";
const NOW: i64 = 1_900_000_000;
const TTL: i64 = 900;

fn keys() -> JwtKeys {
    JwtKeys::new(SECRET, ISS, AUD, TTL, 0).unwrap()
}

fn claims() -> Claims {
    Claims {
        sub: Uuid::new_v4(),
        sid: Uuid::new_v4(),
        tid: Some(Uuid::new_v4()),
        role: Role::Agent,
        iss: ISS.to_owned(),
        aud: AUD.to_owned(),
        iat: NOW,
        exp: NOW + TTL,
    }
}

fn sign(claims: &Claims, alg: Algorithm, secret: &[u8]) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn b64(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json.as_bytes())
}

fn rejected(keys: &JwtKeys, token: &str, now: i64) -> bool {
    matches!(keys.verify(token, now), Err(AuthError::InvalidToken))
}

#[test]
fn round_trip() {
    let keys = keys();
    let (sub, sid, tid) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (token, expires_in) = keys.issue(sub, sid, Some(tid), Role::Admin, NOW).unwrap();
    assert_eq!(expires_in, TTL);
    let c = keys.verify(&token, NOW + 10).unwrap();
    assert_eq!(
        (c.sub, c.sid, c.tid, c.role),
        (sub, sid, Some(tid), Role::Admin)
    );
    assert_eq!((c.iss.as_str(), c.aud.as_str()), (ISS, AUD));
    assert_eq!((c.iat, c.exp), (NOW, NOW + TTL));
}

#[test]
fn platform_staff_token_has_no_tenant() {
    let keys = keys();
    let (token, _) = keys
        .issue(Uuid::new_v4(), Uuid::new_v4(), None, Role::Support, NOW)
        .unwrap();
    let c = keys.verify(&token, NOW).unwrap();
    assert_eq!((c.tid, c.role), (None, Role::Support));
}

#[test]
fn expiry_uses_the_injected_clock() {
    let keys = keys();
    let (token, _) = keys
        .issue(Uuid::new_v4(), Uuid::new_v4(), None, Role::Operator, NOW)
        .unwrap();
    assert!(keys.verify(&token, NOW + TTL - 1).is_ok());
    assert!(rejected(&keys, &token, NOW + TTL));
    assert!(rejected(&keys, &token, NOW + TTL + 3600));
}

#[test]
fn leeway_stretches_expiry_and_issue_time() {
    let lenient = JwtKeys::new(SECRET, ISS, AUD, TTL, 30).unwrap();
    let (token, _) = lenient
        .issue(Uuid::new_v4(), Uuid::new_v4(), None, Role::Support, NOW)
        .unwrap();
    assert!(lenient.verify(&token, NOW + TTL + 29).is_ok());
    assert!(rejected(&lenient, &token, NOW + TTL + 30));
    assert!(lenient.verify(&token, NOW - 30).is_ok());
    assert!(rejected(&lenient, &token, NOW - 31));
}

#[test]
fn issued_in_the_future_is_rejected() {
    let keys = keys();
    let (token, _) = keys
        .issue(Uuid::new_v4(), Uuid::new_v4(), None, Role::Support, NOW)
        .unwrap();
    assert!(rejected(&keys, &token, NOW - 1));
}

#[test]
fn other_secret_is_rejected() {
    let token = sign(&claims(), Algorithm::HS256, OTHER_SECRET);
    assert!(rejected(&keys(), &token, NOW));
}

#[test]
fn other_algorithm_with_the_same_secret_is_rejected() {
    let token = sign(&claims(), Algorithm::HS512, SECRET);
    assert!(rejected(&keys(), &token, NOW));
}

#[test]
fn wrong_issuer_or_audience_is_rejected() {
    let keys = keys();
    let control = sign(&claims(), Algorithm::HS256, SECRET);
    assert!(keys.verify(&control, NOW).is_ok());

    let wrong_iss = Claims {
        iss: "someone-else".to_owned(),
        ..claims()
    };
    assert!(rejected(
        &keys,
        &sign(&wrong_iss, Algorithm::HS256, SECRET),
        NOW
    ));
    let wrong_aud = Claims {
        aud: "another-api".to_owned(),
        ..claims()
    };
    assert!(rejected(
        &keys,
        &sign(&wrong_aud, Algorithm::HS256, SECRET),
        NOW
    ));
}

#[test]
fn alg_none_is_rejected() {
    let c = claims();
    let payload = format!(
        r#"{{"sub":"{}","sid":"{}","tid":null,"role":"owner","iss":"{ISS}","aud":"{AUD}","iat":{NOW},"exp":{}}}"#,
        c.sub,
        c.sid,
        NOW + TTL
    );
    let keys = keys();
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"NONE"}"#,
    ] {
        let unsigned = format!("{}.{}.", b64(header), b64(&payload));
        assert!(rejected(&keys, &unsigned, NOW), "{header}");
        let with_sig = format!("{}.{}.AAAA", b64(header), b64(&payload));
        assert!(rejected(&keys, &with_sig, NOW), "{header}");
    }
}

#[test]
fn tampered_payload_is_rejected() {
    let keys = keys();
    let (token, _) = keys
        .issue(
            Uuid::new_v4(),
            Uuid::new_v4(),
            Some(Uuid::new_v4()),
            Role::Agent,
            NOW,
        )
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert!(payload.contains(r#""role":"agent""#));
    let forged_payload = payload.replace(r#""role":"agent""#, r#""role":"owner""#);
    let forged = format!("{}.{}.{}", parts[0], b64(&forged_payload), parts[2]);
    assert!(rejected(&keys, &forged, NOW));
}

#[test]
fn missing_claims_and_garbage_are_rejected() {
    let keys = keys();
    let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
    let no_aud = format!(
        r#"{{"sub":"{}","sid":"{}","tid":null,"role":"owner","iss":"{ISS}","iat":{NOW},"exp":{}}}"#,
        Uuid::new_v4(),
        Uuid::new_v4(),
        NOW + TTL
    );
    let unsigned = format!("{header}.{}", b64(&no_aud));
    let sig = encode_sig(&unsigned);
    assert!(rejected(&keys, &format!("{unsigned}.{sig}"), NOW));
    for garbage in ["", "garbage", "a.b.c", "...", &"x".repeat(10_000)] {
        assert!(rejected(&keys, garbage, NOW), "{garbage:.20}");
    }
}

fn encode_sig(signing_input: &str) -> String {
    jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_secret(SECRET),
        Algorithm::HS256,
    )
    .unwrap()
}

#[test]
fn short_secret_is_refused_with_the_variable_name() {
    let err = JwtKeys::new(&SECRET[..31], ISS, AUD, TTL, 0).unwrap_err();
    match err {
        AuthError::WeakSecret(msg) => assert!(msg.contains("WAVAULT__AUTH__JWT_SECRET"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn debug_does_not_show_the_secret() {
    let shown = format!("{:?}", keys());
    assert!(shown.contains("[redacted]"));
    assert!(!shown.contains("0123456789abcdef"));
}
