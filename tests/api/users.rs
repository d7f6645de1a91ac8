//! `/v1/users`: who may create whom, the password and email policy, and the list.
mod changes;

use serde_json::{Value, json};

use crate::helpers::*;

async fn create(
    app: &TestApp,
    token: &str,
    email: &str,
    password: &str,
    role: &str,
) -> (u16, Value) {
    status_json(
        app.post(
            "/v1/users",
            Some(token),
            &json!({"email": email, "password": password, "role": role}),
        )
        .await,
    )
    .await
}

#[tokio::test]
async fn owners_create_any_tenant_role_and_admins_only_agents() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;

    let (s, admin) = create(
        &app,
        &t.owner_token,
        "Admin@Acme.example ",
        PASSWORD,
        "admin",
    )
    .await;
    assert_eq!(s, 201, "{admin}");
    assert_eq!(admin["email"], "admin@acme.example");
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["disabled"], false);
    let admin_token = app.token_for(Some(&t.slug), "admin@acme.example").await;

    let (s, agent) = create(&app, &admin_token, "agent@acme.example", PASSWORD, "agent").await;
    assert_eq!((s, agent["role"].as_str()), (201, Some("agent")));
    for role in ["admin", "owner"] {
        let (s, b) = create(&app, &admin_token, "x@acme.example", PASSWORD, role).await;
        assert_eq!((s, b["error"].as_str()), (403, Some("forbidden")), "{role}");
    }
    let (s, _) = create(
        &app,
        &t.owner_token,
        "owner2@acme.example",
        PASSWORD,
        "owner",
    )
    .await;
    assert_eq!(s, 201);
    for role in ["operator", "support", "superuser", ""] {
        let (s, b) = create(&app, &t.owner_token, "y@acme.example", PASSWORD, role).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (422, Some("invalid_role")),
            "{role}"
        );
    }
    let (s, b) = create(
        &app,
        &t.owner_token,
        "AGENT@acme.example",
        PASSWORD,
        "agent",
    )
    .await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = status_json(
        app.post(
            "/v1/users",
            Some(&t.owner_token),
            &json!({"email": "z@acme.example"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "{b}");

    let agent_token = app.token_for(Some(&t.slug), "agent@acme.example").await;
    let (_, me) = status_json(app.get("/v1/me", Some(&agent_token)).await).await;
    assert_eq!(me["role"], "agent");
}

#[tokio::test]
async fn password_and_email_policy_answers_422_with_a_code() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let long = "a1".repeat(65);
    let cases = [
        ("new@acme.example", "short pass", "password_too_short"),
        ("new@acme.example", long.as_str(), "password_too_long"),
        ("new@acme.example", "zzzzzzzzzzzzzzzz", "password_too_weak"),
        ("new@acme.example", "Password1234", "password_too_weak"),
        (
            "marguerite@acme.example",
            "hello marguerite 2026",
            "password_too_weak",
        ),
        ("not-an-email", PASSWORD, "invalid_email"),
        ("two@@acme.example", PASSWORD, "invalid_email"),
    ];
    for (email, password, code) in cases {
        let (s, b) = create(&app, &t.owner_token, email, password, "agent").await;
        assert_eq!((s, b["error"].as_str()), (422, Some(code)), "{email} {b}");
        assert!(!b["detail"].as_str().unwrap().contains(password));
    }
}

#[tokio::test]
async fn the_user_list_pages_by_cursor_and_holds_no_secrets() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let agent = app.create_user(&t, "agent", "agent").await;
    enroll_totp(&app, &agent.token).await;
    for i in 0..4 {
        create(
            &app,
            &t.owner_token,
            &format!("u{i}@acme.example"),
            PASSWORD,
            "agent",
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/users?limit=2&cursor={c}"),
            None => "/v1/users?limit=2".to_owned(),
        };
        let resp = app.get(&path, Some(&t.owner_token)).await;
        let text = resp.text().await.unwrap();
        for secret_field in ["password", "hash", "argon2", "totp_secret"] {
            assert!(!text.contains(secret_field), "{secret_field} in {text}");
        }
        let body: Value = serde_json::from_str(&text).unwrap();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), 6);

    let (_, all) = status_json(app.get("/v1/users", Some(&t.owner_token)).await).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    assert!(all["next_cursor"].is_null());
    for bad in [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=ten",
        "cursor=%25%25",
        "cursor=AAAA",
    ] {
        let (s, b) = status_json(
            app.get(&format!("/v1/users?{bad}"), Some(&t.owner_token))
                .await,
        )
        .await;
        assert_eq!(s, 400, "{bad}: {b}");
        assert!(
            b["error"] == "invalid_limit" || b["error"] == "invalid_cursor",
            "{b}"
        );
    }
    assert_eq!(
        app.get("/v1/users?limit=200", Some(&t.owner_token))
            .await
            .status(),
        200
    );
}

async fn enroll_totp(app: &TestApp, token: &str) {
    let (_, e) = status_json(
        app.post("/v1/auth/totp/enroll", Some(token), &json!({}))
            .await,
    )
    .await;
    let secret = e["secret"].as_str().unwrap();
    let secs = u64::try_from(wavault::clock::Clock::now_secs(&app.clock)).unwrap();
    let code = wavault::auth::totp::code_at(secret, secs).unwrap();
    let resp = app
        .post("/v1/auth/totp/confirm", Some(token), &json!({"code": code}))
        .await;
    assert_eq!(resp.status(), 200);
}
