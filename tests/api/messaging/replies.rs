//! `POST /v1/conversations/{id}/messages` end to end against the fake Graph API: the request
//! Meta receives, storage and status webhooks, the send rules and every mapped error.
use serde_json::{Value, json};
use wavault::clock::Clock;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::accepted;
use crate::helpers::*;
use crate::inbox::{PNID_A, WA_A, World, inbound, world};
use crate::webhook_support::{access_token_for, post_webhook_json, status_update, stored_message};

pub(super) fn send_path(w: &World) -> String {
    format!("/v1/conversations/{}/messages", w.conv)
}

pub(super) async fn reply(w: &World, token: &str, body: Value) -> (u16, Value) {
    status_json(w.app.post(&send_path(w), Some(token), &body).await).await
}

pub(super) fn text(body: &str) -> Value {
    json!({"type": "text", "text": body})
}

pub(super) fn template() -> Value {
    json!({"type": "template", "template": {"name": "order_update", "language": "en_US",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "7781"}]}]}})
}

pub(super) async fn answer_with(graph: &MockServer, answer: ResponseTemplate) {
    graph.reset().await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(graph)
        .await;
}

pub(super) async fn requests(graph: &MockServer) -> Vec<wiremock::Request> {
    graph.received_requests().await.unwrap_or_default()
}

/// The newest message of the conversation, as the owner reads it.
pub(super) async fn last_message(w: &World) -> Value {
    let (_, page) = status_json(
        w.app
            .get(
                &format!("{}?limit=200", send_path(w)),
                Some(&w.a.owner_token),
            )
            .await,
    )
    .await;
    page["items"].as_array().unwrap().last().unwrap().clone()
}

#[tokio::test]
async fn a_text_reply_reaches_meta_as_expected_and_follows_status_webhooks() {
    let w = world().await;
    answer_with(&w.graph, accepted("wamid.S1")).await;
    w.app.clock.advance_secs(10);
    let (s, body) = reply(&w, &w.a.owner_token, text("Your order shipped")).await;
    assert_eq!(s, 202, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["wamid"].as_str()),
        (Some("accepted"), Some("wamid.S1"))
    );

    let reqs = requests(&w.graph).await;
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url.path(), format!("/{PNID_A}/messages"));
    let auth = reqs[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(auth, format!("Bearer {}", access_token_for(PNID_A)));
    let sent: Value = reqs[0].body_json().unwrap();
    assert_eq!(
        sent,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_A,
               "type": "text", "text": {"body": "Your order shipped", "preview_url": false}})
    );

    let m = last_message(&w).await;
    assert_eq!(m["id"], body["id"]);
    assert_eq!(
        (m["direction"].as_str(), m["type"].as_str()),
        (Some("outbound"), Some("text"))
    );
    assert_eq!(m["content"]["text"]["body"], "Your order shipped");
    assert_eq!(m["status"], "accepted");
    let stored = stored_message(&w.app, w.a.id, "wamid.S1").await.unwrap();
    assert_eq!(stored.id.to_string(), body["id"].as_str().unwrap());
    let (_, conv) = status_json(
        w.app
            .get(
                &format!("/v1/conversations/{}", w.conv),
                Some(&w.a.owner_token),
            )
            .await,
    )
    .await;
    assert_eq!(conv["last_message_at"], m["sent_at"]);

    let delivered = status_update(PNID_A, "wamid.S1", "delivered", w.app.clock.now_secs());
    assert_eq!(
        post_webhook_json(&w.app, &delivered)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(last_message(&w).await["status"], "delivered");
}

#[tokio::test]
async fn a_status_that_arrived_first_is_applied_to_the_stored_reply() {
    let w = world().await;
    let early = status_update(PNID_A, "wamid.EARLY", "sent", w.app.clock.now_secs());
    assert_eq!(
        post_webhook_json(&w.app, &early).await.status().as_u16(),
        200
    );
    answer_with(&w.graph, accepted("wamid.EARLY")).await;
    let (s, body) = reply(&w, &w.a.owner_token, text("hello")).await;
    assert_eq!((s, body["status"].as_str()), (202, Some("sent")), "{body}");
    assert_eq!(last_message(&w).await["status"], "sent");
}

#[tokio::test]
async fn free_text_needs_the_service_window_and_templates_do_not() {
    let w = world().await;
    answer_with(&w.graph, accepted("wamid.T1")).await;
    w.app.clock.advance_secs(24 * 3600 + 1);
    let owner = w
        .app
        .token_for(Some(&w.a.slug), "owner@tenant-a.example")
        .await;
    let (s, body) = reply(&w, &owner, text("late")).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (422, Some("outside_service_window"))
    );
    assert!(requests(&w.graph).await.is_empty(), "nothing reached Meta");

    let (s, body) = reply(&w, &owner, template()).await;
    assert_eq!(s, 202, "{body}");
    let sent: Value = requests(&w.graph).await[0].body_json().unwrap();
    assert_eq!(sent["type"], "template");
    assert_eq!(sent["template"]["name"], "order_update");
    assert_eq!(sent["template"]["language"], json!({"code": "en_US"}));
    assert_eq!(
        sent["template"]["components"][0]["parameters"][0]["text"],
        "7781"
    );

    inbound(&w.app, PNID_A, WA_A, "wamid.A2", "back again").await;
    answer_with(&w.graph, accepted("wamid.T2")).await;
    assert_eq!(reply(&w, &owner, text("welcome back")).await.0, 202);
}

#[tokio::test]
async fn nothing_goes_to_an_opted_out_contact() {
    let w = world().await;
    let consent = format!("/v1/contacts/{}/consent", w.contact);
    let owner = &w.a.owner_token;
    let opt = |status: &str| json!({"status": status, "source": "phone call"});
    assert_eq!(
        w.app
            .post(&consent, Some(owner), &opt("opted_out"))
            .await
            .status()
            .as_u16(),
        200
    );
    for body in [text("hi"), template()] {
        let (s, b) = reply(&w, owner, body).await;
        assert_eq!((s, b["error"].as_str()), (422, Some("contact_opted_out")));
    }
    assert!(requests(&w.graph).await.is_empty());
    assert_eq!(
        w.app
            .post(&consent, Some(owner), &opt("opted_in"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(reply(&w, owner, text("hi")).await.0, 202);
}

#[tokio::test]
async fn a_contact_known_only_by_user_id_is_addressed_with_recipient() {
    let w = world().await;
    let user_id = "US.13491208655302741918";
    let envelope = crate::webhook_support::envelope(
        PNID_A,
        json!({
            "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "", "user_id": user_id}],
            "messages": [{"from": "", "from_user_id": user_id, "id": "wamid.U1",
                "timestamp": w.app.clock.now_secs().to_string(), "type": "text", "text": {"body": "hi"}}]
        }),
    );
    assert_eq!(
        post_webhook_json(&w.app, &envelope).await.status().as_u16(),
        200
    );
    let (_, list) = status_json(w.app.get("/v1/conversations", Some(&w.a.owner_token)).await).await;
    let conv = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] != w.conv.to_string())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    answer_with(&w.graph, accepted("wamid.U2")).await;
    let path = format!("/v1/conversations/{conv}/messages");
    let (s, b) = status_json(
        w.app
            .post(&path, Some(&w.a.owner_token), &text("hello"))
            .await,
    )
    .await;
    assert_eq!(s, 202, "{b}");
    let sent: Value = requests(&w.graph).await[0].body_json().unwrap();
    assert_eq!(sent["recipient"], user_id);
    assert!(sent.get("to").is_none(), "{sent}");
}
