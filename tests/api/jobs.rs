//! Background jobs: message retention, billing-record retention, and one runner at a time.
use serde_json::json;
use wavault::clock::Clock;
use wavault::jobs::{LOCK_NAME, run_due};

use crate::deletion::seed::{counts, seed_content, snapshot};
use crate::helpers::*;

const DAY_MS: i64 = 86_400_000;

#[tokio::test]
async fn messages_past_retention_are_purged_with_their_status_events() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let keep_all = app.create_tenant("keeper").await;
    let now = app.clock.now_ms();
    // Per conversation (two of them): two old messages and one recent.
    let sent = [now - 40 * DAY_MS, now - 31 * DAY_MS, now - 5 * DAY_MS];
    seed_content(&app, t.id, "acme", &sent).await;
    seed_content(&app, keep_all.id, "keeper", &sent).await;
    app.state
        .db
        .update_tenant_settings(t.id, None, Some(Some(30)), None, now)
        .await
        .unwrap();
    let other_before = snapshot(&app, keep_all.id).await;

    let r = run_due(&app.state).await.unwrap();
    assert!(r.ran);
    assert_eq!(r.messages_purged, 4);
    // Four matched status events and the unmatched one, which is as old as the oldest message.
    assert_eq!(r.status_events_purged, 5);
    let after = counts(&snapshot(&app, t.id).await);
    assert_eq!(after["messages"], 2);
    assert_eq!(after["message_status_events"], 2);
    assert_eq!(
        after["contacts"], 2,
        "retention removes messages, not contacts"
    );
    assert_eq!(snapshot(&app, keep_all.id).await, other_before);

    // Audited in the tenant's chain, with counts and no content.
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let events = tx.audit_page(None, 10).await.unwrap();
    tx.commit().await.unwrap();
    let purge = events
        .iter()
        .find(|e| e.action == "retention.purge")
        .expect("audited");
    let detail: serde_json::Value = serde_json::from_str(&purge.detail).unwrap();
    assert_eq!(detail["messages"], 4);

    // Nothing more to do on a second run; more becomes due as time passes.
    let r = run_due(&app.state).await.unwrap();
    assert_eq!((r.messages_purged, r.status_events_purged), (0, 0));
    app.clock.advance_secs(26 * 86_400);
    let r = run_due(&app.state).await.unwrap();
    assert_eq!(r.messages_purged, 2);
}

#[tokio::test]
async fn billing_records_leave_only_after_retain_until() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let operator = app.create_staff("oscar", "operator").await;
    let path = format!("/v1/tenants/{}/billing-records", t.id);
    for (n, issued) in [
        ("OLD-1", "2019-11-01T00:00:00Z"),
        ("NEW-1", "2026-11-01T00:00:00Z"),
    ] {
        let (s, b) = status_json(
            app.post(
                &path,
                Some(&operator.token),
                &json!({"invoice_number": n, "amount_minor": 100, "currency": "INR", "issued_at": issued}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
    // OLD-1 is kept until 2026-11-01: already past.
    let r = run_due(&app.state).await.unwrap();
    assert_eq!(r.billing_records_purged, 1);
    let (_, list) = status_json(app.get(&path, Some(&operator.token)).await).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["invoice_number"], "NEW-1");
    let r = run_due(&app.state).await.unwrap();
    assert_eq!(r.billing_records_purged, 0);
    app.clock.set_ms(
        chrono::DateTime::parse_from_rfc3339("2033-11-01T00:00:01Z")
            .unwrap()
            .timestamp_millis(),
    );
    let r = run_due(&app.state).await.unwrap();
    assert_eq!(r.billing_records_purged, 1);
}

#[tokio::test]
async fn one_runner_at_a_time() {
    let app = spawn_app().await;
    let now = app.clock.now_ms();
    let held = app
        .state
        .db
        .try_job_lock(LOCK_NAME, "another-instance", now, 60_000)
        .await
        .unwrap()
        .expect("free at first");
    let r = run_due(&app.state).await.unwrap();
    assert!(!r.ran, "ran while another runner held the lock");
    assert!(
        app.state
            .db
            .try_job_lock(LOCK_NAME, "a-third", now, 60_000)
            .await
            .unwrap()
            .is_none()
    );
    app.state.db.release_job_lock(held).await.unwrap();
    let r = run_due(&app.state).await.unwrap();
    assert!(r.ran);
    // Released after the run: the next one gets it again.
    assert!(run_due(&app.state).await.unwrap().ran);
}

#[tokio::test]
async fn the_background_loop_runs_due_wipes() {
    let app = spawn_app_with(&[("retention.job_interval_secs", "1")]).await;
    let t = app.create_tenant("acme").await;
    let support = app.create_staff("sue", "support").await;
    crate::deletion::request_deletion(&app, &support.token, &t).await;
    app.clock.advance_secs(30 * 86_400);
    let token = app.token_for(None, &support.email).await;
    let mut status = String::new();
    for _ in 0..100 {
        let (_, b) = status_json(
            app.get(&crate::deletion::deletion_path(&t), Some(&token))
                .await,
        )
        .await;
        status = b["status"].as_str().unwrap_or_default().to_owned();
        if status == "executed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "executed");
}
