use serde_json::json;

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
