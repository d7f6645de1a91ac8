//! The schedule: business days (Monday to Friday, minus holidays) on a fixed clock, and the
//! configured number of them, which may not exceed 7.
use std::path::Path;
use std::sync::Arc;

use wavault::clock::ManualClock;
use wavault::config::{Environment, Settings};
use wavault::startup::Application;

use super::{deletion_path, request_deletion};
use crate::helpers::*;

/// 2026-11-06T18:00:00Z, a Friday evening.
pub const FRIDAY_EVENING_MS: i64 = START_MS + 4 * 86_400_000 + 9 * 3_600_000;

/// Application state (no HTTP) whose settings are adjusted before it is built.
async fn state_with(
    adjust: impl FnOnce(&mut Settings),
) -> (
    wavault::state::AppState,
    ManualClock,
    Option<tempfile::TempDir>,
) {
    let (db_url, dir) = fresh_database().await;
    let mut settings = test_settings(&db_url, &[]);
    adjust(&mut settings);
    let clock = ManualClock::new(START_MS);
    let app = Application::build_with_clock(settings, Arc::new(clock.clone()), true)
        .await
        .unwrap();
    (app.state().clone(), clock, dir)
}

#[tokio::test]
async fn friday_evening_request_is_due_seven_business_days_later_and_runs_then() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let support = app.create_staff("sue", "support").await;
    app.clock.set_ms(FRIDAY_EVENING_MS);
    let token = app.token_for(None, &support.email).await;
    let body = request_deletion(&app, &token, &t).await;
    assert_eq!(body["requested_at"], "2026-11-06T18:00:00.000Z");
    assert_eq!(body["scheduled_for"], "2026-11-17T18:00:00.000Z");

    // Not yet due a minute before; due at the time.
    let due = chrono::DateTime::parse_from_rfc3339("2026-11-17T18:00:00Z")
        .unwrap()
        .timestamp_millis();
    app.clock.set_ms(due - 60_000);
    let r = wavault::jobs::run_due(&app.state).await.unwrap();
    assert_eq!((r.ran, r.wipes_executed), (true, 0));
    app.clock.set_ms(due);
    let r = wavault::jobs::run_due(&app.state).await.unwrap();
    assert_eq!(r.wipes_executed, 1);
    let token = app.token_for(None, &support.email).await;
    let (_, b) = status_json(app.get(&deletion_path(&t), Some(&token)).await).await;
    assert_eq!(b["status"], "executed");
    assert_eq!(b["certificate"]["executed_by_kind"], "job");
    assert_eq!(b["executed_at"], "2026-11-17T18:00:00.000Z");
}

#[tokio::test]
async fn holidays_are_skipped() {
    let (state, clock, _dir) = state_with(|s| {
        s.retention.holidays = ["2026-11-09", "2026-11-10", "2026-11-14"]
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
    })
    .await;
    let actor = wavault::identity::Actor::cli();
    let t = wavault::identity::create_tenant(
        &state,
        "Acme",
        "acme",
        "o@acme.example",
        PASSWORD,
        &actor,
    )
    .await
    .unwrap();
    clock.set_ms(FRIDAY_EVENING_MS);
    let req = wavault::wipe::request(&state, t.id, &actor, "contract ended")
        .await
        .unwrap();
    assert_eq!(
        wavault::clock::rfc3339(req.scheduled_for),
        "2026-11-19T18:00:00.000Z"
    );
}

#[tokio::test]
async fn fewer_business_days_are_honoured_and_more_than_seven_refused() {
    let app = spawn_app_with(&[("retention.deletion_business_days", "1")]).await;
    let t = app.create_tenant("acme").await;
    let support = app.create_staff("sue", "support").await;
    app.clock.set_ms(FRIDAY_EVENING_MS);
    let token = app.token_for(None, &support.email).await;
    let body = request_deletion(&app, &token, &t).await;
    assert_eq!(body["scheduled_for"], "2026-11-09T18:00:00.000Z");

    for days in ["8", "0"] {
        let overrides = [
            ("database.url", "sqlite://unused.db?mode=rwc"),
            ("crypto.master_keys", MASTER_KEYS),
            ("crypto.active_key", "k1"),
            ("crypto.certificate_key", CERT_KEY),
            ("auth.jwt_secret", JWT_SECRET),
            ("meta.app_secrets", APP_SECRET),
            ("meta.verify_token", VERIFY_TOKEN),
            ("retention.deletion_business_days", days),
        ];
        let err = Settings::load_from(Path::new("config"), Environment::Test, &overrides, false)
            .expect_err("refused");
        assert!(err.to_string().contains("deletion_business_days"), "{err}");
    }
}
