//! Failed replies: every mapped Meta error, retries of rate limits, timeouts, an unreachable
//! Graph API, and bodies refused before anything reaches Meta.
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

use super::replies::{answer_with, last_message, reply, requests, send_path, template, text};
use super::{accepted, meta_error};
use crate::helpers::*;
use crate::inbox::{PNID_A, WA_A, world, world_with};
use crate::webhook_support::access_token_for;

#[tokio::test]
async fn meta_errors_are_mapped_and_the_message_is_kept_as_failed() {
    let w = world().await;
    let owner = &w.a.owner_token;

    answer_with(&w.graph, meta_error(131047)).await;
    let (s, b) = reply(&w, owner, text("hi")).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (422, Some("outside_service_window"))
    );
    let m = last_message(&w).await;
    assert_eq!(
        (m["status"].as_str(), m["error"]["code"].as_i64()),
        (Some("failed"), Some(131047))
    );

    answer_with(&w.graph, meta_error(131026)).await;
    let (s, b) = reply(&w, owner, text("secret words")).await;
    assert_eq!((s, b["error"].as_str()), (502, Some("graph_error")));
    let shown = b.to_string();
    assert!(shown.contains("131026"), "{shown}");
    assert!(
        !shown.contains(&access_token_for(PNID_A))
            && !shown.contains("secret words")
            && !shown.contains(WA_A)
    );
    assert_eq!(last_message(&w).await["status"], "failed");

    answer_with(&w.graph, meta_error(131050)).await;
    let (s, b) = reply(&w, owner, text("hi")).await;
    assert_eq!((s, b["error"].as_str()), (422, Some("contact_opted_out")));
    let (_, contact) = status_json(
        w.app
            .get(&format!("/v1/contacts/{}", w.contact), Some(owner))
            .await,
    )
    .await;
    assert_eq!(contact["consent"]["status"], "opted_out");
    let last = contact["consent"]["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["source"].as_str(), last["actor_kind"].as_str()),
        (Some("meta_error_131050"), Some("system"))
    );
    let before = requests(&w.graph).await.len();
    assert_eq!(
        reply(&w, owner, template()).await.1["error"],
        "contact_opted_out"
    );
    assert_eq!(
        requests(&w.graph).await.len(),
        before,
        "refused before Meta"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_then_reported() {
    let w = world().await;
    w.graph.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 131056}})))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&w.graph)
        .await;
    Mock::given(method("POST"))
        .respond_with(accepted("wamid.RL"))
        .mount(&w.graph)
        .await;
    let (s, b) = reply(&w, &w.a.owner_token, text("hi")).await;
    assert_eq!((s, b["wamid"].as_str()), (202, Some("wamid.RL")));
    assert_eq!(requests(&w.graph).await.len(), 3);

    answer_with(&w.graph, ResponseTemplate::new(429)).await;
    let resp = w
        .app
        .post(&send_path(&w), Some(&w.a.owner_token), &text("hi"))
        .await;
    assert!(resp.headers().get("retry-after").is_some());
    let (s, b) = status_json(resp).await;
    assert_eq!((s, b["error"].as_str()), (429, Some("graph_rate_limited")));
    assert_eq!(requests(&w.graph).await.len(), 4, "1 attempt + 3 retries");
    assert_eq!(last_message(&w).await["status"], "failed");
}

#[tokio::test]
async fn a_timeout_is_reported_and_the_message_is_marked_unknown() {
    let w = world().await;
    answer_with(
        &w.graph,
        accepted("wamid.LATE").set_delay(std::time::Duration::from_secs(3)),
    )
    .await;
    let (s, b) = reply(&w, &w.a.owner_token, text("hi")).await;
    assert_eq!((s, b["error"].as_str()), (504, Some("graph_timeout")));
    let m = last_message(&w).await;
    assert_eq!(m["status"], "unknown");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains(m["id"].as_str().unwrap())
    );
    assert_eq!(
        requests(&w.graph).await.len(),
        1,
        "a timeout is not retried"
    );
}

#[tokio::test]
async fn an_unreachable_graph_api_is_a_502_and_a_failed_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let w = world_with(&[("meta.graph_base_url", &base)]).await;
    let (s, b) = reply(&w, &w.a.owner_token, text("hi")).await;
    assert_eq!((s, b["error"].as_str()), (502, Some("graph_unreachable")));
    assert_eq!(last_message(&w).await["status"], "failed");
}

#[tokio::test]
async fn malformed_replies_are_refused_before_meta() {
    let w = world().await;
    let long = "x".repeat(4097);
    for (body, status, code) in [
        (text(""), 422, "invalid_text"),
        (text(&long), 422, "invalid_text"),
        (
            json!({"type": "text", "text": {"body": "ok", "extra": 1}}),
            202,
            "",
        ),
        (
            json!({"type": "video", "video": {}}),
            422,
            "invalid_request",
        ),
        (json!({"text": "no type"}), 422, "invalid_request"),
        (
            json!({"type": "template", "template": {"name": "Bad Name!", "language": "en"}}),
            422,
            "invalid_template",
        ),
        (
            json!({"type": "template", "template": {"name": "ok", "language": {"code": "e"}}}),
            422,
            "invalid_template",
        ),
        (
            json!({"type": "template", "template": {"name": "ok", "language": "en", "components": {}}}),
            422,
            "invalid_template",
        ),
    ] {
        let (s, b) = reply(&w, &w.a.owner_token, body.clone()).await;
        assert_eq!(s, status, "{body}: {b}");
        if status != 202 {
            assert_eq!(b["error"], code, "{body}");
        }
    }
    assert_eq!(requests(&w.graph).await.len(), 1);
}
