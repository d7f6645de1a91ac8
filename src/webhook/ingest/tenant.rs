//! One tenant's share of a group of bodies, inside its transaction: inbound messages (contact,
//! conversation, message, opt-out) and delivery statuses.
//!
//! Everything the bodies name is looked up ahead in one query per kind (messages and statuses by
//! wamid, contacts by identity, their conversations); new messages and statuses are inserted many
//! per statement, and status changes, conversation touches and contact activity are written
//! after the inserts, just before the commit. An id stored concurrently by another transaction
//! fails the group, which is then stored body by body.
use std::collections::{HashMap, HashSet};

use entity::{message_status_events, messages};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::crypto::{Purpose, TenantKeys};
use crate::store::TenantTx;
use crate::store::audit::AuditRecord;
use crate::store::bulk::{StatusChange, ThreadRef};
use crate::store::contacts::{CONSENT_OPTED_OUT, ConsentChange, ContactCache, ContactIdentity};
use crate::store::events::NewStatusEvent;
use crate::store::messages::{DIRECTION_INBOUND, NewMessage};
use crate::store::sealed::{col, place};
use crate::webhook::ingest::seen::Seen;
use crate::webhook::ingest::tally::Tally;
use crate::webhook::ingest::{IngestContext, IngestError, dropped};
use crate::webhook::message::InboundMessage;
use crate::webhook::normalize::{Change, ChangeKind, is_opt_out_text};
use crate::webhook::payload::{ContactInfo, Status};

/// Longest status string kept; Meta's are a few letters.
const MAX_STATUS_LEN: usize = 32;

/// A status to apply to a stored message once the inserts are written.
struct Apply {
    message_id: Uuid,
    status: String,
    rank: i32,
    errors: Option<Value>,
}

