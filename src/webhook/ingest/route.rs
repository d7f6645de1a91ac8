//! Which tenant a change belongs to: by `metadata.phone_number_id`, or, for account-level changes
//! that carry none (templates, account updates), by the business account id of the entry.
use std::collections::HashMap;

use uuid::Uuid;

use crate::store::platform::STATUS_ACTIVE;
use crate::store::{Db, StoreError, StoreResult};
use crate::webhook::normalize::Change;

/// Where a change goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Route {
    Tenant(Uuid),
    /// Not stored, for the reason given (a metric label).
    Drop(&'static str),
}

/// Routing lookups for one body, each asked of the database at most once.
pub(super) struct Router<'a> {
    db: &'a Db,
    numbers: HashMap<String, Route>,
    accounts: HashMap<String, Route>,
    /// Active tenants seen, with their auto-assignment setting; `None` for inactive ones.
    tenants: HashMap<Uuid, Option<bool>>,
}

impl<'a> Router<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self {
            db,
            numbers: HashMap::new(),
            accounts: HashMap::new(),
            tenants: HashMap::new(),
        }
    }

    pub(super) async fn route(&mut self, change: &Change) -> StoreResult<Route> {
        if let Some(pnid) = change.phone_number_id.as_deref().filter(|p| !p.is_empty()) {
            if let Some(route) = self.numbers.get(pnid) {
                return Ok(*route);
            }
            let route = match self.db.route_number(pnid).await? {
                Some(row) => self.active(row.tenant_id, "tenant_inactive").await?,
                None => Route::Drop("unknown_number"),
            };
            self.numbers.insert(pnid.to_owned(), route);
            return Ok(route);
        }
        let Some(waba) = change.waba_id.as_deref().filter(|w| !w.is_empty()) else {
            return Ok(Route::Drop("unroutable"));
        };
        if let Some(route) = self.accounts.get(waba) {
            return Ok(*route);
        }
        let route = match self.db.tenants_of_waba(waba).await?.as_slice() {
            [] => Route::Drop("unknown_account"),
            [tenant_id] => self.active(*tenant_id, "tenant_inactive").await?,
            _ => Route::Drop("ambiguous_account"),
        };
        self.accounts.insert(waba.to_owned(), route);
        Ok(route)
    }

    /// The tenant's auto-assignment setting when it was routed to as active.
    pub(super) fn auto_assign(&self, tenant_id: Uuid) -> Option<bool> {
        self.tenants.get(&tenant_id).copied().flatten()
    }

    async fn active(&mut self, tenant_id: Uuid, reason: &'static str) -> StoreResult<Route> {
        let state = match self.tenants.get(&tenant_id) {
            Some(state) => *state,
            None => {
                let state = match self.db.tenant_by_id(tenant_id).await {
                    Ok(t) if t.status == STATUS_ACTIVE => Some(t.auto_assign),
                    Ok(_) | Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e),
                };
                self.tenants.insert(tenant_id, state);
                state
            }
        };
        Ok(match state {
            Some(_) => Route::Tenant(tenant_id),
            None => Route::Drop(reason),
        })
    }
}
