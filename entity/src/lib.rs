//! SeaORM entities, one per table: data shapes only, no logic.

pub mod audit_events;
pub mod billing_records;
pub mod consent_events;
pub mod contacts;
pub mod conversations;
pub mod deletion_requests;
pub mod job_locks;
pub mod message_status_events;
pub mod messages;
pub mod phone_numbers;
pub mod platform_audit_events;
pub mod platform_staff;
pub mod sessions;
pub mod staff_sessions;
pub mod support_grants;
pub mod tenant_events;
pub mod tenant_keys;
pub mod tenants;
pub mod users;
