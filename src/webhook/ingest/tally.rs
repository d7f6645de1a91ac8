//! What one tenant's share of a body did, turned into metrics once it is committed.
use std::collections::BTreeMap;

use crate::webhook::ingest::IngestReport;

/// Message types counted under their own name in metrics; anything else is "other", so a new
/// type from Meta cannot grow the label set without bound.
const KNOWN_TYPES: [&str; 19] = [
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
    "unknown",
    "request_welcome",
    "group",
];

/// Fields counted under their own name in metrics; anything else is "other".
const KNOWN_FIELDS: [&str; 27] = [
    "messages",
    "messages.errors",
    "user_preferences",
    "smb_message_echoes",
    "smb_app_state_sync",
    "account_alerts",
    "account_review_update",
    "account_settings_update",
    "account_update",
    "automatic_events",
    "business_capability_update",
    "calls",
    "flows",
    "group_lifecycle_update",
    "group_participants_update",
    "group_settings_update",
    "group_status_update",
    "history",
    "message_template_components_update",
    "message_template_quality_update",
    "message_template_status_update",
    "partner_solutions",
    "payment_configuration_update",
    "phone_number_name_update",
    "phone_number_quality_update",
    "security",
    "template_category_update",
];

fn label(known: &[&'static str], value: &str) -> &'static str {
    known
        .iter()
        .find(|k| **k == value)
        .copied()
        .unwrap_or("other")
}

#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) report: IngestReport,
    stored_types: BTreeMap<&'static str, u64>,
    event_fields: BTreeMap<&'static str, u64>,
}

impl Tally {
    pub(super) fn message_stored(&mut self, msg_type: &str) {
        self.report.messages_stored += 1;
        *self
            .stored_types
            .entry(label(&KNOWN_TYPES, msg_type))
            .or_default() += 1;
    }

    pub(super) fn event_stored(&mut self, field: &str) {
        self.report.events_stored += 1;
        *self
            .event_fields
            .entry(label(&KNOWN_FIELDS, field))
            .or_default() += 1;
    }

    /// Called after the commit, so the counters count what is durably stored.
    pub(super) fn record_metrics(&self) {
        let r = &self.report;
        for (kind, n) in [
            ("message", r.duplicate_messages),
            ("status", r.duplicate_statuses),
        ] {
            if n > 0 {
                metrics::counter!("webhook_duplicates_total", "kind" => kind).increment(n);
            }
        }
        for (outcome, n) in [
            ("applied", r.statuses_applied),
            ("pending", r.statuses_pending),
            ("stale", r.statuses_stale),
        ] {
            if n > 0 {
                metrics::counter!("webhook_statuses_total", "outcome" => outcome).increment(n);
            }
        }
        if r.opt_outs > 0 {
            metrics::counter!("webhook_opt_outs_total").increment(r.opt_outs);
        }
        for (msg_type, n) in &self.stored_types {
            metrics::counter!("webhook_messages_stored_total", "type" => *msg_type).increment(*n);
        }
        for (field, n) in &self.event_fields {
            metrics::counter!("webhook_tenant_events_total", "field" => *field).increment(*n);
        }
    }
}
