//! One tenant's share of a group of bodies, inside its transaction: inbound messages (contact,
//! conversation, message, opt-out) and delivery statuses.
//!
//! Everything the bodies name is looked up ahead in one query per kind (messages and statuses by
//! wamid, contacts by identity, their conversations); new messages and statuses are inserted many
//! per statement, and status changes, conversation touches and contact activity are written
//! after the inserts, just before the commit. An id stored concurrently by another transaction
//! fails the group, which is then stored body by body.
use std::collections::{HashMap, HashSet};

use sea_orm::ActiveValue::Set;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::crypto::{Purpose, TenantKeys};
use crate::store::TenantTx;
use crate::store::audit::AuditRecord;
use crate::store::bulk::{GroupWrites, KnownStatus, StatusChange, ThreadRef};
use crate::store::contacts::{CONSENT_OPTED_OUT, ConsentChange, ContactCache, ContactIdentity};
use crate::store::events::NewStatusEvent;
use crate::store::messages::{DIRECTION_INBOUND, NewMessage, TERMINAL_STATUS_RANK};
use crate::store::sealed::{col, place};
use crate::webhook::ingest::seen::Seen;
use crate::webhook::ingest::tally::Tally;
use crate::webhook::ingest::{IngestContext, IngestError, dropped};
use crate::webhook::message::InboundMessage;
use crate::webhook::normalize::{Change, ChangeKind, is_opt_out_text};
use crate::webhook::payload::{ContactInfo, Status};

/// Longest status string kept; Meta's are a few letters.
const MAX_STATUS_LEN: usize = 32;

/// A status to apply to a message stored before this run.
struct Apply {
    message_id: Uuid,
    status: String,
    rank: i32,
    errors: Option<Value>,
}

