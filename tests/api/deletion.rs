//! Tenant deletion: who may request, read, cancel and run it, and the suspension it causes.
//! The schedule is in `deletion/schedule.rs`, the wipe in `deletion/wipe.rs`
//! and `deletion/discovery.rs`, its crash safety in `deletion/crash.rs`.
use serde_json::json;

use crate::helpers::*;

pub mod crash;
pub mod discovery;
pub mod schedule;
pub mod seed;
pub mod wipe;

pub fn deletion_path(t: &TestTenant) -> String {
    format!("/v1/tenants/{}/deletion", t.id)
}

pub async fn request_deletion(app: &TestApp, token: &str, t: &TestTenant) -> serde_json::Value {
    let (s, body) = status_json(
        app.post(
            &deletion_path(t),
            Some(token),
            &json!({"reason": "contract ended"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{body}");
    body
}

#[tokio::test]
async fn owner_request_suspends_the_tenant_and_the_owner_can_still_cancel() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let other = app.create_tenant("other").await;
    let body = request_deletion(&app, &t.owner_token, &t).await;
    assert_eq!(body["status"], "scheduled");
    assert_eq!(body["requested_at"], "2026-11-02T09:00:00.000Z");
    assert_eq!(body["scheduled_for"], "2026-11-11T09:00:00.000Z");

    // Suspended: the tenant's users are shut out everywhere else, and cannot sign in.
    let (s, _) = status_json(app.get("/v1/me", Some(&t.owner_token)).await).await;
    assert_eq!(s, 401);
    let (s, _) = status_json(
        app.login(Some("acme"), "owner@acme.example", PASSWORD)
            .await,
    )
    .await;
    assert_ne!(s, 200);
    let tenant = app.state.db.tenant_by_id(t.id).await.unwrap();
    assert_eq!(tenant.status, "suspended");
    // Other tenants are untouched.
    let (s, _) = status_json(app.get("/v1/me", Some(&other.owner_token)).await).await;
    assert_eq!(s, 200);

    // A second request while one is scheduled is a conflict.
    let support = app.create_staff("sue", "support").await;
    let (s, b) = status_json(
        app.post(
            &deletion_path(&t),
            Some(&support.token),
            &json!({"reason": "again"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (409, Some("deletion_already_scheduled"))
    );

    // The owner still sees and cancels its own pending deletion.
    let (s, b) = status_json(app.get(&deletion_path(&t), Some(&t.owner_token)).await).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("scheduled")), "{b}");
    let (s, b) = status_json(app.delete(&deletion_path(&t), Some(&t.owner_token)).await).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("cancelled")), "{b}");
    assert!(b["cancelled_at"].is_string());
    let (s, _) = status_json(app.get("/v1/me", Some(&t.owner_token)).await).await;
    assert_eq!(s, 200);
    // Nothing left to cancel.
    let (s, _) = status_json(app.delete(&deletion_path(&t), Some(&t.owner_token)).await).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn roles_and_other_tenants() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let other = app.create_tenant("other").await;
    let admin = app.create_user(&t, "ada", "admin").await;
    let operator = app.create_staff("oscar", "operator").await;
    let support = app.create_staff("sue", "support").await;
    let body = json!({"reason": "r"});

    // Another tenant's owner: 404 on every route, the tenant's existence is not revealed.
    let (s, _) = status_json(
        app.post(&deletion_path(&t), Some(&other.owner_token), &body)
            .await,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = status_json(app.get(&deletion_path(&t), Some(&other.owner_token)).await).await;
    assert_eq!(s, 404);
    let (s, _) = status_json(
        app.delete(&deletion_path(&t), Some(&other.owner_token))
            .await,
    )
    .await;
    assert_eq!(s, 404);
    // Admins and operators may not request; an operator may read.
    let (s, _) = status_json(
        app.post(&deletion_path(&t), Some(&admin.token), &body)
            .await,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = status_json(
        app.post(&deletion_path(&t), Some(&operator.token), &body)
            .await,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = status_json(app.get(&deletion_path(&t), Some(&operator.token)).await).await;
    assert_eq!(s, 404, "no request yet");
    // Bad input is a 4xx with a code, and an unknown tenant a 404.
    let (s, b) = status_json(
        app.post(
            &deletion_path(&t),
            Some(&support.token),
            &json!({"reason": "  "}),
        )
        .await,
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (422, Some("invalid_reason")));
    let (s, _) = status_json(
        app.post(&deletion_path(&t), Some(&support.token), &json!({}))
            .await,
    )
    .await;
    assert_eq!(s, 422);
    let unknown = format!("/v1/tenants/{}/deletion", uuid::Uuid::new_v4());
    let (s, _) = status_json(app.post(&unknown, Some(&support.token), &body).await).await;
    assert_eq!(s, 404);
    let (s, _) = status_json(
        app.post(
            "/v1/tenants/not-a-uuid/deletion",
            Some(&support.token),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(s, 404);

    request_deletion(&app, &support.token, &t).await;
    let (s, b) = status_json(app.get(&deletion_path(&t), Some(&operator.token)).await).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("scheduled")));
    // Only support executes.
    let exec = format!("{}/execute", deletion_path(&t));
    let (s, _) = status_json(app.post(&exec, Some(&operator.token), &json!({})).await).await;
    assert_eq!(s, 403);
    let (s, _) = status_json(app.post(&exec, Some(&t.owner_token), &json!({})).await).await;
    assert_eq!(
        s, 401,
        "a suspended tenant's owner has no token outside the deletion routes"
    );
}

#[tokio::test]
async fn cancel_after_execution_is_409_and_a_new_request_too() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let support = app.create_staff("sue", "support").await;
    request_deletion(&app, &support.token, &t).await;
    let exec = format!("{}/execute", deletion_path(&t));
    let (s, cert) = status_json(app.post(&exec, Some(&support.token), &json!({})).await).await;
    assert_eq!(s, 200, "{cert}");
    let (s, b) = status_json(app.delete(&deletion_path(&t), Some(&support.token)).await).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (409, Some("deletion_already_executed"))
    );
    let (s, b) = status_json(
        app.post(
            &deletion_path(&t),
            Some(&support.token),
            &json!({"reason": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (409, Some("tenant_deleted")));
    let (s, b) = status_json(app.get(&deletion_path(&t), Some(&support.token)).await).await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "executed");
    assert_eq!(b["certificate"], cert);
    assert!(b["executed_at"].is_string());
    // Running it again returns the same certificate and wipes nothing more.
    let (s, again) = status_json(app.post(&exec, Some(&support.token), &json!({})).await).await;
    assert_eq!((s, &again), (200, &cert));
}
