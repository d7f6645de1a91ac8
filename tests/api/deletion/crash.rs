//! A wipe interrupted half way (an error after the first table; a process "killed" while the
//! transaction is open) leaves everything as it was; the next run finishes it and produces the
//! certificate once, with every row counted.
use std::time::Duration;

use entity::platform_audit_events;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use wavault::identity::Actor;
use wavault::wipe::{WipeError, WipeHooks, execute_with};

use super::seed::{connect, counts, snapshot};
use super::wipe::{fixture, wiped_tables};
use super::{deletion_path, request_deletion};
use crate::helpers::*;

async fn wipe_events(app: &TestApp) -> u64 {
    let db = connect(app).await;
    platform_audit_events::Entity::find()
        .filter(platform_audit_events::Column::Action.eq("tenant.wiped"))
        .count(&db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_interrupted_wipe_changes_nothing_and_a_rerun_finishes_it_once() {
    let f = fixture().await;
    let app = &f.app;
    request_deletion(app, &f.support.token, &f.a).await;
    let tables = wiped_tables(app).await;
    let before = snapshot(app, f.a.id).await;
    let actor = Actor {
        kind: "staff",
        id: Some(f.support.id),
        ip: None,
        user_agent: None,
    };

    // Fails after the first table.
    let hooks = WipeHooks {
        fail_after_tables: Some(1),
        ..WipeHooks::default()
    };
    let err = execute_with(&app.state, f.a.id, &actor, &hooks)
        .await
        .unwrap_err();
    assert!(matches!(err, WipeError::Interrupted), "{err:?}");
    assert_eq!(
        snapshot(app, f.a.id).await,
        before,
        "a failed wipe left changes"
    );

    // Dies half way with the transaction open: the future is dropped, as a killed process is.
    let hooks = WipeHooks {
        stall_after_tables: Some(tables.len() / 2),
        ..WipeHooks::default()
    };
    let stalled = tokio::time::timeout(
        Duration::from_millis(500),
        execute_with(&app.state, f.a.id, &actor, &hooks),
    )
    .await;
    assert!(stalled.is_err(), "the wipe was expected to stall");
    assert_eq!(
        snapshot(app, f.a.id).await,
        before,
        "a killed wipe left changes"
    );
    assert!(
        app.state.keys.for_tenant(f.a.id).await.is_ok(),
        "keys survive an interrupted wipe"
    );
    let (_, status) =
        status_json(app.get(&deletion_path(&f.a), Some(&f.support.token)).await).await;
    assert_eq!(status["status"], "scheduled");
    assert_eq!(wipe_events(app).await, 0);

    // The re-run completes, counting every row, including those the interrupted runs had reached.
    let exec = format!("{}/execute", deletion_path(&f.a));
    let (s, cert) = status_json(app.post(&exec, Some(&f.support.token), &json!({})).await).await;
    assert_eq!(s, 200, "{cert}");
    let before = counts(&before);
    for t in &tables {
        assert_eq!(cert["rows_removed"][t], json!(before[t]), "{t}");
    }
    wavault::wipe::certificate::verify_with(&app.state.signer, &cert).unwrap();

    // Produced once: the job and another execute find it done and return the same certificate.
    app.clock.advance_secs(30 * 86_400);
    let r = wavault::jobs::run_due(&app.state).await.unwrap();
    assert_eq!(r.wipes_executed, 0);
    let token = app.token_for(None, &f.support.email).await;
    let (_, again) = status_json(app.post(&exec, Some(&token), &json!({})).await).await;
    assert_eq!(again, cert);
    assert_eq!(wipe_events(app).await, 1);
    let (_, status) = status_json(app.get(&deletion_path(&f.a), Some(&token)).await).await;
    assert_eq!(status["certificate"], cert);
}
