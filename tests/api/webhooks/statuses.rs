//! Delivery statuses: never backwards, kept when early, recorded once, errors sealed.
use serde_json::json;
use wavault::store::messages::{DIRECTION_OUTBOUND, NewMessage, StoredMessage};

use crate::helpers::*;
use crate::webhook_support::*;

const PNID: &str = "106540352242922";
const TS: i64 = 1_790_000_000;

async fn post_ok(app: &TestApp, body: &serde_json::Value) {
    let (s, b) = status_json(post_webhook_json(app, body).await).await;
    assert_eq!(s, 200, "{b}");
}

/// An app with tenant `acme`, its number, and one inbound message `wamid`.
async fn app_with_inbound(wamid: &str) -> (TestApp, TestTenant) {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    post_ok(&app, &inbound_text(PNID, "15551230001", wamid, "hello", TS)).await;
    (app, t)
}

#[tokio::test]
async fn statuses_never_regress_and_are_recorded_once() {
    let (app, t) = app_with_inbound("wamid.s1").await;

    post_ok(&app, &status_update(PNID, "wamid.s1", "read", TS + 2)).await;
    post_ok(&app, &status_update(PNID, "wamid.s1", "delivered", TS + 1)).await;
    post_ok(&app, &status_update(PNID, "wamid.s1", "sent", TS)).await;
    let m = stored_message(&app, t.id, "wamid.s1").await.unwrap();
    assert_eq!(m.status.as_deref(), Some("read"));

    // Redelivery of a status adds nothing to the history.
    post_ok(&app, &status_update(PNID, "wamid.s1", "read", TS + 2)).await;
    assert_eq!(table_counts(&app, t.id).await["message_status_events"], 3);

    // Failed is final; its errors are kept sealed on the message.
    post_ok(&app, &status_update(PNID, "wamid.s1", "failed", TS + 3)).await;
    post_ok(&app, &status_update(PNID, "wamid.s1", "played", TS + 4)).await;
    let m = stored_message(&app, t.id, "wamid.s1").await.unwrap();
    assert_eq!(m.status.as_deref(), Some("failed"));
    assert_eq!(m.error.unwrap()[0]["code"], 131026);

    let tx = app.state.db.tenant(t.id).await.unwrap();
    let history = tx.status_events_of(m.id).await.unwrap();
    tx.commit().await.unwrap();
    let names: Vec<_> = history.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(names, ["sent", "delivered", "read", "failed", "played"]);
}

#[tokio::test]
async fn a_status_before_its_message_is_applied_when_the_message_arrives() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    post_ok(
        &app,
        &status_update(PNID, "wamid.early", "delivered", TS + 1),
    )
    .await;
    post_ok(&app, &status_update(PNID, "wamid.early", "read", TS + 2)).await;
    let counts = table_counts(&app, t.id).await;
    assert_eq!(
        (counts["message_status_events"], counts["messages"]),
        (2, 0)
    );

    post_ok(
        &app,
        &inbound_text(PNID, "15551230001", "wamid.early", "hello", TS),
    )
    .await;
    let m = stored_message(&app, t.id, "wamid.early").await.unwrap();
    assert_eq!(m.status.as_deref(), Some("read"));
    let tx = app.state.db.tenant(t.id).await.unwrap();
    assert_eq!(tx.status_events_of(m.id).await.unwrap().len(), 2);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_outbound_path_applies_pending_statuses_through_the_store() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    // An inbound message gives us a contact and a conversation to send in.
    post_ok(
        &app,
        &inbound_text(PNID, "15551230001", "wamid.in", "hello", TS),
    )
    .await;
    post_ok(&app, &status_update(PNID, "wamid.out", "failed", TS + 5)).await;

    let keys = app.state.keys.for_tenant(t.id).await.unwrap();
    let inbound = stored_message(&app, t.id, "wamid.in").await.unwrap();
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let content = json!({"type": "text", "text": {"body": "reply"}});
    let new = NewMessage {
        conversation_id: inbound.conversation_id,
        contact_id: inbound.contact_id,
        direction: DIRECTION_OUTBOUND,
        msg_type: "text",
        wamid: None,
        content: &content,
        status: Some("accepted"),
        status_rank: 0,
        sent_at: START_MS,
    };
    let StoredMessage::Inserted { id, .. } = tx.insert_message(&keys, new, START_MS).await.unwrap()
    else {
        panic!("outbound message not stored");
    };
    let bidx = tx
        .set_message_wamid(&keys, id, "wamid.out", START_MS)
        .await
        .unwrap();
    assert_eq!(
        tx.apply_pending_statuses(&keys, id, &bidx, START_MS)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();

    let out = stored_message(&app, t.id, "wamid.out").await.unwrap();
    assert_eq!(out.status.as_deref(), Some("failed"));
    assert_eq!(out.error.unwrap()[0]["title"], "Message undeliverable");
    // A later status of the same message is applied directly (and failed stays final).
    post_ok(&app, &status_update(PNID, "wamid.out", "delivered", TS + 6)).await;
    let out = stored_message(&app, t.id, "wamid.out").await.unwrap();
    assert_eq!(out.status.as_deref(), Some("failed"));
}

