//! `/webhooks/whatsapp`: handshake, signature, size limit, routing and tenant isolation. The
//! corpus, delivery statuses, contacts, durability and fuzzing have their own files below.
mod contacts;
mod corpus;
mod durability;
mod fuzz;
mod statuses;

use serde_json::json;

use crate::helpers::*;
use crate::webhook_support::*;

const PNID: &str = "106540352242922";

#[tokio::test]
async fn handshake_echoes_the_challenge_only_for_the_right_token() {
    let app = spawn_app().await;
    let ok = app
        .get(
            &format!("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"),
            None,
        )
        .await;
    assert_eq!(ok.status().as_u16(), 200);
    let ctype = ok.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    assert_eq!(ok.text().await.unwrap(), "1158201444");

    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=test-verify-token&hub.challenge=1",
        "hub.verify_token=test-verify-token&hub.challenge=1",
        "hub.mode=subscribe&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=test-verify-token",
        "",
    ] {
        let resp = app.get(&format!("/webhooks/whatsapp?{query}"), None).await;
        assert_eq!(resp.status().as_u16(), 403, "{query}");
    }
}

#[tokio::test]
async fn bad_signatures_are_401_and_store_nothing() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    let body = serde_json::to_vec(&inbound_text(
        PNID,
        "15551230001",
        "wamid.sig1",
        "hi",
        1_790_000_000,
    ))
    .unwrap();
    let good = wavault::webhook::sign(APP_SECRET, &body);

    let mut flipped = body.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let wrong_secret = wavault::webhook::sign("not-the-app-secret", &body);
    let sha1 = good.replacen("sha256=", "sha1=", 1);
    let bare = good.trim_start_matches("sha256=").to_owned();

    let cases: Vec<(&str, &[u8], Option<&str>)> = vec![
        ("wrong secret", &body, Some(&wrong_secret)),
        ("flipped byte", &flipped, Some(&good)),
        ("re-serialised", &pretty, Some(&good)),
        ("missing header", &body, None),
        ("wrong prefix", &body, Some(&sha1)),
        ("no prefix", &body, Some(&bare)),
        ("empty header", &body, Some("")),
    ];
    for (name, bytes, sig) in cases {
        let (s, b) = status_json(post_webhook_signed(&app, bytes, sig).await).await;
        assert_eq!(s, 401, "{name}: {b}");
        assert_eq!(b["error"], "invalid_signature", "{name}");
    }
    assert!(holds_nothing(&app, t.id).await);

    let resp = post_webhook_signed(&app, &body, Some(&good)).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(table_counts(&app, t.id).await["messages"], 1);
}

#[tokio::test]
async fn every_configured_app_secret_is_accepted_during_rotation() {
    let app = spawn_app_with(&[("meta.app_secrets", "old-app-secret, test-app-secret")]).await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    for (i, secret) in ["old-app-secret", APP_SECRET].iter().enumerate() {
        let body = serde_json::to_vec(&inbound_text(
            PNID,
            "15551230001",
            &format!("wamid.rot{i}"),
            "hi",
            1_790_000_000,
        ))
        .unwrap();
        let sig = wavault::webhook::sign(secret, &body);
        let resp = post_webhook_signed(&app, &body, Some(&sig)).await;
        assert_eq!(resp.status().as_u16(), 200, "{secret}");
    }
    assert_eq!(table_counts(&app, t.id).await["messages"], 2);
}

#[tokio::test]
async fn invalid_json_is_400_and_too_large_is_413() {
    let app = spawn_app_with(&[("server.webhook_body_limit_bytes", "2048")]).await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    for body in [
        &b"{\"object\": \"whatsapp_business_account\", \"entry\": ["[..],
        b"[1,2,3]",
        b"\"text\"",
        b"",
    ] {
        let (s, b) = status_json(post_webhook(&app, body).await).await;
        assert_eq!(s, 400, "{b}");
        assert_eq!(b["error"], "malformed_payload");
    }
    let big = inbound_text(
        PNID,
        "15551230001",
        "wamid.big",
        &"x".repeat(4096),
        1_790_000_000,
    );
    let (s, b) = status_json(post_webhook_json(&app, &big).await).await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["error"], "payload_too_large");
    assert!(holds_nothing(&app, t.id).await);
}

