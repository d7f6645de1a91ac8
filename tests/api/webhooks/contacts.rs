//! Contact identity (phone number, business-scoped user id, both), conversations, auto-assignment
//! and opt-out from inbound webhooks.
use serde_json::{Value, json};
use uuid::Uuid;
use wavault::store::sealed::{ContactPlain, open_contact};

use crate::helpers::*;
use crate::webhook_support::*;

const PNID: &str = "106540352242922";
const TS: i64 = 1_790_000_000;

async fn post_ok(app: &TestApp, body: &Value) {
    let (s, b) = status_json(post_webhook_json(app, body).await).await;
    assert_eq!(s, 200, "{b}");
}

async fn contact(app: &TestApp, tenant: Uuid, id: Uuid) -> ContactPlain {
    let keys = app.state.keys.for_tenant(tenant).await.unwrap();
    let tx = app.state.db.tenant(tenant).await.unwrap();
    let row = tx.contact_row(id).await.unwrap();
    tx.commit().await.unwrap();
    open_contact(&keys, &row).unwrap()
}

fn from_user(user_id: &str, wa_id: Option<&str>, name: &str, wamid: &str) -> Value {
    let mut c = json!({"profile": {"name": name}, "user_id": user_id});
    let mut m = json!({"from_user_id": user_id, "id": wamid, "timestamp": TS.to_string(),
        "type": "text", "text": {"body": "hello"}});
    if let Some(w) = wa_id {
        c["wa_id"] = json!(w);
        m["from"] = json!(w);
    }
    envelope(PNID, json!({"contacts": [c], "messages": [m]}))
}

#[tokio::test]
async fn a_user_id_only_contact_is_stored_and_later_linked_to_its_phone() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;

    post_ok(
        &app,
        &from_user("US.13491208655302741918", None, "Ann", "wamid.u1"),
    )
    .await;
    let first = stored_message(&app, t.id, "wamid.u1").await.unwrap();
    let c = contact(&app, t.id, first.contact_id).await;
    assert_eq!(c.user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!((c.wa_id, c.profile_name.as_deref()), (None, Some("Ann")));

    // Both identities in one payload: the phone number joins the same contact.
    post_ok(
        &app,
        &from_user(
            "US.13491208655302741918",
            Some("15551230001"),
            "Ann B",
            "wamid.u2",
        ),
    )
    .await;
    // Phone only from now on: still the same person, found by the phone's blind index.
    post_ok(
        &app,
        &inbound_text(PNID, "15551230001", "wamid.u3", "again", TS + 1),
    )
    .await;

    let counts = table_counts(&app, t.id).await;
    assert_eq!(
        (
            counts["contacts"],
            counts["conversations"],
            counts["messages"]
        ),
        (1, 1, 3)
    );
    let c = contact(&app, t.id, first.contact_id).await;
    assert_eq!(c.wa_id.as_deref(), Some("15551230001"));
    assert_eq!(c.user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(c.profile_name.as_deref(), Some("Test Contact"));
    assert_eq!(c.last_inbound_at, Some((TS + 1) * 1000));

    // Nothing personal is stored in the clear.
    let keys = app.state.keys.for_tenant(t.id).await.unwrap();
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let row = tx
        .contact_by_wa_id(&keys, "+1 555 123 0001")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(row.id, c.id);
    for sealed in [&row.wa_id_enc, &row.user_id_enc, &row.profile_name_enc] {
        let bytes = sealed.as_ref().unwrap();
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("15551230001") && !text.contains("US.1349") && !text.contains("Ann")
        );
    }
}

