//! Conformance of webhook parsing and signing against the corpus in tests/fixtures/webhooks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_json::Value;
use wavault::webhook::{ChangeKind, PayloadError, SignatureError, parse, sign, verify_signature};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn valid_files() -> Vec<PathBuf> {
    let dir = corpus_dir();
    let mut files = json_files(&dir);
    files.extend(json_files(&dir.join("raw_wire")));
    files
}

/// Changes of a body as `(field, value)`, read with plain `Value` access.
fn raw_changes(body: &Value) -> Vec<(String, Value)> {
    let infer = |v: &Value| {
        if v.get("messages").is_some() || v.get("statuses").is_some() {
            "messages".to_owned()
        } else {
            String::new()
        }
    };
    let Some(entries) = body.get("entry") else {
        return vec![(infer(body), body.clone())];
    };
    let mut out = Vec::new();
    for entry in entries.as_array().unwrap() {
        for change in entry["changes"].as_array().into_iter().flatten() {
            let value = change.get("value").cloned().unwrap_or(Value::Null);
            let field = change["field"]
                .as_str()
                .or(entry["field"].as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| infer(&value));
            out.push((field, value));
        }
    }
    out
}

fn raw_list<'a>(value: &'a Value, key: &str) -> Vec<&'a Value> {
    value[key].as_array().into_iter().flatten().collect()
}

#[derive(Default)]
struct Tally {
    by_type: BTreeMap<String, usize>,
    by_status: BTreeMap<String, usize>,
}

#[test]
fn every_valid_body_parses_without_losing_a_message() {
    let files = valid_files();
    assert_eq!(files.len(), 210, "valid bodies in corpus");
    let (mut raw, mut model) = (Tally::default(), Tally::default());
    let (mut changes, mut user_id_only, mut no_sender) = (0, 0, 0);

    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = fs::read(path).unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        let batch = parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = raw_changes(&body);
        assert_eq!(batch.changes.len(), expected.len(), "{name}: change count");
        changes += expected.len();

        for (change, (field, value)) in batch.changes.iter().zip(&expected) {
            if field.is_empty() {
                assert_ne!(change.field, "messages", "{name}");
            } else {
                assert_eq!(&change.field, field, "{name}");
            }
            let raw_messages = raw_list(value, "messages");
            let raw_statuses = raw_list(value, "statuses");
            if field != "messages" {
                assert_eq!(
                    change.kind,
                    ChangeKind::Other {
                        value: value.clone()
                    },
                    "{name}"
                );
                continue;
            }
            let ChangeKind::Messages {
                contacts,
                messages,
                statuses,
                ..
            } = &change.kind
            else {
                panic!("{name}: messages change not read as messages");
            };
            let pnid = value["metadata"]["phone_number_id"].as_str();
            assert_eq!(change.phone_number_id.as_deref(), pnid, "{name}");
            assert_eq!(messages.len(), raw_messages.len(), "{name}: messages");
            assert_eq!(statuses.len(), raw_statuses.len(), "{name}: statuses");

            for (m, raw_m) in messages.iter().zip(&raw_messages) {
                let raw_type = raw_m["type"].as_str().unwrap_or("(none)");
                *raw.by_type.entry(raw_type.to_owned()).or_default() += 1;
                let model_type = m.msg_type.as_deref().unwrap_or("(none)");
                *model.by_type.entry(model_type.to_owned()).or_default() += 1;
                assert_eq!(
                    &m.content_json(),
                    *raw_m,
                    "{name}: content of {}",
                    m.wamid()
                );
                assert_eq!(Some(m.wamid()), raw_m["id"].as_str(), "{name}");
                assert!(m.timestamp_secs().is_some(), "{name}: timestamp");
                if raw_m["type"].is_string() {
                    assert_eq!(m.kind(), raw_type, "{name}");
                } else {
                    assert_eq!(m.kind(), "location", "{name}: inferred kind");
                }

                let raw_from = raw_m["from"].as_str().filter(|s| !s.is_empty());
                let raw_user = raw_m["from_user_id"].as_str().filter(|s| !s.is_empty());
                assert_eq!(m.sender_wa_id(), raw_from, "{name}");
                assert_eq!(m.sender_user_id(), raw_user, "{name}");
                let ids = m.sender_ids(contacts);
                assert!(
                    ids.wa_id.is_some() || ids.user_id.is_some(),
                    "{name}: sender unknown"
                );
                if raw_from.is_none() {
                    let contact = m.matching_contact(contacts).expect("sender contact");
                    assert!(contact.user_id().is_some(), "{name}");
                    assert_eq!(ids.user_id, contact.user_id(), "{name}");
                    if raw_user.is_some() {
                        user_id_only += 1;
                    } else {
                        no_sender += 1;
                    }
                }
            }
            for (s, raw_s) in statuses.iter().zip(&raw_statuses) {
                let raw_status = raw_s["status"].as_str().unwrap_or("(none)");
                *raw.by_status.entry(raw_status.to_owned()).or_default() += 1;
                *model
                    .by_status
                    .entry(s.status_str().to_owned())
                    .or_default() += 1;
                assert_eq!(Some(s.wamid()), raw_s["id"].as_str(), "{name}");
                assert!(s.rank() > 0, "{name}: rank of {raw_status}");
                assert!(
                    s.recipient_wa_id().is_some() || s.recipient_user_id().is_some(),
                    "{name}: recipient"
                );
            }
        }
    }

    eprintln!("\n{:<14} {:>5}", "message type", "count");
    for (t, n) in &model.by_type {
        eprintln!("{t:<14} {n:>5}");
    }
    eprintln!("{:<14} {:>5}", "status", "count");
    for (t, n) in &model.by_status {
        eprintln!("{t:<14} {n:>5}");
    }

    assert_eq!(model.by_type, raw.by_type);
    assert_eq!(model.by_status, raw.by_status);
    let expected_types = [
        ("(none)", 1),
        ("audio", 4),
        ("button", 8),
        ("contacts", 5),
        ("document", 4),
        ("edit", 1),
        ("image", 7),
        ("interactive", 15),
        ("location", 6),
        ("order", 4),
        ("reaction", 9),
        ("revoke", 1),
        ("sticker", 6),
        ("system", 5),
        ("text", 27),
        ("unknown", 1),
        ("unsupported", 6),
        ("video", 3),
    ];
    let expected_types: BTreeMap<String, usize> = expected_types
        .iter()
        .map(|(t, n)| ((*t).to_owned(), *n))
        .collect();
    assert_eq!(model.by_type, expected_types);
    assert_eq!(model.by_type.values().sum::<usize>(), 113);
    let expected_statuses = [
        ("delivered", 11),
        ("failed", 5),
        ("played", 1),
        ("read", 4),
        ("sent", 8),
    ];
    let expected_statuses: BTreeMap<String, usize> = expected_statuses
        .iter()
        .map(|(t, n)| ((*t).to_owned(), *n))
        .collect();
    assert_eq!(model.by_status, expected_statuses);
    assert_eq!(changes, 213);
    assert_eq!((user_id_only, no_sender), (1, 1));
}

