//! Sign-in, sessions, tokens, TOTP and throttling.
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn owner_signs_in_and_sees_itself() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let (s, me) = status_json(app.get("/v1/me", Some(&t.owner_token)).await).await;
    assert_eq!(s, 200);
    assert_eq!(me["role"], "owner");
    assert_eq!(me["tenant_id"], t.id.to_string());
    assert_eq!(me["totp_enabled"], false);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_401() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let (s1, b1) = status_json(
        app.login(Some(&t.slug), "owner@acme.example", "wrong password here")
            .await,
    )
    .await;
    let (s2, b2) = status_json(
        app.login(Some(&t.slug), "nobody@acme.example", PASSWORD)
            .await,
    )
    .await;
    let (s3, b3) = status_json(
        app.login(Some("no-such-tenant"), "owner@acme.example", PASSWORD)
            .await,
    )
    .await;
    for (s, b) in [(s1, &b1), (s2, &b2), (s3, &b3)] {
        assert_eq!(s, 401);
        assert_eq!(b["error"], "invalid_credentials");
    }
}

#[tokio::test]
async fn logout_revokes_the_access_token_at_once() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let resp = app
        .post("/v1/auth/logout", Some(&t.owner_token), &json!({}))
        .await;
    assert_eq!(resp.status().as_u16(), 204);
    let (s, b) = status_json(app.get("/v1/me", Some(&t.owner_token)).await).await;
    assert_eq!(s, 401);
    assert_eq!(b["error"], "invalid_token");
}

// --- sessions: refresh rotation and reuse ---

async fn pair(app: &TestApp, slug: &str, email: &str) -> (String, String) {
    let (s, body) = status_json(app.login(Some(slug), email, PASSWORD).await).await;
    assert_eq!(s, 200, "{body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    status_json(
        app.post("/v1/auth/refresh", None, &json!({"refresh_token": token}))
            .await,
    )
    .await
}

#[tokio::test]
async fn refresh_rotates_and_reusing_a_spent_token_revokes_the_session() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let (_, first_refresh) = pair(&app, &t.slug, "owner@acme.example").await;

    let (s, second) = refresh(&app, &first_refresh).await;
    assert_eq!(s, 200, "{second}");
    assert_eq!(second["token_type"], "Bearer");
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(app.get("/v1/me", Some(&second_access)).await.status(), 200);

    // The spent token is refused, and its reuse kills the whole session.
    let (s, body) = refresh(&app, &first_refresh).await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_token")));
    assert_eq!(refresh(&app, &second_refresh).await.0, 401);
    assert_eq!(app.get("/v1/me", Some(&second_access)).await.status(), 401);

    let (_, audit) = status_json(app.get("/v1/audit", Some(&t.owner_token)).await).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"auth.refresh_reuse"), "{actions:?}");
}

#[tokio::test]
async fn malformed_refresh_tokens_are_401() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    for token in [
        "",
        "x",
        "x.y",
        "p.abc",
        "00000000000000000000000000000000.zz",
    ] {
        assert_eq!(refresh(&app, token).await.0, 401, "{token:?}");
    }
}

// --- TOTP ---

async fn login_with_code(
    app: &TestApp,
    slug: &str,
    email: &str,
    code: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({"tenant": slug, "email": email, "password": PASSWORD});
    if let Some(c) = code {
        body["totp_code"] = json!(c);
    }
    status_json(app.post("/v1/auth/login", None, &body).await).await
}

fn code_now(app: &TestApp, secret: &str) -> String {
    let secs = u64::try_from(wavault::clock::Clock::now_secs(&app.clock)).unwrap();
    wavault::auth::totp::code_at(secret, secs).unwrap()
}

