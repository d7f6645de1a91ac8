//! Access-token attacks: forged, relabelled, re-keyed, expired and misused tokens are all 401.
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::*;

async fn fresh_access_token(app: &TestApp, slug: &str, email: &str) -> String {
    app.token_for(Some(slug), email).await
}

async fn fresh_refresh_token(app: &TestApp, slug: &str, email: &str) -> String {
    let (s, body) = status_json(app.login(Some(slug), email, PASSWORD).await).await;
    assert_eq!(s, 200, "{body}");
    body["refresh_token"].as_str().unwrap().to_owned()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// A token with any header, signed with HMAC-SHA256 under `secret` whatever `alg` says.
fn hmac_with_header(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

#[tokio::test]
async fn forged_and_misused_tokens_are_all_401() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let agent = app.create_user(&t, "agent", "agent").await;
    let claims = claims_of(&t.owner_token);
    let secret = JWT_SECRET.as_bytes();

    // Control: the same claims signed the right way are accepted, so each refusal below is
    // about the one thing that was changed.
    let control = sign_hs256(&claims, secret);
    assert_eq!(app.get("/v1/me", Some(&control)).await.status(), 200);

    let mut cases: Vec<(&str, String)> = Vec::new();
    let none_header = json!({"alg": "none", "typ": "JWT"});
    cases.push((
        "alg none, no signature",
        format!(
            "{}.{}.",
            b64(none_header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        ),
    ));
    cases.push((
        "alg none, with a signature",
        hmac_with_header(&none_header, &claims, secret),
    ));
    cases.push((
        "RS256 label, HMAC under the real secret",
        hmac_with_header(&json!({"alg": "RS256", "typ": "JWT"}), &claims, secret),
    ));
    cases.push((
        "HS512 label",
        hmac_with_header(&json!({"alg": "HS512", "typ": "JWT"}), &claims, secret),
    ));
    cases.push((
        "signed with another key",
        sign_hs256(&claims, b"another-secret-that-is-also-long-enough-0123"),
    ));
    let mut c = claims.clone();
    c["iss"] = json!("someone-else");
    cases.push(("wrong issuer", sign_hs256(&c, secret)));
    let mut c = claims.clone();
    c["aud"] = json!("another-api");
    cases.push(("wrong audience", sign_hs256(&c, secret)));
    let mut c = claims.clone();
    c["role"] = json!("operator");
    c["tid"] = Value::Null;
    cases.push(("tenant owner claiming to be staff", sign_hs256(&c, secret)));
    let mut c = claims.clone();
    c["sid"] = json!(uuid::Uuid::new_v4());
    cases.push(("unknown session", sign_hs256(&c, secret)));
    let mut tampered = t.owner_token.clone();
    tampered.push('A');
    cases.push(("signature altered", tampered));
    let refresh_token = fresh_refresh_token(&app, &t.slug, "owner@acme.example").await;
    cases.push(("refresh token as access token", refresh_token));
    cases.push(("empty", String::new()));

    // A disabled user's token, and a token after logout.
    let (s, _) = status_json(
        app.patch(
            &format!("/v1/users/{}", agent.id),
            Some(&t.owner_token),
            &json!({"disabled": true}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    cases.push(("disabled user", agent.token.clone()));
    let logged_out = fresh_access_token(&app, &t.slug, "owner@acme.example").await;
    let resp = app
        .post("/v1/auth/logout", Some(&logged_out), &json!({}))
        .await;
    assert_eq!(resp.status(), 204);
    cases.push(("after logout", logged_out));

    let mut accepted = Vec::new();
    for (name, token) in &cases {
        let (s, body) = status_json(app.get("/v1/me", Some(token)).await).await;
        if s != 401 || !(body["error"] == "invalid_token" || body["error"] == "unauthenticated") {
            accepted.push(format!("{name}: {s} {body}"));
        }
    }
    assert!(accepted.is_empty(), "not refused with 401: {accepted:#?}");
}

#[tokio::test]
async fn an_access_token_expires_at_its_exp_with_no_leeway() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let token = fresh_access_token(&app, &t.slug, "owner@acme.example").await;
    let ttl =
        claims_of(&token)["exp"].as_i64().unwrap() - claims_of(&token)["iat"].as_i64().unwrap();
    app.clock.advance_secs(ttl - 1);
    assert_eq!(app.get("/v1/me", Some(&token)).await.status(), 200);
    app.clock.advance_secs(1);
    assert_eq!(app.get("/v1/me", Some(&token)).await.status(), 401);
    app.clock.advance_secs(1);
    let (s, body) = status_json(app.get("/v1/me", Some(&token)).await).await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_token")));
}
