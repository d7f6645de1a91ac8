//! Changes that are not messages: kept sealed as tenant events, and marketing preferences turned
//! into consent history.
use serde_json::Value;

use crate::store::contacts::{CONSENT_OPTED_IN, CONSENT_OPTED_OUT, ConsentChange, ContactIdentity};
use crate::webhook::ingest::tenant::TenantRun;
use crate::webhook::ingest::{IngestError, content_id};
use crate::webhook::normalize::Change;

impl TenantRun<'_> {
    /// Any change other than messages and statuses: stored as an event (an empty value is
    /// dropped on purpose); marketing preferences also update consent.
    pub(super) async fn other(
        &mut self,
        change: &Change,
        value: &Value,
    ) -> Result<(), IngestError> {
        if value.is_null() {
            return self.drop_item("empty_value");
        }
        if change.field == "user_preferences" {
            self.preferences(value).await?;
        }
        let field = if change.field.is_empty() {
            "unknown"
        } else {
            change.field.as_str()
        };
        self.tenant_event(change, field, value).await
    }

    /// Stores `value` sealed under `field`; a redelivery of the same change is a no-op.
    pub(super) async fn tenant_event(
        &mut self,
        change: &Change,
        field: &str,
        value: &Value,
    ) -> Result<(), IngestError> {
        let payload = value.to_string();
        let id = content_id(
            self.keys,
            &[
                "tenant_event",
                field,
                change.waba_id.as_deref().unwrap_or(""),
                change.phone_number_id.as_deref().unwrap_or(""),
                &payload,
            ],
        )?;
        let now = self.ctx.now_ms;
        if self
            .tx
            .insert_tenant_event(self.keys, id, field, value, now)
            .await?
        {
            self.tally.event_stored(field);
        }
        Ok(())
    }

    /// `user_preferences`: a marketing `stop` opts the user out, `resume` back in.
    async fn preferences(&mut self, value: &Value) -> Result<(), IngestError> {
        let items = value
            .get("user_preferences")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let now = self.ctx.now_ms;
        for item in items {
            let text = |k: &str| {
                item.get(k)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            if text("category") != Some("marketing_messages") {
                continue;
            }
            let status = match text("value").map(str::to_ascii_lowercase).as_deref() {
                Some("stop") => CONSENT_OPTED_OUT,
                Some("resume") => CONSENT_OPTED_IN,
                _ => continue,
            };
            let who = ContactIdentity {
                wa_id: text("wa_id"),
                user_id: text("user_id"),
                profile_name: None,
            };
            let Some(contact) = self
                .tx
                .resolve_contact_cached(self.keys, who, now, &mut self.contacts)
                .await?
            else {
                self.drop_item("preference_without_user")?;
                continue;
            };
            let when = item
                .get("timestamp")
                .map(Value::to_string)
                .unwrap_or_default();
            let contact_id = contact.id.to_string();
            let id = content_id(self.keys, &["consent", &contact_id, status, &when])?;
            let change = ConsentChange {
                id: Some(id),
                contact_id: contact.id,
                status,
                source: "webhook:user_preferences",
                actor_kind: "contact",
                actor_id: Some(contact.id),
            };
            if self.record_consent(change).await? && status == CONSENT_OPTED_OUT {
                self.tally.report.opt_outs += 1;
            }
        }
        Ok(())
    }
}