/// Stores an outbound message in the conversation of `wamid.in` the way a send does, without
/// applying the statuses already pending for it (what a concurrent commit can miss).
async fn send_unseen(app: &TestApp, t: &TestTenant, wamid: &str) {
    let keys = app.state.keys.for_tenant(t.id).await.unwrap();
    let inbound = stored_message(app, t.id, "wamid.in").await.unwrap();
    let content = json!({"type": "text", "text": {"body": "reply"}});
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let new = NewMessage {
        conversation_id: inbound.conversation_id,
        contact_id: inbound.contact_id,
        direction: DIRECTION_OUTBOUND,
        msg_type: "text",
        wamid: Some(wamid),
        content: &content,
        status: Some("sent"),
        status_rank: 1,
        sent_at: START_MS,
    };
    tx.insert_message(&keys, new, START_MS).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_status_missed_by_a_concurrent_send_is_reconciled_later() {
    let (app, t) = app_with_inbound("wamid.in").await;
    post_ok(
        &app,
        &status_update(PNID, "wamid.raced", "delivered", TS + 5),
    )
    .await;

    // A sender that stored its message without seeing the pending status (the race).
    send_unseen(&app, &t, "wamid.raced").await;
    let m = stored_message(&app, t.id, "wamid.raced").await.unwrap();
    assert_eq!(m.status.as_deref(), Some("sent"));

    // The job loop's run applies it, once.
    let report = wavault::jobs::run_due(&app.state).await.unwrap();
    assert!(report.ran);
    assert_eq!(report.statuses_reconciled, 1);
    let m = stored_message(&app, t.id, "wamid.raced").await.unwrap();
    assert_eq!(m.status.as_deref(), Some("delivered"));
    let again = wavault::jobs::run_due(&app.state).await.unwrap();
    assert_eq!(again.statuses_reconciled, 0);
    let tx = app.state.db.tenant(t.id).await.unwrap();
    assert!(tx.linkable_pending_wamids(100).await.unwrap().is_empty());
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn reconciling_goes_through_every_pending_status_in_batches() {
    let (app, t) = app_with_inbound("wamid.in").await;
    // Three statuses that arrived first, then their messages stored without seeing them.
    for i in 0..3 {
        let wamid = format!("wamid.raced{i}");
        post_ok(&app, &status_update(PNID, &wamid, "read", TS + 5)).await;
        send_unseen(&app, &t, &wamid).await;
    }
    // Batches of two: two transactions, the second one short, which ends the loop.
    let tx = app.state.db.tenant(t.id).await.unwrap();
    assert_eq!(tx.linkable_pending_wamids(100).await.unwrap().len(), 3);
    tx.rollback().await.unwrap();
    let applied = wavault::jobs::reconcile_tenant(&app.state, t.id, 2, START_MS)
        .await
        .unwrap();
    assert_eq!(applied, 3);
    let tx = app.state.db.tenant(t.id).await.unwrap();
    assert!(tx.linkable_pending_wamids(100).await.unwrap().is_empty());
    tx.rollback().await.unwrap();
    for i in 0..3 {
        let m = stored_message(&app, t.id, &format!("wamid.raced{i}"))
            .await
            .unwrap();
        assert_eq!(m.status.as_deref(), Some("read"));
    }
}