#[tokio::test]
async fn conversations_reopen_and_are_auto_assigned_round_robin() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    let a1 = app.create_user(&t, "agent1", "agent").await;
    let a2 = app.create_user(&t, "agent2", "agent").await;
    let resp = app
        .patch(
            "/v1/tenant/settings",
            Some(&t.owner_token),
            &json!({"auto_assign": true}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);

    for (i, from) in ["15551230001", "15551230002", "15551230003"]
        .iter()
        .enumerate()
    {
        post_ok(
            &app,
            &inbound_text(PNID, from, &format!("wamid.c{i}"), "hi", TS + i as i64),
        )
        .await;
    }
    let mut assignees = Vec::new();
    for i in 0..3 {
        let m = stored_message(&app, t.id, &format!("wamid.c{i}"))
            .await
            .unwrap();
        let tx = app.state.db.tenant(t.id).await.unwrap();
        let c = tx.conversation(m.conversation_id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(c.status, "open");
        assignees.push(c.assignee_id.unwrap());
    }
    assert_ne!(assignees[0], assignees[1]);
    assert_eq!(assignees[0], assignees[2]);
    assert!([a1.id, a2.id].contains(&assignees[0]) && [a1.id, a2.id].contains(&assignees[1]));

    // A new inbound message reopens a closed conversation and moves last_message_at forward.
    let m = stored_message(&app, t.id, "wamid.c0").await.unwrap();
    close_conversation(&app, t.id, m.conversation_id).await;
    post_ok(
        &app,
        &inbound_text(PNID, "15551230001", "wamid.c9", "back", TS + 100),
    )
    .await;
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let c = tx.conversation(m.conversation_id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (c.status.as_str(), c.last_message_at),
        ("open", (TS + 100) * 1000)
    );
}

/// Closes a conversation directly in the database (the conversations API is not needed here).
async fn close_conversation(app: &TestApp, tenant: Uuid, id: Uuid) {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let conn = Database::connect(&app.db_url).await.unwrap();
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE conversations SET status = 'closed' WHERE tenant_id = $1 AND id = $2"
        }
        _ => "UPDATE conversations SET status = 'closed' WHERE tenant_id = ? AND id = ?",
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [tenant.into(), id.into()],
    ))
    .await
    .unwrap();
    conn.close().await.ok();
}

#[tokio::test]
async fn stop_words_and_marketing_preferences_record_consent() {
    let app = spawn_app_with(&[("meta.opt_out_words[2]", "ARRET")]).await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;

    post_ok(
        &app,
        &inbound_text(PNID, "15551230001", "wamid.o1", "please stop it", TS),
    )
    .await;
    post_ok(
        &app,
        &inbound_text(PNID, "15551230002", "wamid.o2", "  Stop ", TS),
    )
    .await;
    post_ok(
        &app,
        &inbound_text(PNID, "15551230003", "wamid.o3", "arret", TS),
    )
    .await;
    // Redelivery of a STOP adds no second consent event.
    post_ok(
        &app,
        &inbound_text(PNID, "15551230002", "wamid.o2", "  Stop ", TS),
    )
    .await;

    let statuses = |m: &str| {
        let app = &app;
        let m = m.to_owned();
        async move {
            let msg = stored_message(app, t.id, &m).await.unwrap();
            contact(app, t.id, msg.contact_id).await.consent_status
        }
    };
    assert_eq!(statuses("wamid.o1").await, "unknown");
    assert_eq!(statuses("wamid.o2").await, "opted_out");
    assert_eq!(statuses("wamid.o3").await, "opted_out");
    assert_eq!(table_counts(&app, t.id).await["consent_events"], 2);

    let prefs = |value: &str, ts: i64| {
        envelope_field(
            PNID,
            "user_preferences",
            json!({
                "contacts": [{"wa_id": "15551230001"}],
                "user_preferences": [{"wa_id": "15551230001", "category": "marketing_messages",
                    "value": value, "timestamp": ts, "detail": "user request"}]
            }),
        )
    };
    app.clock.advance_secs(1);
    post_ok(&app, &prefs("stop", TS + 1)).await;
    post_ok(&app, &prefs("stop", TS + 1)).await;
    app.clock.advance_secs(1);
    assert_eq!(statuses("wamid.o1").await, "opted_out");
    post_ok(&app, &prefs("resume", TS + 2)).await;
    assert_eq!(statuses("wamid.o1").await, "opted_in");

    let m = stored_message(&app, t.id, "wamid.o1").await.unwrap();
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let history = tx.consent_history(&[m.contact_id]).await.unwrap();
    tx.commit().await.unwrap();
    let sources: Vec<_> = history
        .iter()
        .map(|e| (e.status.as_str(), e.source.as_str()))
        .collect();
    assert_eq!(
        sources,
        [
            ("opted_out", "webhook:user_preferences"),
            ("opted_in", "webhook:user_preferences")
        ]
    );
}
