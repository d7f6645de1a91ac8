//! `contacts` and `consent_events`: the people a tenant talks to, found by blind index of their
//! phone number or business-scoped user id, and their consent history.
use entity::{consent_events, contacts};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TryIntoModel, Value,
    sea_query::Expr, sea_query::OnConflict,
};
use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::crypto::{Purpose, TenantKeys};
use crate::store::sealed::{col, place};
use crate::store::{StoreError, StoreResult, TenantTx, new_id};

pub const CONSENT_UNKNOWN: &str = "unknown";
pub const CONSENT_OPTED_IN: &str = "opted_in";
pub const CONSENT_OPTED_OUT: &str = "opted_out";

/// Who a payload says a contact is. Either identity may be missing; a phone number that is not a
/// valid E.164 number is kept (sealed) but cannot be looked up.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContactIdentity<'a> {
    pub wa_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub profile_name: Option<&'a str>,
}

/// Outcome of [`TenantTx::resolve_contact`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedContact {
    pub id: Uuid,
    pub created: bool,
    /// The phone number and the user id named two different contacts; the phone's was used.
    pub split_identity: bool,
}

/// One row of consent history.
#[derive(Clone, Copy, Debug)]
pub struct ConsentChange<'a> {
    /// Set to make the record idempotent (a redelivered event maps to the same id).
    pub id: Option<Uuid>,
    pub contact_id: Uuid,
    pub status: &'a str,
    pub source: &'a str,
    pub actor_kind: &'a str,
    pub actor_id: Option<Uuid>,
}

/// Contacts read ahead for a group of bodies, by blind index. An index the cache covers is
/// answered from it (found or known absent); any other goes to the database.
///
/// A cache that defers inserts also holds the contacts created for the group, to be inserted
/// with its other rows ([`Self::take_new`]); later bodies of the group find them here, and
/// changes to them are made to the row before it is inserted.
#[derive(Debug, Default)]
pub struct ContactCache {
    by_phone: HashMap<Vec<u8>, contacts::Model>,
    by_user: HashMap<Vec<u8>, contacts::Model>,
    covered: HashSet<Vec<u8>>,
    defer: bool,
    new: Vec<contacts::ActiveModel>,
}

impl ContactCache {
    /// A cache whose new contacts are kept for the caller to insert.
    pub fn deferring() -> Self {
        Self {
            defer: true,
            ..Self::default()
        }
    }

    /// The contacts created through this cache and not inserted yet.
    pub fn take_new(&mut self) -> Vec<contacts::ActiveModel> {
        std::mem::take(&mut self.new)
    }

    /// The row of a contact created through this cache and not inserted yet.
    pub fn new_row_mut(&mut self, id: Uuid) -> Option<&mut contacts::ActiveModel> {
        self.new.iter_mut().find(|r| r.id.as_ref() == &id)
    }

    /// Covers the `phone` and `user` indexes with the `rows` found under them.
    pub fn fill(&mut self, phone: &[Vec<u8>], user: &[Vec<u8>], rows: Vec<contacts::Model>) {
        self.covered.extend(phone.iter().cloned());
        self.covered.extend(user.iter().cloned());
        for row in rows {
            if let Some(b) = &row.wa_id_bidx {
                self.by_phone.insert(b.clone(), row.clone());
            }
            if let Some(b) = &row.user_id_bidx {
                self.by_user.insert(b.clone(), row);
            }
        }
    }

    fn lookup(
        &self,
        map: &HashMap<Vec<u8>, contacts::Model>,
        candidates: &[Vec<u8>],
    ) -> Option<Option<contacts::Model>> {
        if candidates.is_empty() || !candidates.iter().all(|c| self.covered.contains(c)) {
            return None;
        }
        Some(candidates.iter().find_map(|c| map.get(c)).cloned())
    }

    fn phone(&self, candidates: &[Vec<u8>]) -> Option<Option<contacts::Model>> {
        self.lookup(&self.by_phone, candidates)
    }

    fn user(&self, candidates: &[Vec<u8>]) -> Option<Option<contacts::Model>> {
        self.lookup(&self.by_user, candidates)
    }

    fn uncover(&mut self, candidates: &[Vec<u8>]) {
        for c in candidates {
            self.covered.remove(c);
            self.by_phone.remove(c);
            self.by_user.remove(c);
        }
    }

    fn forget(&mut self, row: &contacts::Model) {
        for b in [&row.wa_id_bidx, &row.user_id_bidx].into_iter().flatten() {
            self.covered.remove(b);
            self.by_phone.remove(b);
            self.by_user.remove(b);
        }
    }
}

impl TenantTx {
    /// The contact whose phone number is `wa_id` (any format of the same number).
    pub async fn contact_by_wa_id(
        &self,
        keys: &TenantKeys,
        wa_id: &str,
    ) -> StoreResult<Option<contacts::Model>> {
        match keys.blind_index_candidates(Purpose::Phone, wa_id) {
            Ok(c) => self.contact_where(contacts::Column::WaIdBidx, &c).await,
            Err(_) => Ok(None),
        }
    }