pub(super) struct TenantRun<'a> {
    pub(super) ctx: &'a IngestContext<'a>,
    pub(super) tx: &'a TenantTx,
    pub(super) keys: &'a TenantKeys,
    auto_assign: bool,
    pub(super) tally: Tally,
    seen: Seen,
    pub(super) contacts: ContactCache,
    /// Wamid index -> message id (`None`: known not stored), for the indexes read ahead.
    messages: HashMap<Vec<u8>, Option<Uuid>>,
    /// Wamid indexes whose statuses were read ahead, and the (index, status) pairs recorded.
    statuses_read: HashSet<Vec<u8>>,
    statuses: HashSet<(Vec<u8>, String)>,
    /// Wamid indexes with a status waiting for its message.
    pending: HashSet<Vec<u8>>,
    /// Conversations of the contacts read ahead, by (number, contact).
    threads: HashMap<(String, Uuid), ThreadRef>,
    /// Contacts all of whose conversations are in `threads`: those read ahead and those
    /// created in this run.
    threads_known: HashSet<Uuid>,
    new_messages: Vec<messages::ActiveModel>,
    new_statuses: Vec<message_status_events::ActiveModel>,
    /// Messages stored in this run that have pending statuses: (id, wamid indexes).
    pending_applies: Vec<(Uuid, Vec<Vec<u8>>)>,
    applies: Vec<Apply>,
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
            contacts: ContactCache::default(),
            messages: HashMap::new(),
            statuses_read: HashSet::new(),
            statuses: HashSet::new(),
            pending: HashSet::new(),
            threads: HashMap::new(),
            threads_known: HashSet::new(),
            new_messages: Vec::new(),
            new_statuses: Vec::new(),
            pending_applies: Vec::new(),
            applies: Vec::new(),
        }
    }

    /// Reads ahead everything `changes` name: one query each for messages and statuses by
    /// wamid, contacts by identity, and those contacts' conversations.
    pub(super) async fn read_ahead(&mut self, changes: &[&Change]) -> Result<(), IngestError> {
        let mut wamids: Vec<Vec<u8>> = Vec::new();
        let mut phones: Vec<Vec<u8>> = Vec::new();
        let mut users: Vec<Vec<u8>> = Vec::new();
        for change in changes {
            let ChangeKind::Messages {
                contacts,
                messages,
                statuses,
                ..
            } = &change.kind
            else {
                continue;
            };
            for m in messages {
                let wamid = m.wamid();
                if !wamid.is_empty() {
                    wamids.extend(self.keys.blind_index_candidates(Purpose::Wamid, wamid)?);
                }
                let ids = m.sender_ids(contacts);
                if let Some(c) = ids
                    .wa_id
                    .and_then(|w| self.keys.blind_index_candidates(Purpose::Phone, w).ok())
                {
                    phones.extend(c);
                }
                if let Some(c) = ids
                    .user_id
                    .and_then(|u| self.keys.blind_index_candidates(Purpose::UserId, u).ok())
                {
                    users.extend(c);
                }
            }
            for s in statuses {
                let wamid = s.wamid();
                if !wamid.is_empty() {
                    wamids.extend(self.keys.blind_index_candidates(Purpose::Wamid, wamid)?);
                }
            }
        }
        for list in [&mut wamids, &mut phones, &mut users] {
            list.sort_unstable();
            list.dedup();
        }
        if !wamids.is_empty() {
            let (found, known) = self.tx.read_wamids(&wamids).await?;
            for b in &wamids {
                self.messages.insert(b.clone(), None);
            }
            for (id, b) in found {
                self.messages.insert(b, Some(id));
            }
            self.statuses_read.extend(wamids.iter().cloned());
            for k in known {
                if k.message_id.is_none() {
                    self.pending.insert(k.wamid_bidx.clone());
                }
                self.statuses.insert((k.wamid_bidx, k.status));
            }
        }
        if !phones.is_empty() || !users.is_empty() {
            let (rows, threads) = self.tx.contacts_with_threads(&phones, &users).await?;
            self.threads_known.extend(rows.iter().map(|c| c.id));
            self.contacts.fill(&phones, &users, rows);
            self.threads.extend(threads);
        }
        Ok(())
    }

    /// The stored message with one of `candidates` as its wamid index, if any.
    async fn message_id(&self, candidates: &[Vec<u8>]) -> Result<Option<Uuid>, IngestError> {
        if let Some(id) = candidates
            .iter()
            .find_map(|c| self.messages.get(c).copied().flatten())
        {
            return Ok(Some(id));
        }
        if candidates.iter().all(|c| self.messages.contains_key(c)) {
            return Ok(None);
        }
        Ok(self
            .tx
            .message_by_wamid_bidx(candidates)
            .await?
            .map(|m| m.id))
    }

    /// Whether `status` is already recorded for the wamid behind `candidates`.
    async fn status_known(
        &self,
        candidates: &[Vec<u8>],
        status: &str,
    ) -> Result<bool, IngestError> {
        if candidates
            .iter()
            .any(|c| self.statuses.contains(&(c.clone(), status.to_owned())))
        {
            return Ok(true);
        }
        if candidates.iter().all(|c| self.statuses_read.contains(c)) {
            return Ok(false);
        }
        Ok(self.tx.status_event_exists(candidates, status).await?)
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

    /// Writes what was deferred (inserts first, then status changes, conversation touches and
    /// contact activity) and hands back what this run stored; its metrics are recorded once the
    /// transaction commits.
    pub(super) async fn finish(mut self) -> Result<Tally, IngestError> {
        let now = self.ctx.now_ms;
        self.tx
            .insert_messages(std::mem::take(&mut self.new_messages))
            .await?;
        self.tx
            .insert_status_events(std::mem::take(&mut self.new_statuses))
            .await?;
        for (id, candidates) in std::mem::take(&mut self.pending_applies) {
            let applied = self
                .tx
                .apply_pending_statuses_any(self.keys, id, &candidates, now)
                .await?;
            self.tally.report.statuses_applied += applied as u64;
        }
        // Applied in order, rank-guarded changes leave each message at the highest rank among
        // them that beats the stored one: only that change per message is written.
        let applies = std::mem::take(&mut self.applies);
        let mut best: HashMap<Uuid, &Apply> = HashMap::new();
        for a in &applies {
            let slot = best.entry(a.message_id).or_insert(a);
            if a.rank > slot.rank {
                *slot = a;
            }
        }
        let mut changes = Vec::with_capacity(best.len());
        for a in best.into_values() {
            let error_enc = match &a.errors {
                Some(errors) => Some(
                    self.keys
                        .seal_json(&place(col::MESSAGES, "error_enc", a.message_id), errors)?,
                ),
                None => None,
            };
            changes.push(StatusChange {
                message_id: a.message_id,
                status: a.status.clone(),
                rank: a.rank,
                error_enc,
            });
        }
        let applied = self.tx.apply_status_changes(&changes, now).await?;
        self.tally.report.statuses_applied += applied;
        self.tally.report.statuses_stale += applies.len() as u64 - applied;
        self.seen.flush(self.tx, now).await?;
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
        if self.message_id(&candidates).await?.is_some() {
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
        let (id, row) = self.tx.message_row(self.keys, new, active, now)?;
        self.new_messages.push(row);
        self.tally.message_stored(msg_type);
        if candidates.iter().any(|c| self.pending.contains(c)) {
            self.pending_applies.push((id, candidates.clone()));
        }
        for c in candidates {
            self.messages.insert(c, Some(id));
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
            .resolve_contact_cached(self.keys, *who, self.ctx.now_ms, &mut self.contacts)
            .await?
        else {
            return Ok(None);
        };
        if contact.created {
            self.threads_known.insert(contact.id);
        }
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
        let key = (pnid.to_owned(), contact_id);
        let (id, assignee_id) = match self.threads.get(&key) {
            // Read ahead: reopened and moved forward with the other touches before the commit.
            Some(c) => {
                self.seen.remember_thread(pnid, contact_id, c.id, at, None);
                (c.id, c.assignee_id)
            }
            None => {
                let touched = if self.threads_known.contains(&contact_id) {
                    self.tx
                        .open_conversation(pnid, contact_id, at, self.ctx.now_ms)
                        .await?
                } else {
                    self.tx
                        .touch_conversation(pnid, contact_id, at, self.ctx.now_ms)
                        .await?
                };
                self.seen
                    .remember_thread(pnid, contact_id, touched.id, at, Some(at));
                (touched.id, touched.assignee_id)
            }
        };
        if self.auto_assign && assignee_id.is_none() {
            self.auto_assign(id).await?;
        }
        Ok(id)
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
        if self.status_known(&candidates, &status).await? {
            self.tally.report.duplicate_statuses += 1;
            return Ok(());
        }
        let Some(active) = candidates.first() else {
            return self.drop_item("status_without_id");
        };
        let message_id = self.message_id(&candidates).await?;
        let detail = serde_json::to_value(s).unwrap_or(Value::Null);
        let event = NewStatusEvent {
            wamid_bidx: active,
            message_id,
            status: &status,
            status_rank: rank,
            detail: &detail,
            occurred_at: s
                .timestamp_secs()
                .and_then(|t| t.checked_mul(1000))
                .unwrap_or(now),
        };
        let row = self.tx.status_event_row(self.keys, event, now)?;
        self.new_statuses.push(row);
        self.statuses.insert((active.clone(), status.clone()));
        let Some(message_id) = message_id else {
            self.pending.insert(active.clone());
            self.tally.report.statuses_pending += 1;
            return Ok(());
        };
        if rank > 0 {
            let errors = detail.get("errors").filter(|e| !e.is_null()).cloned();
            self.applies.push(Apply {
                message_id,
                status,
                rank,
                errors,
            });
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