#[test]
fn malformed_bodies_are_invalid_json() {
    let files = json_files(&corpus_dir().join("malformed"));
    assert_eq!(files.len(), 6);
    for path in files {
        let bytes = fs::read(&path).unwrap();
        let err = parse(&bytes).unwrap_err();
        assert!(
            matches!(err, PayloadError::InvalidJson { .. }),
            "{}: {err:?}",
            path.display()
        );
    }
}

#[test]
fn raw_wire_signatures_cover_exact_bytes() {
    let files = json_files(&corpus_dir().join("raw_wire"));
    assert_eq!(files.len(), 6);
    let secrets = [
        SecretString::from("old-secret"),
        SecretString::from("test-app-secret"),
    ];
    for path in files {
        let name = path.display().to_string();
        let bytes = fs::read(&path).unwrap();
        assert_ne!(bytes.last(), Some(&b'\n'), "{name}: raw body");
        let header = sign("test-app-secret", &bytes);
        assert_eq!(
            verify_signature(&secrets, Some(&header), &bytes),
            Ok(()),
            "{name}"
        );

        let reserialized =
            serde_json::to_vec(&serde_json::from_slice::<Value>(&bytes).unwrap()).unwrap();
        assert_ne!(
            reserialized, bytes,
            "{name}: re-serialization changes bytes"
        );
        assert_eq!(
            verify_signature(&secrets, Some(&header), &reserialized),
            Err(SignatureError::Mismatch),
            "{name}"
        );
        let mut with_newline = bytes.clone();
        with_newline.push(b'\n');
        assert_eq!(
            verify_signature(&secrets, Some(&header), &with_newline),
            Err(SignatureError::Mismatch),
            "{name}"
        );
    }
}
