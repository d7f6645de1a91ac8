//! Turns a raw webhook body into a flat list of changes, whatever shape the body takes.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::webhook::loose::{NumOrString, id_text};
use crate::webhook::message::InboundMessage;
use crate::webhook::payload::{ContactInfo, Envelope, MessagesValue, Status};

/// Why a body could not be read as a webhook. The text never repeats the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("body is not valid JSON (line {line}, column {column})")]
    InvalidJson { line: usize, column: usize },
    #[error("body is JSON but not a recognizable webhook payload")]
    Unrecognized,
}

/// Every change of one POST body, flattened across entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub changes: Vec<Change>,
}

/// One change, with the routing data of its entry and metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Subscription field (`messages`, `account_update`, ...); `""` when neither the change,
    /// its entry nor the shape of its value tells it.
    pub field: String,
    pub phone_number_id: Option<String>,
    pub display_phone_number: Option<String>,
    /// WhatsApp Business Account id (`entry[].id`).
    pub waba_id: Option<String>,
    pub kind: ChangeKind,
}

/// Content of a change.
#[derive(Clone, Debug, PartialEq)]
pub enum ChangeKind {
    /// Field `messages`: inbound messages and statuses of sent messages.
    Messages {
        contacts: Vec<ContactInfo>,
        messages: Vec<InboundMessage>,
        statuses: Vec<Status>,
        errors: Vec<Value>,
    },
    /// Any other field, or a `messages` value of a shape that cannot be read; kept as sent.
    Other { value: Value },
}

impl Batch {
    /// Every inbound message with the change it came in and that change's contacts.
    pub fn messages(&self) -> impl Iterator<Item = (&Change, &[ContactInfo], &InboundMessage)> {
        self.changes.iter().flat_map(|change| {
            let (contacts, messages): (&[ContactInfo], &[InboundMessage]) = match &change.kind {
                ChangeKind::Messages {
                    contacts, messages, ..
                } => (contacts, messages),
                ChangeKind::Other { .. } => (&[], &[]),
            };
            messages.iter().map(move |m| (change, contacts, m))
        })
    }

    /// Every status with the change it came in.
    pub fn statuses(&self) -> impl Iterator<Item = (&Change, &Status)> {
        self.changes.iter().flat_map(|change| {
            let statuses: &[Status] = match &change.kind {
                ChangeKind::Messages { statuses, .. } => statuses,
                ChangeKind::Other { .. } => &[],
            };
            statuses.iter().map(move |s| (change, s))
        })
    }
}

/// Reads a webhook body: a full envelope (with or without top-level `object`), a single
/// `{"field", "value"}` change, or a bare change `value` (with `metadata`, `messages` or
/// `statuses`). An envelope with no entries is an empty batch.
pub fn parse(body: &[u8]) -> Result<Batch, PayloadError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| PayloadError::InvalidJson {
        line: e.line(),
        column: e.column(),
    })?;
    let Value::Object(root) = root else {
        return Err(PayloadError::Unrecognized);
    };
    if root.contains_key("entry") {
        return parse_envelope(root);
    }
    if root.contains_key("field") && root.contains_key("value") {
        let field = root.get("field").and_then(Value::as_str).map(str::to_owned);
        let value = root.get("value").cloned().unwrap_or(Value::Null);
        return Ok(Batch {
            changes: vec![build_change(field, None, value)],
        });
    }
    if ["metadata", "messages", "statuses"]
        .iter()
        .any(|k| root.contains_key(*k))
    {
        return Ok(Batch {
            changes: vec![build_change(None, None, Value::Object(root))],
        });
    }
    Err(PayloadError::Unrecognized)
}

fn parse_envelope(root: Map<String, Value>) -> Result<Batch, PayloadError> {
    let envelope =
        Envelope::deserialize(Value::Object(root)).map_err(|_| PayloadError::Unrecognized)?;
    let mut changes = Vec::new();
    for entry in envelope.entry.unwrap_or_default() {
        let waba_id = entry.id.as_ref().map(NumOrString::to_text);
        for change in entry.changes.unwrap_or_default() {
            let field = change.field.or_else(|| entry.field.clone());
            let value = change.value.unwrap_or(Value::Null);
            changes.push(build_change(field, waba_id.clone(), value));
        }
    }
    Ok(Batch { changes })
}

fn build_change(field: Option<String>, waba_id: Option<String>, value: Value) -> Change {
    let field = field.unwrap_or_else(|| infer_field(&value).to_owned());
    let metadata = value.get("metadata");
    let phone_number_id = metadata
        .and_then(|m| m.get("phone_number_id"))
        .and_then(id_text);
    let display_phone_number = metadata
        .and_then(|m| m.get("display_phone_number"))
        .or_else(|| value.get("display_phone_number"))
        .and_then(id_text);
    let kind = match field.as_str() {
        "messages" => match MessagesValue::deserialize(&value) {
            Ok(v) => ChangeKind::Messages {
                contacts: v.contacts,
                messages: v.messages,
                statuses: v.statuses,
                errors: v.errors,
            },
            Err(_) => ChangeKind::Other { value },
        },
        _ => ChangeKind::Other { value },
    };
    Change {
        field,
        phone_number_id,
        display_phone_number,
        waba_id,
        kind,
    }
}

/// Field name implied by the keys of a value that arrived without one.
fn infer_field(value: &Value) -> &'static str {
    const BY_KEY: [(&str, &str); 7] = [
        ("messages", "messages"),
        ("statuses", "messages"),
        ("calls", "calls"),
        ("history", "history"),
        ("message_echoes", "smb_message_echoes"),
        ("state_sync", "smb_app_state_sync"),
        ("user_preferences", "user_preferences"),
    ];
    BY_KEY
        .iter()
        .find(|(key, _)| value.get(*key).is_some())
        .map_or("", |(_, field)| *field)
}

/// Whether an inbound text asks to stop messages: after trimming, it equals `STOP`,
/// `UNSUBSCRIBE` or one of `extra_words`, ignoring case.
pub fn is_opt_out_text(text: &str, extra_words: &[String]) -> bool {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return false;
    }
    ["stop", "unsubscribe"]
        .into_iter()
        .chain(extra_words.iter().map(String::as_str))
        .any(|word| word.trim().to_lowercase() == text)
}
