//! Where each encrypted column lives, and the plaintext views of sealed rows.
//!
//! Every sealed value is bound to (tenant, table, column, row id); these helpers are the only
//! place those coordinates are spelled, so writers and readers cannot disagree.
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::crypto::{CryptoError, Place, TenantKeys};

pub mod col {
    pub const CONTACTS: &str = "contacts";
    pub const MESSAGES: &str = "messages";
    pub const STATUS_EVENTS: &str = "message_status_events";
    pub const TENANT_EVENTS: &str = "tenant_events";
    pub const NUMBERS: &str = "phone_numbers";
}

pub fn place(table: &'static str, column: &'static str, row_id: Uuid) -> Place<'static> {
    Place::new(table, column, row_id)
}

/// Phone-number rows are keyed by Meta's string id; their sealed token binds to a UUID derived
/// from it.
pub fn number_row_id(phone_number_id: &str) -> Uuid {
    let digest = Sha256::digest(phone_number_id.as_bytes());
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    Uuid::from_bytes(bytes)
}

/// A contact as the API and exports see it.
#[derive(Clone, Debug, Serialize)]
pub struct ContactPlain {
    pub id: Uuid,
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
    pub display_name: Option<String>,
    pub attributes: Value,
    pub consent_status: String,
    pub restricted: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_inbound_at: Option<i64>,
}

pub fn open_contact(
    keys: &TenantKeys,
    m: &entity::contacts::Model,
) -> Result<ContactPlain, CryptoError> {
    let p = |c: &'static str| place(col::CONTACTS, c, m.id);
    let attributes = match m.attributes_enc.as_deref() {
        Some(b) => keys.open_json(&p("attributes_enc"), b)?,
        None => Value::Object(Default::default()),
    };
    Ok(ContactPlain {
        id: m.id,
        wa_id: keys.open_opt_string(&p("wa_id_enc"), m.wa_id_enc.as_deref())?,
        user_id: keys.open_opt_string(&p("user_id_enc"), m.user_id_enc.as_deref())?,
        profile_name: keys
            .open_opt_string(&p("profile_name_enc"), m.profile_name_enc.as_deref())?,
        display_name: keys
            .open_opt_string(&p("display_name_enc"), m.display_name_enc.as_deref())?,
        attributes,
        consent_status: m.consent_status.clone(),
        restricted: m.restricted,
        created_at: m.created_at,
        updated_at: m.updated_at,
        last_inbound_at: m.last_inbound_at,
    })
}

/// A message as the API and exports see it.
#[derive(Clone, Debug, Serialize)]
pub struct MessagePlain {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub contact_id: Uuid,
    pub direction: String,
    pub msg_type: String,
    pub wamid: Option<String>,
    pub content: Value,
    pub status: Option<String>,
    pub error: Option<Value>,
    pub sent_at: i64,
    pub created_at: i64,
}

pub fn open_message(
    keys: &TenantKeys,
    m: &entity::messages::Model,
) -> Result<MessagePlain, CryptoError> {
    let p = |c: &'static str| place(col::MESSAGES, c, m.id);
    let error = match m.error_enc.as_deref() {
        Some(b) => Some(keys.open_json(&p("error_enc"), b)?),
        None => None,
    };
    Ok(MessagePlain {
        id: m.id,
        conversation_id: m.conversation_id,
        contact_id: m.contact_id,
        direction: m.direction.clone(),
        msg_type: m.msg_type.clone(),
        wamid: keys.open_opt_string(&p("wamid_enc"), m.wamid_enc.as_deref())?,
        content: keys.open_json(&p("content_enc"), &m.content_enc)?,
        status: m.status.clone(),
        error,
        sent_at: m.sent_at,
        created_at: m.created_at,
    })
}

/// Every sealed column of the schema, for rotation and for checks that nothing is stored in the
/// clear: (table, id column, sealed columns).
pub const SEALED_COLUMNS: &[(&str, &str, &[&str])] = &[
    (
        col::CONTACTS,
        "id",
        &[
            "wa_id_enc",
            "user_id_enc",
            "profile_name_enc",
            "display_name_enc",
            "attributes_enc",
        ],
    ),
    (
        col::MESSAGES,
        "id",
        &["wamid_enc", "content_enc", "error_enc"],
    ),
    (col::STATUS_EVENTS, "id", &["detail_enc"]),
    (col::TENANT_EVENTS, "id", &["payload_enc"]),
    ("users", "id", &["totp_secret_enc"]),
];
