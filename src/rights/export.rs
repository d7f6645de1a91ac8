//! Streaming tenant export: contacts read in pages, decrypted and written as they go, so memory
//! stays flat whatever the tenant's size. A client that disconnects drops the stream, which
//! stops the work.
use std::collections::HashMap;
use std::sync::Arc;

use actix_web::web::Bytes;
use futures_util::Stream;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::clock::{opt_rfc3339, rfc3339};
use crate::crypto::TenantKeys;
use crate::identity::Actor;
use crate::store::sealed::{ContactPlain, open_contact, open_message};
use crate::store::{Db, StoreError, StoreResult};

const PAGE: u64 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson { messages: bool },
}

/// Columns of the CSV export: what a spreadsheet or another CRM imports.
pub const CSV_HEADER: [&str; 10] = [
    "id",
    "name",
    "profile_name",
    "display_name",
    "phone_e164",
    "business_scoped_user_id",
    "attributes",
    "consent_status",
    "created_at",
    "last_contact_at",
];

struct Cursor {
    db: Db,
    now: i64,
    actor: Actor,
    keys: Arc<TenantKeys>,
    format: Format,
    after: Option<Uuid>,
    header_sent: bool,
    done: bool,
    rows: Arc<std::sync::atomic::AtomicU64>,
}

/// The export as a stream of chunks, one page each. `rows` counts what was written.
pub fn stream(
    db: Db,
    keys: Arc<TenantKeys>,
    format: Format,
    actor: Actor,
    now: i64,
    rows: Arc<std::sync::atomic::AtomicU64>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let cursor = Cursor {
        db,
        now,
        actor,
        keys,
        format,
        after: None,
        header_sent: false,
        done: false,
        rows,
    };
    futures_util::stream::unfold(cursor, |mut c| async move {
        if c.done {
            return None;
        }
        match next_chunk(&mut c).await {
            Ok(Some(bytes)) => Some((Ok(bytes), c)),
            Ok(None) => None,
            Err(e) => {
                // Headers are already sent: the only honest signal left is a broken stream.
                tracing::error!(error = %e, "export stopped");
                c.done = true;
                Some((
                    Err(actix_web::error::ErrorInternalServerError("export failed")),
                    c,
                ))
            }
        }
    })
}

async fn next_chunk(c: &mut Cursor) -> StoreResult<Option<Bytes>> {
    let mut out = Vec::with_capacity(64 * 1024);
    if !c.header_sent {
        c.header_sent = true;
        if c.format == Format::Csv {
            write_csv(&mut out, CSV_HEADER.iter().map(|s| (*s).to_owned()))?;
        }
    }
    let tx = c.db.tenant(c.keys.tenant_id()).await?;
    let page = tx.inbox().contacts_page(None, c.after, PAGE, false).await?;
    let Some(last) = page.last() else {
        let written = c.rows.load(std::sync::atomic::Ordering::Relaxed);
        let rec = c.actor.record(
            "contacts.export_completed",
            "tenant",
            c.keys.tenant_id(),
            json!({"rows": written}),
        );
        tx.append_audit(&rec, c.now).await?;
        tx.commit().await?;
        c.done = true;
        return Ok((!out.is_empty()).then(|| Bytes::from(out)));
    };
    c.after = Some(last.id);
    let ids: Vec<Uuid> = page.iter().map(|m| m.id).collect();
    let contacts: Vec<ContactPlain> = page
        .iter()
        .map(|m| open_contact(&c.keys, m))
        .collect::<Result<_, _>>()?;
    match c.format {
        Format::Csv => {
            for p in &contacts {
                write_csv(&mut out, csv_row(p).into_iter())?;
            }
        }
        Format::Ndjson { messages } => {
            let mut consent: HashMap<Uuid, Vec<Value>> = HashMap::new();
            for e in tx.consent_history(&ids).await? {
                consent.entry(e.contact_id).or_default().push(json!({
                    "status": e.status, "source": e.source, "actor_kind": e.actor_kind,
                    "actor_id": e.actor_id, "at": rfc3339(e.created_at),
                }));
            }
            let mut threads: HashMap<Uuid, Vec<Value>> = HashMap::new();
            if messages {
                threads = conversations_with_messages(&tx, &c.keys, &ids).await?;
            }
            for p in &contacts {
                let mut line = contact_json(p);
                if let Some(obj) = line.as_object_mut() {
                    obj.insert(
                        "consent_history".into(),
                        Value::Array(consent.remove(&p.id).unwrap_or_default()),
                    );
                    if messages {
                        obj.insert(
                            "conversations".into(),
                            Value::Array(threads.remove(&p.id).unwrap_or_default()),
                        );
                    }
                }
                serde_json::to_writer(&mut out, &line)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                out.push(b'\n');
            }
        }
    }
    tx.commit().await?;
    c.rows
        .fetch_add(contacts.len() as u64, std::sync::atomic::Ordering::Relaxed);
    Ok(Some(Bytes::from(out)))
}

fn write_csv(out: &mut Vec<u8>, fields: impl Iterator<Item = String>) -> StoreResult<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(fields)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    w.flush().map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(())
}

fn csv_row(p: &ContactPlain) -> Vec<String> {
    let name = p
        .display_name
        .clone()
        .or_else(|| p.profile_name.clone())
        .unwrap_or_default();
    vec![
        p.id.to_string(),
        name,
        p.profile_name.clone().unwrap_or_default(),
        p.display_name.clone().unwrap_or_default(),
        p.wa_id
            .as_deref()
            .map(|w| format!("+{}", w.trim_start_matches('+')))
            .unwrap_or_default(),
        p.user_id.clone().unwrap_or_default(),
        p.attributes.to_string(),
        p.consent_status.clone(),
        rfc3339(p.created_at),
        opt_rfc3339(p.last_inbound_at).unwrap_or_default(),
    ]
}

/// The JSON form of a contact, shared by the NDJSON export and the access bundle.
pub fn contact_json(p: &ContactPlain) -> Value {
    json!({
        "id": p.id,
        "wa_id": p.wa_id,
        "business_scoped_user_id": p.user_id,
        "profile_name": p.profile_name,
        "display_name": p.display_name,
        "attributes": p.attributes,
        "consent_status": p.consent_status,
        "restricted": p.restricted,
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
        "last_inbound_at": opt_rfc3339(p.last_inbound_at),
    })
}

/// Conversations (each with its messages, decrypted, oldest first) keyed by contact id.
pub async fn conversations_with_messages(
    tx: &crate::store::TenantTx,
    keys: &TenantKeys,
    contact_ids: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<Value>>> {
    let mut by_conversation: HashMap<Uuid, Vec<Value>> = HashMap::new();
    for m in tx.messages_of_contacts(contact_ids).await? {
        let p = open_message(keys, &m)?;
        by_conversation.entry(p.conversation_id).or_default().push(json!({
            "id": p.id, "direction": p.direction, "type": p.msg_type, "wamid": p.wamid,
            "content": p.content, "status": p.status, "error": p.error, "sent_at": rfc3339(p.sent_at),
        }));
    }
    let mut out: HashMap<Uuid, Vec<Value>> = HashMap::new();
    for conv in tx.conversations_of_contacts(contact_ids).await? {
        out.entry(conv.contact_id).or_default().push(json!({
            "id": conv.id, "phone_number_id": conv.phone_number_id, "status": conv.status,
            "assignee_id": conv.assignee_id, "created_at": rfc3339(conv.created_at),
            "last_message_at": rfc3339(conv.last_message_at),
            "messages": by_conversation.remove(&conv.id).unwrap_or_default(),
        }));
    }
    Ok(out)
}
