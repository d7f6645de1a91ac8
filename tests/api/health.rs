use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_migrated() {
    let app = spawn_app().await;
    let (s, body) = status_json(app.get("/healthz", None).await).await;
    assert_eq!(s, 200);
    assert_eq!(body["status"], "ok");
    let (s, body) = status_json(app.get("/readyz", None).await).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["migrations"], true);
}

#[tokio::test]
async fn unknown_route_is_a_json_404_with_an_error_code() {
    let app = spawn_app().await;
    let resp = app.get("/v1/nothing-here", None).await;
    assert!(resp.headers().contains_key("x-request-id"));
    let (s, body) = status_json(resp).await;
    assert_eq!(s, 404);
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_route_labels_not_paths() {
    let app = spawn_app().await;
    app.get("/healthz", None).await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""));
}