#[tokio::test]
async fn a_meta_sized_batch_is_accepted_in_one_post() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    // Meta's ceiling: up to 1000 updates, up to 3 MB; ours is 8 MB by default.
    let filler = "y".repeat(2900);
    let messages: Vec<_> = (0..1000)
        .map(|i| {
            json!({"from": format!("1555100{:04}", i % 50), "id": format!("wamid.batch{i}"),
            "timestamp": "1790000000", "type": "text", "text": {"body": filler}})
        })
        .collect();
    let body = serde_json::to_vec(&envelope(PNID, json!({ "messages": messages }))).unwrap();
    assert!(body.len() > 2_900_000, "{}", body.len());
    let resp = post_webhook(&app, &body).await;
    assert_eq!(resp.status().as_u16(), 200);
    let counts = table_counts(&app, t.id).await;
    assert_eq!(
        (
            counts["messages"],
            counts["contacts"],
            counts["conversations"]
        ),
        (1000, 50, 50)
    );
}

#[tokio::test]
async fn unknown_numbers_and_suspended_tenants_are_200_and_dropped() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;

    let unknown = inbound_text(
        "999000111",
        "15551230001",
        "wamid.unknown",
        "hi",
        1_790_000_000,
    );
    assert_eq!(
        post_webhook_json(&app, &unknown).await.status().as_u16(),
        200
    );
    assert!(holds_nothing(&app, t.id).await);

    // Stored while active: the number's route is now cached, and the suspension must still
    // reach ingestion at once.
    let active = inbound_text(PNID, "15551230001", "wamid.active", "hi", 1_790_000_000);
    assert_eq!(
        post_webhook_json(&app, &active).await.status().as_u16(),
        200
    );
    assert!(stored_message(&app, t.id, "wamid.active").await.is_some());

    let txn = app.state.db.begin().await.unwrap();
    wavault::store::platform::set_tenant_status(&txn, t.id, "suspended", START_MS)
        .await
        .unwrap();
    sea_orm::TransactionSession::commit(txn).await.unwrap();
    let body = inbound_text(PNID, "15551230001", "wamid.suspended", "hi", 1_790_000_000);
    assert_eq!(post_webhook_json(&app, &body).await.status().as_u16(), 200);
    let events = envelope_field(PNID, "account_update", json!({"event": "ACCOUNT_DELETED"}));
    assert_eq!(
        post_webhook_json(&app, &events).await.status().as_u16(),
        200
    );
    assert!(
        stored_message(&app, t.id, "wamid.suspended")
            .await
            .is_none()
    );
    let counts = table_counts(&app, t.id).await;
    assert_eq!((counts["messages"], counts["tenant_events"]), (1, 0));

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    for reason in ["unknown_number", "tenant_inactive"] {
        assert!(
            metrics.contains(&format!(
                "webhook_events_dropped_total{{reason=\"{reason}\"}}"
            )),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn a_webhook_for_one_tenant_never_writes_to_another() {
    let app = spawn_app().await;
    let a = app.create_tenant("alpha").await;
    let b = app.create_tenant("bravo").await;
    register_number(&app, &a, "1001").await;
    register_number(&app, &b, "2002").await;

    let to_a = inbound_text(
        "1001",
        "15551230001",
        "wamid.shared",
        "for a",
        1_790_000_000,
    );
    assert_eq!(post_webhook_json(&app, &to_a).await.status().as_u16(), 200);
    assert_eq!(table_counts(&app, a.id).await["messages"], 1);
    assert!(holds_nothing(&app, b.id).await);

    // One body for both numbers: each tenant gets only its own change, under its own keys.
    let mut both = inbound_text("1001", "15551230001", "wamid.a2", "for a", 1_790_000_001);
    let to_b = inbound_text(
        "2002",
        "15551230001",
        "wamid.shared",
        "for b",
        1_790_000_002,
    );
    let change_b = to_b["entry"][0].clone();
    both["entry"].as_array_mut().unwrap().push(change_b);
    assert_eq!(post_webhook_json(&app, &both).await.status().as_u16(), 200);
    let (ca, cb) = (
        table_counts(&app, a.id).await,
        table_counts(&app, b.id).await,
    );
    assert_eq!((ca["messages"], ca["contacts"]), (2, 1));
    assert_eq!((cb["messages"], cb["contacts"]), (1, 1));
    let in_b = stored_message(&app, b.id, "wamid.shared").await.unwrap();
    assert_eq!(in_b.content["text"]["body"], "for b");
    let in_a = stored_message(&app, a.id, "wamid.shared").await.unwrap();
    assert_eq!(in_a.content["text"]["body"], "for a");
}

#[tokio::test]
async fn other_fields_become_sealed_tenant_events_once() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    let template = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_for(PNID), "time": 1_790_000_000, "changes": [{
            "field": "message_template_status_update",
            "value": {"event": "APPROVED", "message_template_id": 123, "message_template_name": "hello"}
        }]}]
    });
    let errors = envelope(
        PNID,
        json!({"errors": [{"code": 131000, "title": "Something went wrong"}]}),
    );
    for body in [&template, &errors, &template, &errors] {
        assert_eq!(post_webhook_json(&app, body).await.status().as_u16(), 200);
    }
    assert_eq!(table_counts(&app, t.id).await["tenant_events"], 2);

    let keys = app.state.keys.for_tenant(t.id).await.unwrap();
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let events = tx.tenant_events_page(None, 10).await.unwrap();
    tx.commit().await.unwrap();
    let mut fields: Vec<_> = events.iter().map(|e| e.field.clone()).collect();
    fields.sort();
    assert_eq!(
        fields,
        ["message_template_status_update", "messages.errors"]
    );
    for e in &events {
        assert!(!String::from_utf8_lossy(&e.payload_enc).contains("APPROVED"));
        let place = wavault::store::sealed::place(
            wavault::store::sealed::col::TENANT_EVENTS,
            "payload_enc",
            e.id,
        );
        let value: serde_json::Value = keys.open_json(&place, &e.payload_enc).unwrap();
        if e.field == "message_template_status_update" {
            assert_eq!(value["event"], "APPROVED");
        }
    }
}

