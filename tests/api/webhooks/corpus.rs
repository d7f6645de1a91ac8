//! The conformance corpus (tests/fixtures/webhooks) through HTTP, against a running app.
//!
//! Pass 1 posts every file exactly as published (raw_wire byte for byte). Many published
//! examples reuse placeholder wamids, and a wamid names one message, so only the first body
//! carrying each wamid stores it. Pass 2 makes every message's wamid unique, so every message
//! object of the corpus is stored and read back. Pass 3 replays both and must store nothing.
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::helpers::*;
use crate::webhook_support::*;

const CONTENT_KEYS: [&str; 16] = [
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "edit",
    "revoke",
    "unsupported",
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// `(raw_wire, name, bytes)` of every valid body.
fn valid_bodies() -> Vec<(bool, String, Vec<u8>)> {
    let dir = corpus_dir();
    let mut out = Vec::new();
    for (raw, d) in [(false, dir.clone()), (true, dir.join("raw_wire"))] {
        for p in json_files(&d) {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((raw, name, fs::read(&p).unwrap()));
        }
    }
    out
}

/// `(business account id, field, value)` of every change of a body; a missing field is
/// inferred from the value, as Meta's own examples sometimes leave it out.
fn changes(body: &Value) -> Vec<(Option<String>, String, &Value)> {
    let infer = |v: &Value| {
        if v.get("messages").is_some() || v.get("statuses").is_some() {
            "messages".to_owned()
        } else {
            String::new()
        }
    };
    let Some(entries) = body.get("entry").and_then(Value::as_array) else {
        let value = body.get("value").unwrap_or(body);
        let field = body["field"]
            .as_str()
            .map_or_else(|| infer(value), str::to_owned);
        return vec![(None, field, value)];
    };
    let mut out = Vec::new();
    for entry in entries {
        let waba = entry
            .get("id")
            .map(|i| i.as_str().map_or(i.to_string(), str::to_owned));
        for change in entry["changes"].as_array().into_iter().flatten() {
            if let Some(v) = change.get("value") {
                let field = change["field"]
                    .as_str()
                    .or(entry["field"].as_str())
                    .map_or_else(|| infer(v), str::to_owned);
                out.push((waba.clone(), field, v));
            }
        }
    }
    out
}

/// Values of the `messages` changes of a body (history syncs and echoes are events, not inbox
/// messages).
fn message_values(body: &Value) -> Vec<&Value> {
    changes(body)
        .into_iter()
        .filter(|(_, field, _)| field == "messages")
        .map(|(_, _, v)| v)
        .collect()
}

fn messages_of(value: &Value) -> Vec<&Value> {
    value
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect()
}

fn kind(m: &Value) -> String {
    match m["type"].as_str().filter(|t| !t.is_empty()) {
        Some(t) => t.to_owned(),
        None => CONTENT_KEYS
            .iter()
            .find(|k| m.get(**k).is_some())
            .unwrap_or(&"unknown")
            .to_string(),
    }
}

fn tally<'a>(items: impl Iterator<Item = &'a (String, Value)>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (_, m) in items {
        *out.entry(kind(m)).or_default() += 1;
    }
    out
}

/// Gives every message of a (non-raw) body its own wamid, `<wamid>#<file>#<n>`.
fn uniquify(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(bytes).unwrap();
    let mut n = 0;
    let mut rename = |v: &mut Value| {
        for m in v
            .get_mut("messages")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let id = m["id"].as_str().unwrap_or("").to_owned();
            m["id"] = Value::from(format!("{id}#{name}#{n}"));
            n += 1;
        }
    };
    match body.get_mut("entry").and_then(Value::as_array_mut) {
        Some(entries) => {
            for e in entries {
                for c in e["changes"].as_array_mut().into_iter().flatten() {
                    if let Some(v) = c.get_mut("value") {
                        rename(v);
                    }
                }
            }
        }
        None => match body.get_mut("value") {
            Some(v) => rename(v),
            None => rename(&mut body),
        },
    }
    serde_json::to_vec(&body).unwrap()
}

