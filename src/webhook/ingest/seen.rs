//! What one run has already written, so a batch with many messages from the same people costs
//! one contact lookup and one conversation write per person, not per message. Timestamps that
//! only move forward are kept here and written once, with the run's other rows.
use std::collections::HashMap;

use uuid::Uuid;

use crate::store::contacts::ContactIdentity;

/// A row id and a time.
pub(super) type Stamp = (Uuid, i64);

type ContactKey = (Option<String>, Option<String>, Option<String>);

struct Thread {
    id: Uuid,
    /// `last_message_at` as written in this run; `None` when the thread was read ahead and is
    /// still to be reopened and moved forward.
    written: Option<i64>,
    latest: i64,
}

#[derive(Default)]
pub(super) struct Seen {
    contacts: HashMap<ContactKey, Uuid>,
    threads: HashMap<(String, Uuid), Thread>,
    inbound: HashMap<Uuid, i64>,
}

fn key(who: &ContactIdentity<'_>) -> ContactKey {
    let own = |s: Option<&str>| s.map(str::to_owned);
    (own(who.wa_id), own(who.user_id), own(who.profile_name))
}

impl Seen {
    /// The contact a payload naming exactly `who` resolved to earlier in this run.
    pub(super) fn contact(&self, who: &ContactIdentity<'_>) -> Option<Uuid> {
        self.contacts.get(&key(who)).copied()
    }

    pub(super) fn remember_contact(&mut self, who: &ContactIdentity<'_>, id: Uuid) {
        self.contacts.insert(key(who), id);
    }

    /// The conversation already touched in this run, noting a message at `at` in it.
    pub(super) fn thread(&mut self, pnid: &str, contact_id: Uuid, at: i64) -> Option<Uuid> {
        let t = self.threads.get_mut(&(pnid.to_owned(), contact_id))?;
        t.latest = t.latest.max(at);
        Some(t.id)
    }

    /// A conversation with a message at `at`; `written` is the `last_message_at` this run
    /// already wrote for it, if any.
    pub(super) fn remember_thread(
        &mut self,
        pnid: &str,
        contact_id: Uuid,
        id: Uuid,
        at: i64,
        written: Option<i64>,
    ) {
        let thread = Thread {
            id,
            written,
            latest: at,
        };
        self.threads.insert((pnid.to_owned(), contact_id), thread);
    }

    /// The contact wrote at `at`.
    pub(super) fn inbound(&mut self, contact_id: Uuid, at: i64) {
        let latest = self.inbound.entry(contact_id).or_insert(at);
        *latest = (*latest).max(at);
    }

    /// The latest times gathered in this run: (conversation, last message) for the threads
    /// whose time is not written yet, and (contact, last inbound message).
    pub(super) fn activity(&self) -> (Vec<Stamp>, Vec<Stamp>) {
        let threads = self
            .threads
            .values()
            .filter(|t| t.written.is_none_or(|w| t.latest > w))
            .map(|t| (t.id, t.latest))
            .collect();
        let inbound = self.inbound.iter().map(|(c, at)| (*c, *at)).collect();
        (threads, inbound)
    }
}