/// Bodies stored as one group end exactly as the same bodies stored one by one: duplicates
/// inside the group, a status ahead of its message, several messages per person.
#[tokio::test]
async fn a_group_of_bodies_is_stored_like_the_same_bodies_one_by_one() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    const TS: i64 = 1_790_000_000;
    let mut bodies = vec![
        status_update(PNID, "wamid.g0-0", "read", TS + 5),
        status_update(PNID, "wamid.g0-0", "delivered", TS + 4),
    ];
    for person in 0..4 {
        for k in 0..3 {
            bodies.push(inbound_text(
                PNID,
                &format!("1555123000{person}"),
                &format!("wamid.g{person}-{k}"),
                &format!("message {k}"),
                TS + k,
            ));
        }
    }
    bodies.push(inbound_text(
        PNID,
        "15551230001",
        "wamid.g1-1",
        "message 1",
        TS + 1,
    ));
    bodies.push(status_update(PNID, "wamid.g2-2", "delivered", TS + 6));
    bodies.push(status_update(PNID, "wamid.g2-2", "delivered", TS + 6));
    let batches: Vec<wavault::webhook::Batch> = bodies
        .iter()
        .map(|b| wavault::webhook::parse(&serde_json::to_vec(b).unwrap()).unwrap())
        .collect();
    let refs: Vec<&wavault::webhook::Batch> = batches.iter().collect();
    let routes = wavault::webhook::ingest::RouteCache::new(std::time::Duration::ZERO);
    let ctx = wavault::webhook::ingest::IngestContext {
        db: &app.state.db,
        routes: &routes,
        keys: &app.state.keys,
        opt_out_words: &[],
        now_ms: START_MS,
    };
    let results = wavault::webhook::ingest::ingest_many(&ctx, &refs).await;
    assert_eq!(results.len(), bodies.len());
    assert!(results.iter().all(Result::is_ok));
    let stored: u64 = results.iter().flatten().map(|r| r.messages_stored).sum();
    assert_eq!(stored, 12);

    let check = |counts: std::collections::BTreeMap<&'static str, i64>| {
        assert_eq!(
            (
                counts["contacts"],
                counts["conversations"],
                counts["messages"],
                counts["message_status_events"]
            ),
            (4, 4, 12, 3)
        );
    };
    check(table_counts(&app, t.id).await);
    let first = stored_message(&app, t.id, "wamid.g0-0").await.unwrap();
    assert_eq!(first.status.as_deref(), Some("read"));
    let last = stored_message(&app, t.id, "wamid.g2-2").await.unwrap();
    assert_eq!(last.status.as_deref(), Some("delivered"));
    let mut threads = Vec::new();
    for person in 0..4 {
        let m = stored_message(&app, t.id, &format!("wamid.g{person}-0"))
            .await
            .unwrap();
        threads.push((person, m.conversation_id));
    }
    let keys = app.state.keys.for_tenant(t.id).await.unwrap();
    let tx = app.state.db.tenant(t.id).await.unwrap();
    for (person, conversation_id) in threads {
        let c = tx.conversation(conversation_id).await.unwrap();
        assert_eq!(c.last_message_at, (TS + 2) * 1000);
        let contact = tx
            .contact_by_wa_id(&keys, &format!("1555123000{person}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(contact.last_inbound_at, Some((TS + 2) * 1000));
    }
    tx.commit().await.unwrap();

    // The whole group again: nothing new.
    let again = wavault::webhook::ingest::ingest_many(&ctx, &refs).await;
    assert!(again.iter().all(Result::is_ok));
    let stored: u64 = again.iter().flatten().map(|r| r.messages_stored).sum();
    assert_eq!(stored, 0);
    check(table_counts(&app, t.id).await);
}
