//! Billing records: operators add them, support and operators read them, bad input is a 4xx.
use serde_json::{Value, json};

use crate::helpers::*;

fn invoice(n: &str) -> Value {
    json!({"invoice_number": n, "amount_minor": 118_000, "currency": "INR",
           "issued_at": "2026-04-01T10:30:00+05:30", "gstin": "29AAGCB7383J1Z4"})
}

#[tokio::test]
async fn operator_records_an_invoice_kept_for_the_longer_term() {
    let app = spawn_app_with(&[("retention.legal_term_years", "8")]).await;
    let t = app.create_tenant("acme").await;
    let operator = app.create_staff("oscar", "operator").await;
    let support = app.create_staff("sue", "support").await;
    let path = format!("/v1/tenants/{}/billing-records", t.id);
    let (s, r) = status_json(
        app.post(&path, Some(&operator.token), &invoice("INV-1"))
            .await,
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["issued_at"], "2026-04-01T05:00:00.000Z");
    assert_eq!(
        r["retain_until"], "2034-04-01T05:00:00.000Z",
        "the legal term is longer here"
    );
    assert_eq!(r["gstin"], "29AAGCB7383J1Z4");
    assert_eq!(r["tenant_id"], json!(t.id));

    let (s, b) = status_json(
        app.post(&path, Some(&operator.token), &invoice("INV-1"))
            .await,
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (409, Some("duplicate_invoice")));
    // The same number in another tenant is fine.
    let other = app.create_tenant("other").await;
    let other_path = format!("/v1/tenants/{}/billing-records", other.id);
    let (s, _) = status_json(
        app.post(&other_path, Some(&operator.token), &invoice("INV-1"))
            .await,
    )
    .await;
    assert_eq!(s, 201);

    let mut no_gstin = invoice("INV-2");
    no_gstin.as_object_mut().unwrap().remove("gstin");
    let (s, r) = status_json(app.post(&path, Some(&operator.token), &no_gstin).await).await;
    assert_eq!(s, 201);
    assert!(r.get("gstin").is_none());

    for reader in [&support.token, &operator.token] {
        let (s, list) = status_json(app.get(&path, Some(reader)).await).await;
        assert_eq!(s, 200);
        let numbers: Vec<_> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["invoice_number"].clone())
            .collect();
        assert_eq!(numbers, [json!("INV-1"), json!("INV-2")]);
        assert_eq!(list["next_cursor"], Value::Null);
    }
    let (s, page) = status_json(
        app.get(&format!("{path}?limit=1"), Some(&support.token))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, page) = status_json(
        app.get(
            &format!("{path}?limit=1&cursor={cursor}"),
            Some(&support.token),
        )
        .await,
    )
    .await;
    assert_eq!(page["items"][0]["invoice_number"], "INV-2");
}

#[tokio::test]
async fn bad_input_and_wrong_callers() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let operator = app.create_staff("oscar", "operator").await;
    let support = app.create_staff("sue", "support").await;
    let path = format!("/v1/tenants/{}/billing-records", t.id);
    let cases = [
        ("currency", json!("inr"), "invalid_currency"),
        ("currency", json!("RUPEE"), "invalid_currency"),
        ("issued_at", json!("yesterday"), "invalid_issued_at"),
        ("gstin", json!("29AAGCB7383J1Z"), "invalid_gstin"),
        ("gstin", json!("29AAGCB7383J1X4"), "invalid_gstin"),
        ("amount_minor", json!(-1), "invalid_amount"),
        ("invoice_number", json!(" "), "invalid_invoice_number"),
    ];
    for (field, value, code) in cases {
        let mut body = invoice("INV-9");
        body[field] = value;
        let (s, b) = status_json(app.post(&path, Some(&operator.token), &body).await).await;
        assert_eq!((s, b["error"].as_str()), (422, Some(code)), "{field}");
    }
    let mut body = invoice("INV-9");
    body["amount_minor"] = json!("lots");
    let (s, _) = status_json(app.post(&path, Some(&operator.token), &body).await).await;
    assert_eq!(s, 422);

    let (s, _) = status_json(
        app.post(&path, Some(&support.token), &invoice("INV-9"))
            .await,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = status_json(
        app.post(&path, Some(&t.owner_token), &invoice("INV-9"))
            .await,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = status_json(app.get(&path, Some(&t.owner_token)).await).await;
    assert_eq!(s, 403);
    let (s, _) = status_json(app.get(&path, None).await).await;
    assert_eq!(s, 401);
    let unknown = format!("/v1/tenants/{}/billing-records", uuid::Uuid::new_v4());
    let (s, _) = status_json(
        app.post(&unknown, Some(&operator.token), &invoice("INV-9"))
            .await,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = status_json(app.get(&unknown, Some(&support.token)).await).await;
    assert_eq!(s, 404);
    let (s, b) = status_json(
        app.get(&format!("{path}?cursor=%%%"), Some(&support.token))
            .await,
    )
    .await;
    assert_eq!(s, 400, "{b}");
}
