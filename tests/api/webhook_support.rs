//! Webhook helpers for any area's tests: register a business number, post signed bodies, build
//! Meta envelopes, and read back what a tenant holds.
#![allow(dead_code)]
use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;
use wavault::store::sealed::{MessagePlain, open_message};

use crate::helpers::{APP_SECRET, TestApp, TestTenant, status_json};

/// Display number every helper-registered number gets.
pub const DISPLAY_NUMBER: &str = "15550001234";

/// Tables a webhook can write for a tenant.
pub const WEBHOOK_TABLES: [&str; 6] = [
    "contacts",
    "conversations",
    "messages",
    "message_status_events",
    "tenant_events",
    "consent_events",
];

/// The access token `register_number` stores for `pnid`.
pub fn access_token_for(pnid: &str) -> String {
    format!("EAAG-test-token-{pnid}")
}

/// The business account id `register_number` stores for `pnid`.
pub fn waba_for(pnid: &str) -> String {
    format!("waba-{pnid}")
}

/// Registers business number `pnid` to `tenant` (as its owner) and asserts it worked.
pub async fn register_number(app: &TestApp, tenant: &TestTenant, pnid: &str) {
    register_number_in_waba(app, tenant, pnid, &waba_for(pnid)).await;
}

/// [`register_number`] with an explicit business account id.
pub async fn register_number_in_waba(app: &TestApp, tenant: &TestTenant, pnid: &str, waba: &str) {
    let body = json!({
        "display_phone_number": DISPLAY_NUMBER,
        "waba_id": waba,
        "access_token": access_token_for(pnid),
    });
    let path = format!("/v1/whatsapp/numbers/{}", path_segment(pnid));
    let (status, body) = status_json(app.put(&path, Some(&tenant.owner_token), &body).await).await;
    assert!(
        status == 200 || status == 201,
        "registering {pnid}: {status} {body}"
    );
}

/// Percent-encodes everything but unreserved characters, for ids used as a path segment.
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// POSTs `body` to the webhook, signed with the test app secret over exactly these bytes.
pub async fn post_webhook(app: &TestApp, body: &[u8]) -> reqwest::Response {
    post_webhook_signed(app, body, Some(&wavault::webhook::sign(APP_SECRET, body))).await
}

/// POSTs `body` with the given `X-Hub-Signature-256` header (or none).
pub async fn post_webhook_signed(
    app: &TestApp,
    body: &[u8],
    signature: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/webhooks/whatsapp"))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    req.send().await.expect("webhook request")
}

/// Serializes `body` compactly and posts it signed.
pub async fn post_webhook_json(app: &TestApp, body: &Value) -> reqwest::Response {
    post_webhook(app, &serde_json::to_vec(body).unwrap()).await
}

/// A full envelope around one `messages` change value for business number `pnid`.
pub fn envelope(pnid: &str, value: Value) -> Value {
    envelope_field(pnid, "messages", value)
}

/// A full envelope around one change of `field`; the metadata of `pnid` is added to `value`.
pub fn envelope_field(pnid: &str, field: &str, mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.insert("messaging_product".into(), json!("whatsapp"));
        map.insert(
            "metadata".into(),
            json!({"display_phone_number": DISPLAY_NUMBER, "phone_number_id": pnid}),
        );
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_for(pnid), "changes": [{"field": field, "value": value}]}]
    })
}

/// An inbound text message from `from_wa_id`, as Meta sends it.
pub fn inbound_text(pnid: &str, from_wa_id: &str, wamid: &str, text: &str, ts_secs: i64) -> Value {
    envelope(
        pnid,
        json!({
            "contacts": [{"profile": {"name": "Test Contact"}, "wa_id": from_wa_id}],
            "messages": [{
                "from": from_wa_id,
                "id": wamid,
                "timestamp": ts_secs.to_string(),
                "type": "text",
                "text": {"body": text}
            }]
        }),
    )
}

/// A delivery status (`sent`, `delivered`, `read`, `failed`...) of message `wamid`; a `failed`
/// one carries an error object like Meta's.
pub fn status_update(pnid: &str, wamid: &str, status: &str, ts_secs: i64) -> Value {
    let mut s = json!({
        "id": wamid,
        "status": status,
        "timestamp": ts_secs.to_string(),
        "recipient_id": "15550009999"
    });
    if status == "failed" {
        s["errors"] = json!([{
            "code": 131026,
            "title": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."}
        }]);
    }
    envelope(pnid, json!({ "statuses": [s] }))
}

/// Rows per webhook table of `tenant_id`, read directly (as the database owner).
pub async fn table_counts(app: &TestApp, tenant_id: Uuid) -> BTreeMap<&'static str, i64> {
    let conn = Database::connect(&app.db_url).await.expect("connect");
    let backend = conn.get_database_backend();
    let mut out = BTreeMap::new();
    for table in WEBHOOK_TABLES {
        let sql = match backend {
            DbBackend::Postgres => {
                format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = $1")
            }
            _ => format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = ?"),
        };
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [tenant_id.into()],
            ))
            .await
            .expect("count query")
            .expect("count row");
        out.insert(table, row.try_get::<i64>("", "n").expect("count"));
    }
    conn.close().await.ok();
    out
}

/// Whether a tenant holds nothing a webhook could have written.
pub async fn holds_nothing(app: &TestApp, tenant_id: Uuid) -> bool {
    table_counts(app, tenant_id).await.values().all(|n| *n == 0)
}

/// Every message of a tenant, decrypted, in storage order.
pub async fn stored_messages(app: &TestApp, tenant_id: Uuid) -> Vec<MessagePlain> {
    let keys = app.state.keys.for_tenant(tenant_id).await.unwrap();
    let tx = app.state.db.tenant(tenant_id).await.unwrap();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = tx.messages_page(after, 200).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for m in &page {
            out.push(open_message(&keys, m).expect("message opens"));
        }
    }
    tx.commit().await.unwrap();
    out
}

/// The stored message with Meta id `wamid`, decrypted.
pub async fn stored_message(app: &TestApp, tenant_id: Uuid, wamid: &str) -> Option<MessagePlain> {
    let keys = app.state.keys.for_tenant(tenant_id).await.unwrap();
    let tx = app.state.db.tenant(tenant_id).await.unwrap();
    let row = tx.message_by_wamid(&keys, wamid).await.unwrap();
    tx.commit().await.unwrap();
    row.map(|m| open_message(&keys, &m).expect("message opens"))
}
