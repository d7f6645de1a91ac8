//! Unit tests of body shapes, lenient message parsing, identity helpers and status ranks.

use serde_json::{Value, json};

use crate::webhook::{
    Batch, ChangeKind, InboundMessage, PayloadError, Status, is_opt_out_text, parse,
};

fn value_with(messages: Value) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "111"},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15551234567"}],
        "messages": messages
    })
}

fn envelope(value: Value) -> Value {
    json!({"object": "whatsapp_business_account",
           "entry": [{"id": "999", "changes": [{"field": "messages", "value": value}]}]})
}

fn parse_value(v: &Value) -> Batch {
    parse(v.to_string().as_bytes()).expect("parses")
}

fn only_message(batch: &Batch) -> &InboundMessage {
    let all: Vec<_> = batch.messages().collect();
    assert_eq!(all.len(), 1);
    all[0].2
}

#[test]
fn full_envelope_routes_by_metadata() {
    let text = json!([{"from": "15551234567", "id": "wamid.A", "timestamp": "1700000000",
                       "type": "text", "text": {"body": "hi"}}]);
    let batch = parse_value(&envelope(value_with(text)));
    let change = &batch.changes[0];
    assert_eq!(change.field, "messages");
    assert_eq!(change.phone_number_id.as_deref(), Some("111"));
    assert_eq!(change.display_phone_number.as_deref(), Some("15550001111"));
    assert_eq!(change.waba_id.as_deref(), Some("999"));
    let m = only_message(&batch);
    assert_eq!(m.wamid(), "wamid.A");
    assert_eq!(m.kind(), "text");
    assert_eq!(m.text_body(), Some("hi"));
    assert_eq!(m.timestamp_secs(), Some(1_700_000_000));
}

#[test]
fn envelope_without_object_and_bare_shapes() {
    let msgs = json!([{"from": "1", "id": "wamid.B", "timestamp": 5, "type": "text",
                       "text": {"body": "x"}}]);
    let mut no_object = envelope(value_with(msgs.clone()));
    no_object.as_object_mut().unwrap().remove("object");
    let bare_value = value_with(msgs.clone());
    let bare_change = json!({"field": "messages", "value": value_with(msgs)});
    for body in [no_object, bare_value, bare_change] {
        let batch = parse_value(&body);
        assert_eq!(batch.changes.len(), 1, "{body}");
        assert_eq!(batch.changes[0].field, "messages");
        let m = only_message(&batch);
        assert_eq!(m.wamid(), "wamid.B");
        assert_eq!(m.timestamp_secs(), Some(5));
    }
}

#[test]
fn statuses_only_value_without_field_is_messages() {
    let body = json!({"metadata": {"phone_number_id": 42},
                      "statuses": [{"id": "wamid.S", "status": "read", "timestamp": "7"}]});
    let batch = parse_value(&body);
    assert_eq!(batch.changes[0].field, "messages");
    assert_eq!(batch.changes[0].phone_number_id.as_deref(), Some("42"));
    assert_eq!(batch.changes[0].waba_id, None);
    let (_, status) = batch.statuses().next().unwrap();
    assert_eq!(status.rank(), 3);
    assert_eq!(status.timestamp_secs(), Some(7));
}

#[test]
fn other_fields_are_kept_verbatim() {
    let value = json!({"event": "FLAGGED", "display_phone_number": "1555"});
    let body = json!({"entry": [{"id": "9", "changes": [{"field": "phone_number_quality_update",
                                                          "value": value}]}]});
    let batch = parse_value(&body);
    assert_eq!(
        batch.changes[0].display_phone_number.as_deref(),
        Some("1555")
    );
    assert_eq!(batch.changes[0].kind, ChangeKind::Other { value });
}

#[test]
fn field_falls_back_to_entry() {
    let body = json!({"entry": [{"id": "9", "field": "account_update",
                                 "changes": [{"value": {"event": "X"}}]}]});
    assert_eq!(parse_value(&body).changes[0].field, "account_update");
    let body = json!({"entry": [{"id": "9", "changes": [{"value": {"event": "X"}}]}]});
    assert_eq!(parse_value(&body).changes[0].field, "");
}

