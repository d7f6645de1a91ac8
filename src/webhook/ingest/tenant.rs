//! One tenant's share of a body, inside its transaction: inbound messages (contact, conversation,
//! message, opt-out) and delivery statuses.
use serde_json::{Value, json};
use uuid::Uuid;

use crate::crypto::{Purpose, TenantKeys};
use crate::store::TenantTx;
use crate::store::audit::AuditRecord;
use crate::store::contacts::{CONSENT_OPTED_OUT, ConsentChange, ContactIdentity};
use crate::store::events::NewStatusEvent;
use crate::store::messages::{DIRECTION_INBOUND, NewMessage, StoredMessage};
use crate::webhook::ingest::seen::Seen;
use crate::webhook::ingest::tally::Tally;
use crate::webhook::ingest::{IngestContext, IngestError, dropped};
use crate::webhook::message::InboundMessage;
use crate::webhook::normalize::{Change, ChangeKind, is_opt_out_text};
use crate::webhook::payload::{ContactInfo, Status};

/// Longest status string kept; Meta's are a few letters.
const MAX_STATUS_LEN: usize = 32;

pub(super) struct TenantRun<'a> {
    pub(super) ctx: &'a IngestContext<'a>,
    pub(super) tx: &'a TenantTx,
    pub(super) keys: &'a TenantKeys,
    auto_assign: bool,
    pub(super) tally: Tally,
    seen: Seen,
}

impl<'a> TenantRun<'a> {
    pub(super) fn new(
        ctx: &'a IngestContext<'a>,
        tx: &'a TenantTx,
        keys: &'a TenantKeys,
        auto_assign: bool,
    ) -> Self {
        Self {
            ctx,
            tx,
            keys,
            auto_assign,
            tally: Tally::default(),
            seen: Seen::default(),
        }
    }

    pub(super) async fn change(&mut self, change: &Change) -> Result<(), IngestError> {
        match &change.kind {
            ChangeKind::Messages {
                contacts,
                messages,
                statuses,
                errors,
            } => {
                for m in messages {
                    self.inbound(change, contacts, m).await?;
                }
                for s in statuses {
                    self.status(s).await?;
                }
                if !errors.is_empty() {
                    let value = json!({ "errors": errors });
                    self.tenant_event(change, "messages.errors", &value).await?;
                }
                Ok(())
            }
            ChangeKind::Other { value } => self.other(change, value).await,
        }
    }

    /// Writes what was deferred and hands back what this run stored; its metrics are recorded
    /// once the transaction commits.
    pub(super) async fn finish(self) -> Result<Tally, IngestError> {
        self.seen.flush(self.tx, self.ctx.now_ms).await?;
        Ok(self.tally)
    }

    async fn inbound(
        &mut self,
        change: &Change,
        contacts: &[ContactInfo],
        m: &InboundMessage,
    ) -> Result<(), IngestError> {
        let now = self.ctx.now_ms;
        let wamid = m.wamid();
        let candidates = if wamid.is_empty() {
            Vec::new()
        } else {
            self.keys.blind_index_candidates(Purpose::Wamid, wamid)?
        };
        // A redelivery must not touch anything: not the contact, not the conversation.
        if self.tx.message_by_wamid_bidx(&candidates).await?.is_some() {
            self.tally.report.duplicate_messages += 1;
            return Ok(());
        }
        let Some(pnid) = change.phone_number_id.as_deref() else {
            return self.drop_item("message_without_number");
        };
        let ids = m.sender_ids(contacts);
        let who = ContactIdentity {
            wa_id: ids.wa_id,
            user_id: ids.user_id,
            profile_name: m
                .matching_contact(contacts)
                .and_then(ContactInfo::profile_name),
        };
        let Some(contact_id) = self.contact(&who).await? else {
            return self.drop_item("message_without_sender");
        };
        let sent_at = m
            .timestamp_secs()
            .and_then(|s| s.checked_mul(1000))
            .unwrap_or(now);
        let conversation_id = self.conversation(pnid, contact_id, sent_at).await?;
        let content = m.content_json();
        let msg_type = m.kind();
        let new = NewMessage {
            conversation_id,
            contact_id,
            direction: DIRECTION_INBOUND,
            msg_type,
            wamid: Some(wamid).filter(|w| !w.is_empty()),
            content: &content,
            status: None,
            status_rank: 0,
            sent_at,
        };
        let active = candidates.first().cloned();
        match self
            .tx
            .insert_message_indexed(self.keys, new, active, now)
            .await?
        {
            StoredMessage::Duplicate => {
                self.tally.report.duplicate_messages += 1;
                return Ok(());
            }
            StoredMessage::Inserted { id, .. } => {
                self.tally.message_stored(msg_type);
                let applied = self
                    .tx
                    .apply_pending_statuses_any(self.keys, id, &candidates, now)
                    .await?;
                self.tally.report.statuses_applied += applied as u64;
            }
        }
        self.seen.inbound(contact_id, sent_at.min(now));
        if m.text_body()
            .is_some_and(|t| is_opt_out_text(t, self.ctx.opt_out_words))
        {
            let change = ConsentChange {
                id: None,
                contact_id,
                status: CONSENT_OPTED_OUT,
                source: "webhook:stop_word",
                actor_kind: "contact",
                actor_id: Some(contact_id),
            };
            if self.tx.record_consent(change, now).await? {
                self.tally.report.opt_outs += 1;
            }
        }
        Ok(())
    }