#[tokio::test]
async fn the_whole_corpus_is_stored_once_and_reads_back() {
    let app = spawn_app().await;
    let t = app.create_tenant("corpus").await;
    let other = app.create_tenant("bystander").await;
    let bodies = valid_bodies();
    assert_eq!(bodies.len(), 210);

    // Every business number of the corpus, registered under the account id it appears with.
    let mut numbers: BTreeMap<String, String> = BTreeMap::new();
    for (_, _, bytes) in &bodies {
        let body: Value = serde_json::from_slice(bytes).unwrap();
        for (waba, _, v) in changes(&body) {
            if let Some(pnid) = v["metadata"]["phone_number_id"].as_str() {
                let waba = waba.unwrap_or_else(|| waba_for(pnid));
                numbers.entry(pnid.to_owned()).or_insert(waba);
            }
        }
    }
    assert_eq!(numbers.len(), 25);
    for (pnid, waba) in &numbers {
        register_number_in_waba(&app, &t, pnid, waba).await;
    }

    for p in json_files(&corpus_dir().join("malformed")) {
        let (s, b) = status_json(post_webhook(&app, &fs::read(&p).unwrap()).await).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("malformed_payload")),
            "{}",
            p.display()
        );
    }
    assert!(holds_nothing(&app, t.id).await);

    // Pass 1: exact bytes; the first body naming a wamid stores it.
    let mut first: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for (_, name, bytes) in &bodies {
        let (s, b) = status_json(post_webhook(&app, bytes).await).await;
        assert_eq!(s, 200, "{name}: {b}");
        let body: Value = serde_json::from_slice(bytes).unwrap();
        for v in message_values(&body) {
            for m in messages_of(v) {
                let wamid = m["id"].as_str().unwrap().to_owned();
                first
                    .entry(wamid)
                    .or_insert_with(|| (name.clone(), m.clone()));
            }
        }
    }
    let stored = stored_messages(&app, t.id).await;
    let got: std::collections::BTreeSet<_> =
        stored.iter().filter_map(|m| m.wamid.clone()).collect();
    for (w, (name, _)) in &first {
        assert!(got.contains(w), "{name}: {w} not stored");
    }
    assert_eq!(stored.len(), first.len());
    for m in &stored {
        let wamid = m.wamid.clone().unwrap();
        let (name, original) = &first[&wamid];
        assert_eq!(&m.content, original, "{name}");
        assert_eq!(m.msg_type, kind(original), "{name}");
        assert_eq!(m.direction, "inbound");
    }

    // Pass 2: every message object of the corpus, each under its own wamid.
    let mut every: Vec<(String, Value)> = Vec::new();
    for (raw, name, bytes) in &bodies {
        if *raw {
            continue;
        }
        let unique = uniquify(name, bytes);
        let (s, b) = status_json(post_webhook(&app, &unique).await).await;
        assert_eq!(s, 200, "{name}: {b}");
        let body: Value = serde_json::from_slice(&unique).unwrap();
        for v in message_values(&body) {
            every.extend(
                messages_of(v)
                    .into_iter()
                    .map(|m| (name.clone(), m.clone())),
            );
        }
    }
    let raw_messages: usize = bodies
        .iter()
        .filter(|(raw, _, _)| *raw)
        .map(|(_, _, b)| {
            let body: Value = serde_json::from_slice(b).unwrap();
            message_values(&body)
                .iter()
                .map(|v| messages_of(v).len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(every.len() + raw_messages, 113, "messages in the corpus");
    let stored = stored_messages(&app, t.id).await;
    let by_wamid: BTreeMap<String, &wavault::store::sealed::MessagePlain> = stored
        .iter()
        .map(|m| (m.wamid.clone().unwrap(), m))
        .collect();
    for (name, original) in &every {
        let m = by_wamid[original["id"].as_str().unwrap()];
        assert_eq!(&m.content, original, "{name}");
        assert_eq!(m.msg_type, kind(original), "{name}");
    }
    let stored_unique: Vec<(String, Value)> = stored
        .iter()
        .filter(|m| m.wamid.as_deref().is_some_and(|w| w.contains(".json#")))
        .map(|m| (m.msg_type.clone(), m.content.clone()))
        .collect();
    assert_eq!(tally(stored_unique.iter()), tally(every.iter()));
    assert!(
        tally(every.iter()).contains_key("unknown") && tally(every.iter()).contains_key("order")
    );

    // Pass 3: the same deliveries again change nothing, for this tenant or any other.
    let before = table_counts(&app, t.id).await;
    assert!(
        before["tenant_events"] > 0 && before["message_status_events"] > 0,
        "{before:?}"
    );
    for (raw, name, bytes) in &bodies {
        assert_eq!(
            post_webhook(&app, bytes).await.status().as_u16(),
            200,
            "{name}"
        );
        if !*raw {
            let unique = uniquify(name, bytes);
            assert_eq!(
                post_webhook(&app, &unique).await.status().as_u16(),
                200,
                "{name}"
            );
        }
    }
    assert_eq!(table_counts(&app, t.id).await, before);
    assert!(holds_nothing(&app, other.id).await);
}