    /// The contact with business-scoped user id `user_id`.
    pub async fn contact_by_user_id(
        &self,
        keys: &TenantKeys,
        user_id: &str,
    ) -> StoreResult<Option<contacts::Model>> {
        match keys.blind_index_candidates(Purpose::UserId, user_id) {
            Ok(c) => self.contact_where(contacts::Column::UserIdBidx, &c).await,
            Err(_) => Ok(None),
        }
    }

    async fn contact_where(
        &self,
        column: contacts::Column,
        candidates: &[Vec<u8>],
    ) -> StoreResult<Option<contacts::Model>> {
        if candidates.is_empty() {
            return Ok(None);
        }
        Ok(contacts::Entity::find()
            .filter(contacts::Column::TenantId.eq(self.tenant_id()))
            .filter(column.is_in(candidates.iter().cloned()))
            .one(self.conn())
            .await?)
    }

    /// Finds the contact named by `who`, creating it when neither identity is known, completing a
    /// missing identity when the payload carries both, and storing a changed profile name.
    /// `None` when `who` names no one.
    pub async fn resolve_contact(
        &self,
        keys: &TenantKeys,
        who: ContactIdentity<'_>,
        now: i64,
    ) -> StoreResult<Option<ResolvedContact>> {
        self.resolve_contact_cached(keys, who, now, &mut ContactCache::default())
            .await
    }

