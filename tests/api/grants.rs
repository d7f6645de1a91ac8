//! Support grants: the owner grants support read access for a while, with a reason, and
//! revokes it; both are in the tenant's audit chain; a grant ends by itself when it expires.
use serde_json::json;
use wavault::clock::Clock;

use crate::helpers::*;

async fn grant_active(app: &TestApp, t: &TestTenant) -> bool {
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let active = tx.support_grant_active(app.clock.now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    active
}

async fn audit_actions(app: &TestApp, t: &TestTenant) -> Vec<String> {
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let events = tx.audit_page(None, 50).await.unwrap();
    tx.commit().await.unwrap();
    events.into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn a_grant_lasts_its_minutes_and_is_audited() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let other = app.create_tenant("other").await;
    assert!(!grant_active(&app, &t).await);
    let (s, g) = status_json(
        app.post(
            "/v1/support-grants",
            Some(&t.owner_token),
            &json!({"minutes": 30, "reason": "ticket 7"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{g}");
    assert!(g["id"].is_string());
    assert_eq!(g["expires_at"], "2026-11-02T09:30:00.000Z");
    assert!(grant_active(&app, &t).await);
    assert!(
        !grant_active(&app, &other).await,
        "a grant is for its own tenant only"
    );
    assert!(
        audit_actions(&app, &t)
            .await
            .contains(&"support_grant.create".to_owned())
    );

    app.clock.advance_secs(29 * 60);
    assert!(grant_active(&app, &t).await);
    app.clock.advance_secs(60);
    assert!(!grant_active(&app, &t).await, "expired at 30 minutes");
}

#[tokio::test]
async fn the_owner_revokes_at_once() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let other = app.create_tenant("other").await;
    let (_, g) = status_json(
        app.post(
            "/v1/support-grants",
            Some(&t.owner_token),
            &json!({"minutes": 10080, "reason": "audit"}),
        )
        .await,
    )
    .await;
    let path = format!("/v1/support-grants/{}", g["id"].as_str().unwrap());
    // Not another tenant's to revoke.
    let (s, _) = status_json(app.delete(&path, Some(&other.owner_token)).await).await;
    assert_eq!(s, 404);
    assert!(grant_active(&app, &t).await);
    let resp = app.delete(&path, Some(&t.owner_token)).await;
    assert_eq!(resp.status().as_u16(), 204);
    assert!(!grant_active(&app, &t).await);
    assert!(
        audit_actions(&app, &t)
            .await
            .contains(&"support_grant.revoke".to_owned())
    );
    let (s, _) = status_json(
        app.delete("/v1/support-grants/not-a-uuid", Some(&t.owner_token))
            .await,
    )
    .await;
    assert_eq!(s, 404);
    let unknown = format!("/v1/support-grants/{}", uuid::Uuid::new_v4());
    let (s, _) = status_json(app.delete(&unknown, Some(&t.owner_token)).await).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn only_owners_grant_and_input_is_checked() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let admin = app.create_user(&t, "ada", "admin").await;
    let support = app.create_staff("sue", "support").await;
    let ok = json!({"minutes": 5, "reason": "r"});
    for token in [&admin.token, &support.token] {
        let (s, _) = status_json(app.post("/v1/support-grants", Some(token), &ok).await).await;
        assert_eq!(s, 403);
    }
    for (minutes, reason, code) in [
        (json!(0), json!("r"), "invalid_minutes"),
        (json!(10081), json!("r"), "invalid_minutes"),
        (json!(5), json!(" "), "invalid_reason"),
    ] {
        let body = json!({"minutes": minutes, "reason": reason});
        let (s, b) = status_json(
            app.post("/v1/support-grants", Some(&t.owner_token), &body)
                .await,
        )
        .await;
        assert_eq!((s, b["error"].as_str()), (422, Some(code)));
    }
    let (s, _) = status_json(
        app.post(
            "/v1/support-grants",
            Some(&t.owner_token),
            &json!({"minutes": "ten", "reason": "r"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422);
}