/// A status recorded in this run before its message arrived.
struct Waiting {
    /// Index in `new_statuses`.
    row: usize,
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
    /// Contacts read ahead, and those created in this run (inserted by [`Self::finish`]).
    pub(super) contacts: ContactCache,
    /// Wamid index -> message id (`None`: known not stored), for the indexes read ahead.
    messages: HashMap<Vec<u8>, Option<Uuid>>,
    /// Wamid indexes whose statuses were read ahead, and the (index, status) pairs recorded.
    statuses_read: HashSet<Vec<u8>>,
    statuses: HashSet<(Vec<u8>, String)>,
    /// Statuses stored earlier whose message is not stored yet, by wamid index.
    pending_stored: HashMap<Vec<u8>, Vec<KnownStatus>>,
    /// Statuses recorded in this run whose message is not stored yet, by wamid index.
    pending_new: HashMap<Vec<u8>, Vec<Waiting>>,
    /// Conversations of the contacts read ahead, by (number, contact).
    threads: HashMap<(String, Uuid), ThreadRef>,
    /// Contacts all of whose conversations are in `threads`: those read ahead and those
    /// created in this run.
    threads_known: HashSet<Uuid>,
    /// Rows written by [`Self::finish`]; messages and conversations created in this run are
    /// found by id in the maps.
    writes: GroupWrites,
    new_message_at: HashMap<Uuid, usize>,
    new_thread_at: HashMap<Uuid, usize>,
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
            contacts: ContactCache::deferring(),
            messages: HashMap::new(),
            statuses_read: HashSet::new(),
            statuses: HashSet::new(),
            pending_stored: HashMap::new(),
            pending_new: HashMap::new(),
            threads: HashMap::new(),
            threads_known: HashSet::new(),
            writes: GroupWrites::default(),
            new_message_at: HashMap::new(),
            new_thread_at: HashMap::new(),
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
        self.read_wamids(&wamids).await?;
        if !phones.is_empty() || !users.is_empty() {
            let (rows, threads) = self.tx.contacts_with_threads(&phones, &users).await?;
            self.threads_known.extend(rows.iter().map(|c| c.id));
            self.contacts.fill(&phones, &users, rows);
            self.threads.extend(threads);
        }
        Ok(())
    }

    /// Reads the messages and statuses stored under `wamids` (in one query).
    async fn read_wamids(&mut self, wamids: &[Vec<u8>]) -> Result<(), IngestError> {
        if wamids.is_empty() {
            return Ok(());
        }
        let (found, known) = self.tx.read_wamids(wamids).await?;
        for b in wamids {
            self.messages.entry(b.clone()).or_insert(None);
        }
        for (id, b) in found {
            self.messages.insert(b, Some(id));
        }
        self.statuses_read.extend(wamids.iter().cloned());
        for k in known {
            self.statuses
                .insert((k.wamid_bidx.clone(), k.status.clone()));
            if k.message_id.is_none() {
                self.pending_stored
                    .entry(k.wamid_bidx.clone())
                    .or_default()
                    .push(k);
            }
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

    /// Writes what was deferred (new rows, status changes, conversation and contact activity)
    /// and hands back what this run stored; its metrics are recorded once the transaction
    /// commits.
    pub(super) async fn finish(mut self) -> Result<Tally, IngestError> {
        let now = self.ctx.now_ms;
        let mut w = std::mem::take(&mut self.writes);
        w.contacts = self.contacts.take_new();
        let (threads, inbound) = self.seen.activity();
        for (id, at) in threads {
            match self
                .new_thread_at
                .get(&id)
                .and_then(|i| w.conversations.get_mut(*i))
            {
                Some(row) => {
                    let last = *row.last_message_at.as_ref();
                    row.last_message_at = Set(last.max(at));
                }
                None => w.threads.push((id, at)),
            }
        }
        for (id, at) in inbound {
            match w.contacts.iter_mut().find(|r| r.id.as_ref() == &id) {
                Some(row) => row.last_inbound_at = Set(Some(at)),
                None => w.inbound.push((id, at)),
            }
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
        for a in best.into_values() {
            let error_enc = match &a.errors {
                Some(errors) => Some(
                    self.keys
                        .seal_json(&place(col::MESSAGES, "error_enc", a.message_id), errors)?,
                ),
                None => None,
            };
            w.status_changes.push(StatusChange {
                message_id: a.message_id,
                status: a.status.clone(),
                rank: a.rank,
                error_enc,
            });
        }
        let applied = self.tx.write_group(&w, now).await?;
        self.tally.report.statuses_applied += applied;
        self.tally.report.statuses_stale += applies.len() as u64 - applied;
        Ok(self.tally)
    }

    /// Records a consent change; a contact created in this run gets it on its row.
    pub(super) async fn record_consent(
        &mut self,
        change: ConsentChange<'_>,
    ) -> Result<bool, IngestError> {
        let recorded = self.tx.record_consent(change, self.ctx.now_ms).await?;
        if recorded && let Some(row) = self.contacts.new_row_mut(change.contact_id) {
            row.consent_status = Set(change.status.to_owned());
        }
        Ok(recorded)
    }

    /// Moves a message stored in this run to `status` if that is progress (as the stored
    /// messages' update does); returns whether it did.
    fn apply_to_new(
        &mut self,
        message_id: Uuid,
        status: &str,
        rank: i32,
        errors: Option<&Value>,
    ) -> Result<bool, IngestError> {
        let Some(row) = self
            .new_message_at
            .get(&message_id)
            .and_then(|i| self.writes.messages.get_mut(*i))
        else {
            return Ok(false);
        };
        let current = *row.status_rank.as_ref();
        if rank <= current || current >= TERMINAL_STATUS_RANK {
            return Ok(false);
        }
        row.status = Set(Some(status.to_owned()));
        row.status_rank = Set(rank);
        if let Some(errors) = errors {
            let sealed = self
                .keys
                .seal_json(&place(col::MESSAGES, "error_enc", message_id), errors)?;
            row.error_enc = Set(Some(sealed));
        }
        Ok(true)
    }

    /// Links the statuses that arrived before message `id` (stored under one of `candidates`)
    /// to it, and applies them in rank order.
    async fn apply_waiting(&mut self, id: Uuid, candidates: &[Vec<u8>]) -> Result<(), IngestError> {
        if !candidates.iter().all(|c| self.statuses_read.contains(c)) {
            self.read_wamids(candidates).await?;
        }
        let mut waiting: Vec<(i32, String, Option<Value>)> = Vec::new();
        for c in candidates {
            if let Some(stored) = self.pending_stored.remove(c) {
                self.writes.links.push((c.clone(), id));
                for k in stored {
                    let detail: Option<Value> =
                        match k.detail_enc.as_deref() {
                            Some(sealed) => Some(self.keys.open_json(
                                &place(col::STATUS_EVENTS, "detail_enc", k.id),
                                sealed,
                            )?),
                            None => None,
                        };
                    let errors = detail.and_then(|d| d.get("errors").cloned());
                    waiting.push((k.rank, k.status, errors));
                }
            }
            for wt in self.pending_new.remove(c).unwrap_or_default() {
                if let Some(row) = self.writes.statuses.get_mut(wt.row) {
                    row.message_id = Set(Some(id));
                }
                waiting.push((wt.rank, wt.status, wt.errors));
            }
        }
        waiting.sort_by_key(|(rank, _, _)| *rank);
        for (rank, status, errors) in waiting {
            let errors = errors.filter(|e| !e.is_null());
            if self.apply_to_new(id, &status, rank, errors.as_ref())? {
                self.tally.report.statuses_applied += 1;
            }
        }
        Ok(())
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
        self.new_message_at.insert(id, self.writes.messages.len());
        self.writes.messages.push(row);
        self.tally.message_stored(msg_type);
        if !candidates.is_empty() {
            self.apply_waiting(id, &candidates).await?;
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
            if self.record_consent(change).await? {
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
            // Known not to exist: created with the group's other rows.
            None if self.threads_known.contains(&contact_id) => {
                let (id, row) = self
                    .tx
                    .conversation_row(pnid, contact_id, at, self.ctx.now_ms);
                self.new_thread_at
                    .insert(id, self.writes.conversations.len());
                self.writes.conversations.push(row);
                self.seen
                    .remember_thread(pnid, contact_id, id, at, Some(at));
                (id, None)
            }
            None => {
                let touched = self
                    .tx
                    .touch_conversation(pnid, contact_id, at, self.ctx.now_ms)
                    .await?;
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
        match self
            .new_thread_at
            .get(&conversation_id)
            .and_then(|i| self.writes.conversations.get_mut(*i))
        {
            Some(row) => row.assignee_id = Set(Some(agent)),
            None => {
                self.tx
                    .set_conversation_assignee(conversation_id, Some(agent), now)
                    .await?;
            }
        }
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
        let index = self.writes.statuses.len();
        self.writes.statuses.push(row);
        self.statuses.insert((active.clone(), status.clone()));
        let errors = detail.get("errors").filter(|e| !e.is_null()).cloned();
        let Some(message_id) = message_id else {
            self.pending_new
                .entry(active.clone())
                .or_default()
                .push(Waiting {
                    row: index,
                    status,
                    rank,
                    errors,
                });
            self.tally.report.statuses_pending += 1;
            return Ok(());
        };
        if self.new_message_at.contains_key(&message_id) {
            if self.apply_to_new(message_id, &status, rank, errors.as_ref())? {
                self.tally.report.statuses_applied += 1;
            } else {
                self.tally.report.statuses_stale += 1;
            }
        } else if rank > 0 {
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
