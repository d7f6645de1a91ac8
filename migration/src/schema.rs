//! The data model as DDL, written once and rendered for each backend.
//!
//! Every table holding tenant data carries `tenant_id` first in its primary key and in every
//! unique index, so the data can be distributed on `tenant_id` and wiped with one
//! `DELETE ... WHERE tenant_id = $1` per table. Timestamps are Unix milliseconds (`BIGINT`):
//! one representation on both backends, ordered and compared as integers.

/// Tables that hold a tenant's data: row-level security applies to each, and the wipe deletes
/// from each (the wipe finds them again from the live schema, so this list is only for RLS).
pub const TENANT_TABLES: &[&str] = &[
    "users",
    "sessions",
    "contacts",
    "consent_events",
    "conversations",
    "messages",
    "message_status_events",
    "tenant_events",
    "support_grants",
    "audit_events",
];

/// Tables with a `tenant_id` column that a tenant wipe keeps (or handles on its own).
pub const WIPE_KEEPS: &[&str] = &[
    "tenants",
    "tenant_keys",
    "deletion_requests",
    "billing_records",
    "platform_audit_events",
];

const DDL: &str = r#"
CREATE TABLE tenants (
    id {uuid} PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    status TEXT NOT NULL,
    require_totp {bool} NOT NULL DEFAULT {false},
    auto_assign {bool} NOT NULL DEFAULT {false},
    message_retention_days INTEGER NULL,
    assign_cursor BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);

CREATE TABLE platform_staff (
    id {uuid} PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled {bool} NOT NULL DEFAULT {false},
    totp_secret_enc {bytes} NULL,
    totp_enabled {bool} NOT NULL DEFAULT {false},
    totp_last_step BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX platform_staff_email ON platform_staff (email);

CREATE TABLE staff_sessions (
    id {uuid} PRIMARY KEY,
    staff_id {uuid} NOT NULL,
    refresh_hash {bytes} NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

CREATE TABLE tenant_keys (
    tenant_id {uuid} NOT NULL,
    version INTEGER NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped_dek {bytes} NULL,
    created_at BIGINT NOT NULL,
    destroyed_at BIGINT NULL,
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE phone_numbers (
    phone_number_id TEXT PRIMARY KEY,
    tenant_id {uuid} NOT NULL,
    display_phone_number TEXT NOT NULL,
    waba_id TEXT NOT NULL,
    access_token_enc {bytes} NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX phone_numbers_tenant ON phone_numbers (tenant_id);

CREATE TABLE deletion_requests (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by {uuid} NOT NULL,
    requested_by_kind TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    scheduled_for BIGINT NOT NULL,
    cancelled_at BIGINT NULL,
    cancelled_by {uuid} NULL,
    executed_at BIGINT NULL,
    executed_by {uuid} NULL,
    executed_by_kind TEXT NULL,
    certificate TEXT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deletion_requests_due ON deletion_requests (status, scheduled_for);

CREATE TABLE billing_records (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    invoice_number TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    gstin TEXT NULL,
    retain_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX billing_records_invoice ON billing_records (tenant_id, invoice_number);

CREATE TABLE platform_audit_events (
    seq BIGINT PRIMARY KEY,
    id {uuid} NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id {uuid} NULL,
    action TEXT NOT NULL,
    target_type TEXT NULL,
    target_id TEXT NULL,
    tenant_id {uuid} NULL,
    ip TEXT NULL,
    user_agent TEXT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    prev_hash {bytes} NOT NULL,
    hash {bytes} NOT NULL
);

CREATE TABLE job_locks (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE users (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled {bool} NOT NULL DEFAULT {false},
    totp_secret_enc {bytes} NULL,
    totp_enabled {bool} NOT NULL DEFAULT {false},
    totp_last_step BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_email ON users (tenant_id, email);

CREATE TABLE sessions (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    user_id {uuid} NOT NULL,
    refresh_hash {bytes} NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

CREATE TABLE contacts (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    wa_id_enc {bytes} NULL,
    wa_id_bidx {bytes} NULL,
    user_id_enc {bytes} NULL,
    user_id_bidx {bytes} NULL,
    profile_name_enc {bytes} NULL,
    display_name_enc {bytes} NULL,
    attributes_enc {bytes} NULL,
    consent_status TEXT NOT NULL,
    restricted {bool} NOT NULL DEFAULT {false},
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_inbound_at BIGINT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX contacts_wa_id ON contacts (tenant_id, wa_id_bidx);
CREATE UNIQUE INDEX contacts_user_id ON contacts (tenant_id, user_id_bidx);

CREATE TABLE consent_events (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    contact_id {uuid} NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id {uuid} NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX consent_events_contact ON consent_events (tenant_id, contact_id, created_at);

CREATE TABLE conversations (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    contact_id {uuid} NOT NULL,
    phone_number_id TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_id {uuid} NULL,
    last_message_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX conversations_thread ON conversations (tenant_id, phone_number_id, contact_id);
CREATE INDEX conversations_activity ON conversations (tenant_id, last_message_at, id);
CREATE INDEX conversations_contact ON conversations (tenant_id, contact_id);

CREATE TABLE messages (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    conversation_id {uuid} NOT NULL,
    contact_id {uuid} NOT NULL,
    direction TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    wamid_enc {bytes} NULL,
    wamid_bidx {bytes} NULL,
    content_enc {bytes} NOT NULL,
    status TEXT NULL,
    status_rank INTEGER NOT NULL DEFAULT 0,
    error_enc {bytes} NULL,
    sent_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX messages_wamid ON messages (tenant_id, wamid_bidx);
CREATE INDEX messages_conversation ON messages (tenant_id, conversation_id, sent_at, id);
CREATE INDEX messages_contact ON messages (tenant_id, contact_id);
CREATE INDEX messages_age ON messages (tenant_id, sent_at);

CREATE TABLE message_status_events (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    wamid_bidx {bytes} NOT NULL,
    message_id {uuid} NULL,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    detail_enc {bytes} NULL,
    occurred_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX message_status_events_once ON message_status_events (tenant_id, wamid_bidx, status);
CREATE INDEX message_status_events_message ON message_status_events (tenant_id, message_id);

CREATE TABLE tenant_events (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    field TEXT NOT NULL,
    payload_enc {bytes} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE support_grants (
    tenant_id {uuid} NOT NULL,
    id {uuid} NOT NULL,
    granted_by {uuid} NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE audit_events (
    tenant_id {uuid} NOT NULL,
    seq BIGINT NOT NULL,
    id {uuid} NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id {uuid} NULL,
    action TEXT NOT NULL,
    target_type TEXT NULL,
    target_id TEXT NULL,
    ip TEXT NULL,
    user_agent TEXT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    prev_hash {bytes} NOT NULL,
    hash {bytes} NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
"#;

/// Which SQL dialect to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The DDL for one backend, as separate statements.
pub fn statements(dialect: Dialect) -> Vec<String> {
    let (uuid, bytes, boolean, false_) = match dialect {
        Dialect::Sqlite => ("BLOB", "BLOB", "BOOLEAN", "0"),
        Dialect::Postgres => ("UUID", "BYTEA", "BOOLEAN", "FALSE"),
    };
    DDL.replace("{uuid}", uuid)
        .replace("{bytes}", bytes)
        .replace("{bool}", boolean)
        .replace("{false}", false_)
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
