//! SeaORM entities, one per table: data shapes only, no logic.

pub mod tenants;
pub mod platform_staff;
pub mod staff_sessions;
pub mod tenant_keys;
pub mod phone_numbers;
pub mod deletion_requests;
pub mod billing_records;
pub mod platform_audit_events;
pub mod job_locks;
pub mod users;
pub mod sessions;
pub mod contacts;
pub mod consent_events;
pub mod conversations;
pub mod messages;
pub mod message_status_events;
pub mod tenant_events;
pub mod support_grants;
pub mod audit_events;