    /// The contact a message is from, resolved once per identity in this run.
    async fn contact(&mut self, who: &ContactIdentity<'_>) -> Result<Option<Uuid>, IngestError> {
        if let Some(id) = self.seen.contact(who) {
            return Ok(Some(id));
        }
        let Some(contact) = self
            .tx
            .resolve_contact(self.keys, *who, self.ctx.now_ms)
            .await?
        else {
            return Ok(None);
        };
        if contact.split_identity {
            metrics::counter!("webhook_contact_identity_splits_total").increment(1);
        }
        self.seen.remember_contact(who, contact.id);
        Ok(Some(contact.id))
    }

    /// The conversation with `contact_id` on `pnid`: created or reopened (and auto-assigned)
    /// on its first message in this run.
    async fn conversation(
        &mut self,
        pnid: &str,
        contact_id: Uuid,
        at: i64,
    ) -> Result<Uuid, IngestError> {
        if let Some(id) = self.seen.thread(pnid, contact_id, at) {
            return Ok(id);
        }
        let touched = self
            .tx
            .touch_conversation(pnid, contact_id, at, self.ctx.now_ms)
            .await?;
        if self.auto_assign && touched.assignee_id.is_none() {
            self.auto_assign(touched.id).await?;
        }
        self.seen.remember_thread(pnid, contact_id, touched.id, at);
        Ok(touched.id)
    }

    /// Round robin over active agents; the assignment is audited like a manual one.
    async fn auto_assign(&mut self, conversation_id: Uuid) -> Result<(), IngestError> {
        let Some(agent) = self.tx.next_round_robin_agent().await? else {
            return Ok(());
        };
        let now = self.ctx.now_ms;
        self.tx
            .set_conversation_assignee(conversation_id, Some(agent), now)
            .await?;
        let record = AuditRecord {
            actor_kind: "system".into(),
            action: "conversation.assign".into(),
            target_type: Some("conversation".into()),
            target_id: Some(conversation_id.to_string()),
            detail: json!({ "assignee_id": agent, "auto": true }),
            ..AuditRecord::default()
        };
        self.tx.append_audit(&record, now).await?;
        Ok(())
    }

    async fn status(&mut self, s: &Status) -> Result<(), IngestError> {
        let now = self.ctx.now_ms;
        let wamid = s.wamid();
        if wamid.is_empty() {
            return self.drop_item("status_without_id");
        }
        let status = s.status_str().trim().to_ascii_lowercase();
        if status.is_empty() || status.len() > MAX_STATUS_LEN {
            return self.drop_item("status_unreadable");
        }
        let rank = i32::from(Status::rank_of(&status));
        let candidates = self.keys.blind_index_candidates(Purpose::Wamid, wamid)?;
        if self.tx.status_event_exists(&candidates, &status).await? {
            self.tally.report.duplicate_statuses += 1;
            return Ok(());
        }
        let Some(active) = candidates.first() else {
            return self.drop_item("status_without_id");
        };
        let message = self.tx.message_by_wamid_bidx(&candidates).await?;
        let detail = serde_json::to_value(s).unwrap_or(Value::Null);
        let event = NewStatusEvent {
            wamid_bidx: active,
            message_id: message.as_ref().map(|m| m.id),
            status: &status,
            status_rank: rank,
            detail: &detail,
            occurred_at: s
                .timestamp_secs()
                .and_then(|t| t.checked_mul(1000))
                .unwrap_or(now),
        };
        if !self.tx.insert_status_event(self.keys, event, now).await? {
            self.tally.report.duplicate_statuses += 1;
            return Ok(());
        }
        let Some(message) = message else {
            self.tally.report.statuses_pending += 1;
            return Ok(());
        };
        let errors = detail.get("errors").filter(|e| !e.is_null());
        let applied = rank > 0
            && self
                .tx
                .apply_message_status(self.keys, message.id, &status, rank, errors, now)
                .await?;
        if applied {
            self.tally.report.statuses_applied += 1;
        } else {
            self.tally.report.statuses_stale += 1;
        }
        Ok(())
    }

    pub(super) fn drop_item(&mut self, reason: &'static str) -> Result<(), IngestError> {
        dropped(reason);
        self.tally.report.dropped += 1;
        Ok(())
    }
}
