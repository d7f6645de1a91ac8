//! The Graph API client against a local fake (wiremock): the request Meta receives, field by
//! field; success; every mapped error; retries of rate limits; timeouts.
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{Value, json};
use wavault::messaging::{GraphClient, GraphError, Outbound, Recipient};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::test_settings;

mod failures;
mod replies;

const TOKEN: &str = "EAAG-test-access-token";

fn client(server: &MockServer, extra: &[(&str, &str)]) -> GraphClient {
    let uri = server.uri();
    let mut o: Vec<(&str, &str)> = vec![
        ("meta.graph_base_url", &uri),
        ("meta.retry_base_delay_ms", "1"),
        ("meta.max_send_retries", "3"),
        ("meta.request_timeout_secs", "1"),
    ];
    o.extend_from_slice(extra);
    let settings = test_settings("sqlite::memory:", &o);
    GraphClient::new(&settings.meta).unwrap()
}

fn token() -> SecretString {
    SecretString::from(TOKEN.to_owned())
}

fn text() -> Outbound {
    Outbound::Text {
        body: "Hello there".into(),
    }
}

fn meta_error(code: i64) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "(#131047) Re-engagement message 15550001111", "type": "OAuthException",
        "code": code, "error_subcode": 2494010, "fbtrace_id": "Az"}}))
}

fn accepted(wamid: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": "15550001111", "wa_id": "15550001111"}],
        "messages": [{"id": wamid, "message_status": "accepted"}]}))
}

async fn send(c: &GraphClient, to: Recipient, msg: Outbound) -> Result<String, GraphError> {
    c.send("106540352242922", &token(), &to, &msg)
        .await
        .map(|a| a.wamid)
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

#[tokio::test]
async fn text_request_is_what_meta_expects() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(accepted("wamid.OK1"))
        .mount(&server)
        .await;
    let c = client(&server, &[]);
    let wamid = send(&c, Recipient::Phone("15550001111".into()), text())
        .await
        .unwrap();
    assert_eq!(wamid, "wamid.OK1");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method.as_str(), "POST");
    assert_eq!(r.url.path(), "/106540352242922/messages");
    assert_eq!(
        r.headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Bearer {TOKEN}")
    );
    assert!(
        r.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = r.body_json().unwrap();
    assert_eq!(
        body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "15550001111", "type": "text",
               "text": {"body": "Hello there", "preview_url": false}})
    );
}

#[tokio::test]
async fn template_to_a_user_id_uses_recipient_and_keeps_the_base_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/106540352242922/messages"))
        .respond_with(accepted("wamid.T"))
        .expect(1)
        .mount(&server)
        .await;
    let base = format!("{}/v25.0", server.uri());
    let c = client(&server, &[("meta.graph_base_url", &base)]);
    let components = json!([{"type": "body", "parameters": [{"type": "text", "text": "42"}]}]);
    let msg = Outbound::Template {
        name: "order_update".into(),
        language: "en_US".into(),
        components: Some(components.clone()),
    };
    send(&c, Recipient::UserId("US.13491208655302741918".into()), msg)
        .await
        .unwrap();
    let body: Value = requests(&server).await[0].body_json().unwrap();
    assert_eq!(
        body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "recipient": "US.13491208655302741918", "type": "template",
               "template": {"name": "order_update", "language": {"code": "en_US"},
                            "components": components}})
    );
}

#[tokio::test]
async fn mapped_meta_errors() {
    let server = MockServer::start().await;
    let c = client(&server, &[]);
    type Check = fn(&GraphError) -> bool;
    let cases: [(i64, Check); 3] = [
        (131047, |e| matches!(e, GraphError::OutsideWindow(_))),
        (131050, |e| matches!(e, GraphError::OptedOut(_))),
        (
            131026,
            |e| matches!(e, GraphError::Rejected(f) if f.code == Some(131026) && f.subcode == Some(2494010)),
        ),
    ];
    for (code, check) in cases {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(meta_error(code))
            .mount(&server)
            .await;
        let err = send(&c, Recipient::Phone("15550001111".into()), text())
            .await
            .unwrap_err();
        assert!(check(&err), "code {code}: {err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("15550001111") && !shown.contains(TOKEN));
        assert_eq!(
            requests(&server).await.len(),
            1,
            "code {code} is not retried"
        );
    }
}

#[tokio::test]
async fn rate_limits_are_retried_then_succeed() {
    for limited in [
        ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 130429}})),
        ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 131056}})),
        ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 80007}})),
        ResponseTemplate::new(429).set_body_string("slow down"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(limited)
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(accepted("wamid.R"))
            .mount(&server)
            .await;
        let c = client(&server, &[]);
        let wamid = send(&c, Recipient::Phone("15550001111".into()), text())
            .await
            .unwrap();
        assert_eq!(wamid, "wamid.R");
        assert_eq!(requests(&server).await.len(), 3);
    }
}

#[tokio::test]
async fn rate_limit_retries_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 130429}})))
        .mount(&server)
        .await;
    let c = client(&server, &[("meta.max_send_retries", "2")]);
    let err = send(&c, Recipient::Phone("15550001111".into()), text())
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::RateLimited { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn retries_back_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let c = client(
        &server,
        &[
            ("meta.max_send_retries", "2"),
            ("meta.retry_base_delay_ms", "100"),
        ],
    );
    let started = Instant::now();
    send(&c, Recipient::Phone("15550001111".into()), text())
        .await
        .unwrap_err();
    // Pauses of at least 50 ms and then 100 ms (half of each doubled step).
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_slow_graph_api_is_a_timeout_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(accepted("wamid.late").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let c = client(&server, &[]);
    let started = Instant::now();
    let err = send(&c, Recipient::Phone("15550001111".into()), text())
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn unexpected_answers_are_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messages": []})))
        .mount(&server)
        .await;
    let c = client(&server, &[]);
    let err = send(&c, Recipient::Phone("15550001111".into()), text())
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::BadAnswer(200)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_graph_api_is_reported() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let settings = test_settings("sqlite::memory:", &[("meta.graph_base_url", &base)]);
    let c = GraphClient::new(&settings.meta).unwrap();
    let err = send(&c, Recipient::Phone("15550001111".into()), text())
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Unreachable), "{err:?}");
}