#[test]
fn empty_entry_list_is_empty_batch() {
    let batch = parse(br#"{"object":"whatsapp_business_account","entry":[]}"#).unwrap();
    assert!(batch.changes.is_empty());
}

#[test]
fn invalid_json_does_not_echo_body() {
    let err = parse(br#"{"secret-token-xyz": "#).unwrap_err();
    assert!(matches!(err, PayloadError::InvalidJson { .. }));
    assert!(!err.to_string().contains("secret-token-xyz"));
    assert!(matches!(parse(b""), Err(PayloadError::InvalidJson { .. })));
    assert!(matches!(
        parse(&[0xff, 0xfe, b'{']),
        Err(PayloadError::InvalidJson { .. })
    ));
}

#[test]
fn unrecognized_shapes() {
    for body in [
        "[]",
        "42",
        "\"entry\"",
        "null",
        "{}",
        r#"{"hello": 1}"#,
        r#"{"entry": 5}"#,
    ] {
        assert_eq!(
            parse(body.as_bytes()),
            Err(PayloadError::Unrecognized),
            "{body}"
        );
    }
}

#[test]
fn any_message_object_survives_with_its_content() {
    let odd = json!({
        "id": "wamid.ODD", "from": "", "from_user_id": "US.1", "timestamp": true,
        "type": "brand_new_type", "brand_new_type": {"x": [1, 2.5, null]},
        "text": 42, "context": "not-an-object", "image": {"id": "1", "caption": null},
        "errors": [{"code": "not-a-number"}], "location": {"latitude": "12.5", "longitude": 3}
    });
    let m = InboundMessage::from_value(odd.clone()).unwrap();
    assert_eq!(m.content_json(), odd);
    assert_eq!(m.kind(), "brand_new_type");
    assert_eq!(m.sender_wa_id(), None);
    assert_eq!(m.sender_user_id(), Some("US.1"));
    assert_eq!(m.timestamp_secs(), None);
    assert_eq!(m.text_body(), None);
    let loc = m.location.as_ref().unwrap();
    assert_eq!(loc.latitude.as_ref().and_then(|l| l.as_f64()), Some(12.5));
    assert!(m.extra.contains_key("text") && m.extra.contains_key("image"));

    let batch = parse_value(&envelope(value_with(json!([odd.clone()]))));
    assert_eq!(only_message(&batch).content_json(), odd);
}

#[test]
fn non_object_message_keeps_change_as_other() {
    let value = value_with(json!(["not a message"]));
    let batch = parse_value(&envelope(value.clone()));
    assert_eq!(batch.changes[0].kind, ChangeKind::Other { value });
}

#[test]
fn missing_type_is_inferred_from_content() {
    let m = InboundMessage::from_value(json!({"id": "w", "location": {"latitude": 1}})).unwrap();
    assert_eq!(m.kind(), "location");
    let m = InboundMessage::from_value(json!({"id": "w", "errors": []})).unwrap();
    assert_eq!(m.kind(), "unknown");
    assert!(InboundMessage::from_value(json!("w")).is_none());
}

#[test]
fn sender_identity_from_contacts() {
    let value = json!({
        "metadata": {"phone_number_id": "1"},
        "contacts": [
            {"profile": {"name": "Phone"}, "wa_id": "15550000001", "user_id": "US.P"},
            {"profile": {"name": "Bsuid"}, "wa_id": "", "user_id": "US.B"}
        ],
        "messages": [
            {"id": "a", "from": "15550000001", "type": "text", "text": {"body": "1"}},
            {"id": "b", "from": "", "from_user_id": "US.B", "type": "text", "text": {"body": "2"}}
        ]
    });
    let batch = parse_value(&value);
    let found: Vec<_> = batch
        .messages()
        .map(|(_, contacts, m)| {
            let contact = m.matching_contact(contacts).unwrap();
            let ids = m.sender_ids(contacts);
            (contact.profile_name(), ids.wa_id, ids.user_id)
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (Some("Phone"), Some("15550000001"), Some("US.P")),
            (Some("Bsuid"), None, Some("US.B")),
        ]
    );
}

#[test]
fn status_ranks_are_monotonic() {
    let order = [
        "",
        "sent",
        "delivered",
        "read",
        "played",
        "failed",
        "deleted",
    ];
    let ranks: Vec<u8> = order.iter().map(|s| Status::rank_of(s)).collect();
    assert_eq!(ranks, vec![0, 1, 2, 3, 4, 10, 11]);
    assert_eq!(Status::rank_of("READ"), 3);
    assert_eq!(Status::rank_of("warning"), 0);
    let s: Status =
        serde_json::from_value(json!({"status": "delivered", "recipient_id": ""})).unwrap();
    assert_eq!(s.rank(), 2);
    assert_eq!(s.recipient_wa_id(), None);
}

#[test]
fn opt_out_words() {
    let extra = vec!["Baja".to_owned(), "  ".to_owned()];
    for yes in ["STOP", " stop\n", "Unsubscribe", "baja", "BAJA "] {
        assert!(is_opt_out_text(yes, &extra), "{yes}");
    }
    for no in [
        "",
        "   ",
        "stop please",
        "stopp",
        "don't stop",
        "unsubscribed",
    ] {
        assert!(!is_opt_out_text(no, &extra), "{no}");
    }
    assert!(!is_opt_out_text("baja", &[]));
}
