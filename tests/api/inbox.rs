//! The agents' inbox: two tenants seeded through signed webhooks, agents A and B of one tenant,
//! and what each caller reaches before and after (re)assignment.
#![allow(dead_code)]
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use wavault::clock::Clock;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::webhook_support::{inbound_text, post_webhook_json, register_number};

mod access;
mod lists;
mod support;

pub const PNID_A: &str = "106540352242922";
pub const PNID_B: &str = "206540352242922";
pub const WA_A: &str = "15551230001";
pub const WA_B: &str = "15559870002";
pub const TEXT_A: &str = "Where is my order 7781?";

/// Tenant A (owner, admin, agents A and B) with one conversation, tenant B with one.
pub struct World {
    pub app: TestApp,
    pub a: TestTenant,
    pub b: TestTenant,
    pub agent_a: TestUser,
    pub agent_b: TestUser,
    pub admin: TestUser,
    pub conv: Uuid,
    pub contact: Uuid,
    pub conv_b: Uuid,
    pub contact_b: Uuid,
    /// The fake Graph API the app sends to; accepts everything until told otherwise.
    pub graph: MockServer,
}

/// Mounts a Graph API answer that accepts every message with a fresh wamid.
pub async fn accept_all(graph: &MockServer) {
    let n = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .respond_with(move |_: &wiremock::Request| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": "x", "wa_id": "x"}],
                "messages": [{"id": format!("wamid.OUT{i}"), "message_status": "accepted"}]
            }))
        })
        .mount(graph)
        .await;
}

pub async fn world() -> World {
    world_with(&[]).await
}

pub async fn world_with(extra: &[(&str, &str)]) -> World {
    let graph = MockServer::start().await;
    accept_all(&graph).await;
    let uri = graph.uri();
    let mut settings = vec![
        ("meta.graph_base_url", uri.as_str()),
        ("meta.retry_base_delay_ms", "1"),
        ("meta.request_timeout_secs", "1"),
    ];
    settings.extend_from_slice(extra);
    let app = spawn_app_with(&settings).await;
    let a = app.create_tenant("tenant-a").await;
    let b = app.create_tenant("tenant-b").await;
    let agent_a = app.create_user(&a, "agent-a", "agent").await;
    let agent_b = app.create_user(&a, "agent-b", "agent").await;
    let admin = app.create_user(&a, "admin", "admin").await;
    register_number(&app, &a, PNID_A).await;
    register_number(&app, &b, PNID_B).await;
    inbound(&app, PNID_A, WA_A, "wamid.A1", TEXT_A).await;
    inbound(&app, PNID_B, WA_B, "wamid.B1", "hello from b").await;
    let contact = contact_id(&app, &a.owner_token, WA_A).await;
    let conv = conversation_of(&app, &a.owner_token, contact).await;
    let contact_b = contact_id(&app, &b.owner_token, WA_B).await;
    let conv_b = conversation_of(&app, &b.owner_token, contact_b).await;
    World {
        app,
        a,
        b,
        agent_a,
        agent_b,
        admin,
        conv,
        contact,
        conv_b,
        contact_b,
        graph,
    }
}

/// An inbound text from `from` to business number `pnid`, sent now.
pub async fn inbound(app: &TestApp, pnid: &str, from: &str, wamid: &str, text: &str) {
    let body = inbound_text(pnid, from, wamid, text, app.clock.now_secs());
    let resp = post_webhook_json(app, &body).await;
    assert_eq!(resp.status().as_u16(), 200, "webhook for {wamid}");
}

/// The id of the contact with phone number `wa_id`, looked up by the tenant's owner.
pub async fn contact_id(app: &TestApp, token: &str, wa_id: &str) -> Uuid {
    let (s, body) = status_json(
        app.get(&format!("/v1/contacts?wa_id={wa_id}"), Some(token))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
    body["items"][0]["id"].as_str().unwrap().parse().unwrap()
}

/// The conversation of `contact`, found in the full list.
pub async fn conversation_of(app: &TestApp, token: &str, contact: Uuid) -> Uuid {
    let (s, body) = status_json(app.get("/v1/conversations?limit=200", Some(token)).await).await;
    assert_eq!(s, 200, "{body}");
    let item = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact_id"] == contact.to_string())
        .unwrap_or_else(|| panic!("no conversation for {contact}: {body}"));
    item["id"].as_str().unwrap().parse().unwrap()
}

/// Assigns (or unassigns) a conversation; returns the status.
pub async fn assign(app: &TestApp, token: &str, conv: Uuid, to: Option<Uuid>) -> (u16, Value) {
    let path = format!("/v1/conversations/{conv}/assign");
    status_json(
        app.post(&path, Some(token), &json!({"assignee_id": to}))
            .await,
    )
    .await
}

/// Sends a request with an optional `X-Wavault-Tenant` header.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    tenant: Option<Uuid>,
) -> (u16, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(t) = tenant {
        req = req.header("X-Wavault-Tenant", t.to_string());
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    status_json(req.send().await.unwrap()).await
}

/// Every route of this area for one conversation and its contact, with a harmless body.
pub fn routes(conv: Uuid, contact: Uuid) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/v1/conversations/{conv}"), None),
        (
            Method::GET,
            format!("/v1/conversations/{conv}/messages"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/conversations/{conv}/status"),
            Some(json!({"status": "open"})),
        ),
        (
            Method::POST,
            format!("/v1/conversations/{conv}/messages"),
            Some(json!({"type": "text", "text": "hi"})),
        ),
        (Method::GET, format!("/v1/contacts/{contact}"), None),
        (
            Method::PATCH,
            format!("/v1/contacts/{contact}"),
            Some(json!({"attributes": {}})),
        ),
        (
            Method::POST,
            format!("/v1/contacts/{contact}/consent"),
            Some(json!({"status": "opted_in", "source": "form"})),
        ),
    ]
}

/// Audit events of a tenant, oldest first: (action, actor id, target id, detail).
pub async fn audit_events(
    app: &TestApp,
    tenant: Uuid,
) -> Vec<(String, Option<Uuid>, Option<String>, Value)> {
    let tx = app.state.db.tenant(tenant).await.unwrap();
    let mut rows = tx.audit_page(None, 1000).await.unwrap();
    tx.commit().await.unwrap();
    rows.reverse();
    rows.into_iter()
        .map(|e| {
            let detail = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
            (e.action, e.actor_id, e.target_id, detail)
        })
        .collect()
}

/// How many audit events of `action` by `actor` name `target`.
pub async fn audited(
    app: &TestApp,
    tenant: Uuid,
    action: &str,
    actor: Uuid,
    target: Uuid,
) -> usize {
    audit_events(app, tenant)
        .await
        .iter()
        .filter(|(a, by, t, _)| {
            a == action && *by == Some(actor) && t.as_deref() == Some(&target.to_string())
        })
        .count()
}