async fn enroll_and_confirm(app: &TestApp, token: &str) -> String {
    let (s, e) = status_json(
        app.post("/v1/auth/totp/enroll", Some(token), &json!({}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{e}");
    assert!(
        e["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let secret = e["secret"].as_str().unwrap().to_owned();
    let code = code_now(app, &secret);
    let (s, b) = status_json(
        app.post("/v1/auth/totp/confirm", Some(token), &json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    secret
}

#[tokio::test]
async fn totp_enrolment_then_sign_in_needs_a_fresh_code_each_time() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let email = "owner@acme.example";

    // A wrong code does not turn TOTP on.
    let (_, e) = status_json(
        app.post("/v1/auth/totp/enroll", Some(&t.owner_token), &json!({}))
            .await,
    )
    .await;
    assert!(e["secret"].is_string());
    let (s, b) = status_json(
        app.post(
            "/v1/auth/totp/confirm",
            Some(&t.owner_token),
            &json!({"code": "abcdef"}),
        )
        .await,
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (422, Some("invalid_totp")));

    let secret = enroll_and_confirm(&app, &t.owner_token).await;
    let (_, me) = status_json(app.get("/v1/me", Some(&t.owner_token)).await).await;
    assert_eq!(me["totp_enabled"], true);
    let (s, _) = status_json(
        app.post("/v1/auth/totp/enroll", Some(&t.owner_token), &json!({}))
            .await,
    )
    .await;
    assert_eq!(s, 409);

    let (s, b) = login_with_code(&app, &t.slug, email, None).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("totp_required")));
    // The code spent on confirmation does not sign in.
    let spent = code_now(&app, &secret);
    let (s, b) = login_with_code(&app, &t.slug, email, Some(&spent)).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_totp")));

    app.clock.advance_secs(30);
    let fresh = code_now(&app, &secret);
    let (s, b) = login_with_code(&app, &t.slug, email, Some(&fresh)).await;
    assert_eq!(s, 200, "{b}");
    // The same code twice is refused.
    let (s, b) = login_with_code(&app, &t.slug, email, Some(&fresh)).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_totp")));
    // So is a wrong password with a good code.
    app.clock.advance_secs(30);
    let body = json!({"tenant": t.slug, "email": email, "password": "not the password at all",
        "totp_code": code_now(&app, &secret)});
    let (s, b) = status_json(app.post("/v1/auth/login", None, &body).await).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_credentials")));
}

#[tokio::test]
async fn require_totp_confines_users_without_it_to_enrolment() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let admin = app.create_user(&t, "admin", "admin").await;
    let (s, b) = status_json(
        app.patch(
            "/v1/tenant/settings",
            Some(&t.owner_token),
            &json!({"require_totp": true}),
        )
        .await,
    )
    .await;
    assert_eq!((s, b["require_totp"].as_bool()), (200, Some(true)));

    let (s, b) = status_json(app.get("/v1/users", Some(&admin.token)).await).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (403, Some("totp_enrollment_required"))
    );
    // A fresh sign-in does not get around it.
    let fresh = app.token_for(Some(&t.slug), &admin.email).await;
    assert_eq!(app.get("/v1/users", Some(&fresh)).await.status(), 403);
    assert_eq!(app.get("/v1/me", Some(&fresh)).await.status(), 200);

    enroll_and_confirm(&app, &admin.token).await;
    assert_eq!(app.get("/v1/users", Some(&admin.token)).await.status(), 200);
    // The owner who turned it on is held to it as well.
    assert_eq!(
        app.get("/v1/users", Some(&t.owner_token)).await.status(),
        403
    );
}

// --- throttling ---

/// A sign-in with a wrong password: its status and body.
async fn wrong_password(app: &TestApp, slug: &str, email: &str) -> (u16, Value) {
    status_json(app.login(Some(slug), email, "wrong password here").await).await
}

#[tokio::test]
async fn instances_share_one_failed_sign_in_budget() {
    let app = spawn_app().await;
    let other = app.second_instance().await;
    let t = app.create_tenant("acme").await;
    let email = "owner@acme.example";
    // Failures spread over two instances count against one budget (5 in the test config).
    for i in 0..5 {
        let node = if i % 2 == 0 { &app } else { &other };
        let (s, _) = wrong_password(node, &t.slug, email).await;
        assert_eq!(s, 401);
    }
    for node in [&app, &other] {
        assert_eq!(
            node.login(Some(&t.slug), email, PASSWORD).await.status(),
            429
        );
    }
    // The table holds neither the address nor the IP, only keyed hashes.
    let db = Database::connect(&app.db_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT key_hash, failures FROM login_failures",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "one row for the account, one for the IP");
    for r in &rows {
        let key: Vec<u8> = r.try_get("", "key_hash").unwrap();
        assert_eq!(key.len(), 32);
        assert!(!String::from_utf8_lossy(&key).contains("acme"));
        let failures: i32 = r.try_get("", "failures").unwrap();
        assert_eq!(failures, 5);
    }

    // Once the window has passed the job run deletes the counts and sign-in works again.
    let window = app.state.settings.auth.failed_login_window_secs;
    app.clock.advance_secs(window);
    let report = wavault::jobs::run_due(&app.state).await.unwrap();
    assert_eq!(report.login_failures_purged, 2);
    assert_eq!(
        other.login(Some(&t.slug), email, PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn a_failure_after_the_window_starts_a_new_count() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let email = "owner@acme.example";
    for _ in 0..4 {
        wrong_password(&app, &t.slug, email).await;
    }
    app.clock
        .advance_secs(app.state.settings.auth.failed_login_window_secs);
    // Four old failures and four new ones: still under the budget of five.
    for _ in 0..4 {
        let (s, _) = wrong_password(&app, &t.slug, email).await;
        assert_eq!(s, 401);
    }
    assert_eq!(
        app.login(Some(&t.slug), email, PASSWORD).await.status(),
        200
    );
    // A success clears the account's count, not the IP's: one more failure from this IP (its
    // fifth in the window) locks the IP out, for every account.
    wrong_password(&app, &t.slug, email).await;
    assert_eq!(
        app.login(Some(&t.slug), email, PASSWORD).await.status(),
        429
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_retry_after_then_released() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let email = "owner@acme.example";
    for _ in 0..5 {
        let (s, _) = wrong_password(&app, &t.slug, email).await;
        assert_eq!(s, 401);
    }
    let resp = app.login(Some(&t.slug), email, "wrong password here").await;
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let (_, b) = status_json(resp).await;
    assert_eq!(b["error"], "rate_limited");
    // Even the right password waits: the lock-out does not tell which guess was right.
    assert_eq!(
        app.login(Some(&t.slug), email, PASSWORD).await.status(),
        429
    );

    app.clock.advance_secs(i64::try_from(retry).unwrap());
    assert_eq!(
        app.login(Some(&t.slug), email, PASSWORD).await.status(),
        200
    );
}