    /// [`Self::resolve_contact`], answering lookups from `cache` where it covers them. A contact
    /// this writes to is dropped from the cache, so a later lookup reads it again.
    pub async fn resolve_contact_cached(
        &self,
        keys: &TenantKeys,
        who: ContactIdentity<'_>,
        now: i64,
        cache: &mut ContactCache,
    ) -> StoreResult<Option<ResolvedContact>> {
        let phone = who
            .wa_id
            .and_then(|w| keys.blind_index_candidates(Purpose::Phone, w).ok());
        let user = who
            .user_id
            .and_then(|u| keys.blind_index_candidates(Purpose::UserId, u).ok());
        let by_phone = match &phone {
            Some(c) => match cache.phone(c) {
                Some(hit) => hit,
                None => self.contact_where(contacts::Column::WaIdBidx, c).await?,
            },
            None => None,
        };
        let by_user = match &user {
            Some(c) => match cache.user(c) {
                Some(hit) => hit,
                None => self.contact_where(contacts::Column::UserIdBidx, c).await?,
            },
            None => None,
        };
        let split_identity = matches!((&by_phone, &by_user), (Some(p), Some(u)) if p.id != u.id);
        let found = by_phone.or(by_user);
        let active = |c: &Option<Vec<Vec<u8>>>| c.as_ref().and_then(|v| v.first().cloned());
        let (phone_bidx, user_bidx) = (active(&phone), active(&user));
        if let Some(row) = found {
            let changes = completion(keys, &row, who, phone_bidx, user_bidx)?;
            if !changes.is_empty() {
                cache.forget(&row);
                for list in [&phone, &user].into_iter().flatten() {
                    cache.uncover(list);
                }
                if let Some(new) = cache.new_row_mut(row.id) {
                    for (column, value) in changes {
                        new.set(column, value);
                    }
                    let updated = new.clone().try_into_model()?;
                    cache.fill(
                        phone.as_deref().unwrap_or_default(),
                        user.as_deref().unwrap_or_default(),
                        vec![updated],
                    );
                } else {
                    self.update_contact(row.id, changes, now).await?;
                }
            }
            return Ok(Some(ResolvedContact {
                id: row.id,
                created: false,
                split_identity,
            }));
        }
        let wa_id = who.wa_id.map(str::trim).filter(|w| !w.is_empty());
        let user_id = who.user_id.map(str::trim).filter(|u| !u.is_empty());
        if wa_id.is_none() && user_id.is_none() {
            return Ok(None);
        }
        let id = new_id();
        let p = |c: &'static str| place(col::CONTACTS, c, id);
        let row = contacts::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(id),
            wa_id_enc: Set(keys.seal_opt_str(&p("wa_id_enc"), wa_id)?),
            wa_id_bidx: Set(phone_bidx),
            user_id_enc: Set(keys.seal_opt_str(&p("user_id_enc"), user_id)?),
            user_id_bidx: Set(user_bidx),
            profile_name_enc: Set(keys.seal_opt_str(&p("profile_name_enc"), who.profile_name)?),
            display_name_enc: Set(None),
            attributes_enc: Set(None),
            consent_status: Set(CONSENT_UNKNOWN.into()),
            restricted: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            last_inbound_at: Set(None),
        };
        for list in [&phone, &user].into_iter().flatten() {
            cache.uncover(list);
        }
        if cache.defer {
            // Later lookups of either identity (under any key version) find it here.
            cache.fill(
                phone.as_deref().unwrap_or_default(),
                user.as_deref().unwrap_or_default(),
                vec![row.clone().try_into_model()?],
            );
            cache.new.push(row);
            return Ok(Some(ResolvedContact {
                id,
                created: true,
                split_identity: false,
            }));
        }
        let inserted = contacts::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(self.conn())
            .await?;
        if inserted == 1 {
            return Ok(Some(ResolvedContact {
                id,
                created: true,
                split_identity: false,
            }));
        }
        // Another delivery created the same person between our lookup and insert.
        let again = match (&phone, &user) {
            (Some(c), _) => self.contact_where(contacts::Column::WaIdBidx, c).await?,
            (None, Some(c)) => self.contact_where(contacts::Column::UserIdBidx, c).await?,
            (None, None) => None,
        };
        let row = again.ok_or_else(|| StoreError::Conflict("contact identity raced".into()))?;
        Ok(Some(ResolvedContact {
            id: row.id,
            created: false,
            split_identity: false,
        }))
    }

    /// Writes `changes` to a stored contact.
    async fn update_contact(
        &self,
        id: Uuid,
        changes: Vec<(contacts::Column, Value)>,
        now: i64,
    ) -> StoreResult<()> {
        let mut q = contacts::Entity::update_many()
            .filter(contacts::Column::TenantId.eq(self.tenant_id()))
            .filter(contacts::Column::Id.eq(id));
        for (column, value) in changes {
            q = q.col_expr(column, Expr::value(value));
        }
        q.col_expr(contacts::Column::UpdatedAt, Expr::value(now))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Sets the contact's consent and appends the change to its history. With a fixed `id`, a
    /// repeat of the same change is a no-op; returns whether it was recorded.
    pub async fn record_consent(&self, change: ConsentChange<'_>, now: i64) -> StoreResult<bool> {
        let inserted = consent_events::Entity::insert(consent_events::ActiveModel {
            tenant_id: Set(self.tenant_id()),
            id: Set(change.id.unwrap_or_else(new_id)),
            contact_id: Set(change.contact_id),
            status: Set(change.status.to_owned()),
            source: Set(change.source.to_owned()),
            actor_kind: Set(change.actor_kind.to_owned()),
            actor_id: Set(change.actor_id),
            created_at: Set(now),
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(self.conn())
        .await?;
        if inserted == 0 {
            return Ok(false);
        }
        contacts::Entity::update_many()
            .col_expr(contacts::Column::ConsentStatus, Expr::value(change.status))
            .col_expr(contacts::Column::UpdatedAt, Expr::value(now))
            .filter(contacts::Column::TenantId.eq(self.tenant_id()))
            .filter(contacts::Column::Id.eq(change.contact_id))
            .exec(self.conn())
            .await?;
        Ok(true)
    }
}

/// The changes that complete `row` from `who`: identities it lacks, and a changed profile
/// name. Empty when nothing changes.
fn completion(
    keys: &TenantKeys,
    row: &contacts::Model,
    who: ContactIdentity<'_>,
    phone_bidx: Option<Vec<u8>>,
    user_bidx: Option<Vec<u8>>,
) -> StoreResult<Vec<(contacts::Column, Value)>> {
    let p = |c: &'static str| place(col::CONTACTS, c, row.id);
    let mut changes = Vec::new();
    if let Some(wa_id) = who.wa_id.map(str::trim).filter(|w| !w.is_empty()) {
        // A number that can be indexed replaces one kept without an index (a placeholder),
        // so the sealed value and its index always describe the same number.
        let index_it = row.wa_id_bidx.is_none() && phone_bidx.is_some();
        if index_it || row.wa_id_enc.is_none() {
            let sealed = keys.seal_str(&p("wa_id_enc"), wa_id)?;
            changes.push((contacts::Column::WaIdEnc, Some(sealed).into()));
        }
        if index_it {
            changes.push((contacts::Column::WaIdBidx, phone_bidx.into()));
        }
    }
    if let Some(user_id) = who.user_id.map(str::trim).filter(|u| !u.is_empty())
        && row.user_id_bidx.is_none()
        && user_bidx.is_some()
    {
        let sealed = keys.seal_str(&p("user_id_enc"), user_id)?;
        changes.push((contacts::Column::UserIdEnc, Some(sealed).into()));
        changes.push((contacts::Column::UserIdBidx, user_bidx.into()));
    }
    if let Some(name) = who.profile_name {
        let stored =
            keys.open_opt_string(&p("profile_name_enc"), row.profile_name_enc.as_deref())?;
        if stored.as_deref() != Some(name) {
            let sealed = keys.seal_str(&p("profile_name_enc"), name)?;
            changes.push((contacts::Column::ProfileNameEnc, Some(sealed).into()));
        }
    }
    Ok(changes)
}
