//! Which tenant a change belongs to: by `metadata.phone_number_id`, or, for account-level changes
//! that carry none (templates, account updates), by the business account id of the entry.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::store::platform::{STATUS_ACTIVE, routing_epoch};
use crate::store::{Db, StoreError, StoreResult};
use crate::webhook::normalize::Change;

/// Where a change goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Route {
    Tenant(Uuid),
    /// Not stored, for the reason given (a metric label).
    Drop(&'static str),
}

/// Routing answers shared by the ingest workers for a short time. Changes made through this
/// instance (numbers, tenant status or settings) empty it at once; changes made elsewhere are
/// seen once an entry is older than the configured lifetime.
#[derive(Clone, Default)]
pub struct RouteCache {
    ttl: Duration,
    inner: Arc<Mutex<CacheInner>>,
}

#[derive(Default)]
struct CacheInner {
    epoch: u64,
    numbers: HashMap<String, (Route, Instant)>,
    accounts: HashMap<String, (Route, Instant)>,
    tenants: HashMap<Uuid, (Option<bool>, Instant)>,
}

impl std::fmt::Debug for RouteCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteCache")
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// Entries kept at most; the cache is emptied when it grows past this.
const CACHE_MAX: usize = 100_000;

impl RouteCache {
    /// A cache whose entries live `ttl`; zero disables it.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Arc::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut CacheInner) -> Option<T>) -> Option<T> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut inner = self.inner.lock().ok()?;
        let epoch = routing_epoch();
        if inner.epoch != epoch || inner.numbers.len() + inner.accounts.len() > CACHE_MAX {
            *inner = CacheInner {
                epoch,
                ..CacheInner::default()
            };
        }
        f(&mut inner)
    }

    fn fresh<T: Copy>(&self, entry: Option<&(T, Instant)>) -> Option<T> {
        entry
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| *v)
    }

    fn number(&self, pnid: &str) -> Option<Route> {
        self.with(|c| self.fresh(c.numbers.get(pnid)))
    }

    fn account(&self, waba: &str) -> Option<Route> {
        self.with(|c| self.fresh(c.accounts.get(waba)))
    }

    fn tenant(&self, id: Uuid) -> Option<Option<bool>> {
        self.with(|c| self.fresh(c.tenants.get(&id)))
    }

    /// Stores what was read from the database, unless routing changed while it was read.
    fn keep(&self, epoch: u64, f: impl FnOnce(&mut CacheInner)) {
        self.with(|c| {
            if c.epoch == epoch {
                f(c);
            }
            Some(())
        });
    }
}

/// Routing lookups for a group of bodies: each asked at most once, of the shared cache first.
pub(super) struct Router<'a> {
    db: &'a Db,
    cache: &'a RouteCache,
    numbers: HashMap<String, Route>,
    accounts: HashMap<String, Route>,
    /// Active tenants seen, with their auto-assignment setting; `None` for inactive ones.
    tenants: HashMap<Uuid, Option<bool>>,
}

impl<'a> Router<'a> {
    pub(super) fn new(db: &'a Db, cache: &'a RouteCache) -> Self {
        Self {
            db,
            cache,
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
            let route = match self.cache.number(pnid) {
                Some(Route::Tenant(t)) => self.active(t, "tenant_inactive").await?,
                Some(drop) => drop,
                None => {
                    let epoch = routing_epoch();
                    let route = match self.db.route_number(pnid).await? {
                        Some(row) => Route::Tenant(row.tenant_id),
                        None => Route::Drop("unknown_number"),
                    };
                    self.cache.keep(epoch, |c| {
                        c.numbers.insert(pnid.to_owned(), (route, Instant::now()));
                    });
                    match route {
                        Route::Tenant(t) => self.active(t, "tenant_inactive").await?,
                        drop => drop,
                    }
                }
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
        let owner = match self.cache.account(waba) {
            Some(route) => route,
            None => {
                let epoch = routing_epoch();
                let route = match self.db.tenants_of_waba(waba).await?.as_slice() {
                    [] => Route::Drop("unknown_account"),
                    [tenant_id] => Route::Tenant(*tenant_id),
                    _ => Route::Drop("ambiguous_account"),
                };
                self.cache.keep(epoch, |c| {
                    c.accounts.insert(waba.to_owned(), (route, Instant::now()));
                });
                route
            }
        };
        let route = match owner {
            Route::Tenant(t) => self.active(t, "tenant_inactive").await?,
            drop => drop,
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
                let state = match self.cache.tenant(tenant_id) {
                    Some(state) => state,
                    None => {
                        let epoch = routing_epoch();
                        let state = match self.db.tenant_by_id(tenant_id).await {
                            Ok(t) if t.status == STATUS_ACTIVE => Some(t.auto_assign),
                            Ok(_) | Err(StoreError::NotFound) => None,
                            Err(e) => return Err(e),
                        };
                        self.cache.keep(epoch, |c| {
                            c.tenants.insert(tenant_id, (state, Instant::now()));
                        });
                        state
                    }
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
