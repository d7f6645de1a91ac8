//! Failed sign-in counts in the database, so every instance enforces one budget. Keys arrive
//! already hashed ([`crate::auth::throttle`]); this module only counts.
use sea_orm::ConnectionTrait;

use crate::store::bulk::SqlBuilder;
use crate::store::{Db, StoreResult};

/// One key's count in its current window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureCount {
    pub key_hash: Vec<u8>,
    pub failures: i64,
    pub window_start: i64,
}

impl Db {
    /// The counts held for `keys` (absent keys have none).
    pub async fn login_failures(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<FailureCount>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = SqlBuilder::new(self.backend());
        let marks: Vec<String> = keys
            .iter()
            .map(|k| b.bind(k.clone().into(), "bytea"))
            .collect();
        let sql = format!(
            "SELECT key_hash, failures, window_start FROM login_failures WHERE key_hash IN ({})",
            marks.join(", ")
        );
        let rows = self.conn().query_all_raw(b.statement(sql)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(FailureCount {
                key_hash: r.try_get("", "key_hash")?,
                failures: i64::from(r.try_get::<i32>("", "failures")?),
                window_start: r.try_get("", "window_start")?,
            });
        }
        Ok(out)
    }

    /// Counts one failure for each of `keys` (distinct) at `now`, in one statement: a key whose
    /// window started at or before `window_cutoff` starts a new window with this failure.
    pub async fn record_login_failures(
        &self,
        keys: &[Vec<u8>],
        now: i64,
        window_cutoff: i64,
    ) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut b = SqlBuilder::new(self.backend());
        let at = b.bind(now.into(), "bigint");
        let cutoff = b.bind(window_cutoff.into(), "bigint");
        let rows: Vec<String> = keys
            .iter()
            .map(|k| format!("({}, 1, {at})", b.bind(k.clone().into(), "bytea")))
            .collect();
        // In the update, `login_failures.*` is the row as it was before this statement.
        let sql = format!(
            "INSERT INTO login_failures (key_hash, failures, window_start) VALUES {} \
             ON CONFLICT (key_hash) DO UPDATE SET \
               failures = CASE WHEN login_failures.window_start <= {cutoff} THEN 1 \
                               ELSE login_failures.failures + 1 END, \
               window_start = CASE WHEN login_failures.window_start <= {cutoff} \
                                   THEN excluded.window_start \
                                   ELSE login_failures.window_start END",
            rows.join(", ")
        );
        self.conn().execute_raw(b.statement(sql)).await?;
        Ok(())
    }

    /// Forgets `key`'s count (a successful sign-in clears its account's).
    pub async fn clear_login_failures(&self, key: &[u8]) -> StoreResult<()> {
        let mut b = SqlBuilder::new(self.backend());
        let sql = format!(
            "DELETE FROM login_failures WHERE key_hash = {}",
            b.bind(key.to_vec().into(), "bytea")
        );
        self.conn().execute_raw(b.statement(sql)).await?;
        Ok(())
    }

    /// Deletes the counts whose window started at or before `window_cutoff`; returns how many.
    pub async fn purge_login_failures(&self, window_cutoff: i64) -> StoreResult<u64> {
        let mut b = SqlBuilder::new(self.backend());
        let sql = format!(
            "DELETE FROM login_failures WHERE window_start <= {}",
            b.bind(window_cutoff.into(), "bigint")
        );
        let res = self.conn().execute_raw(b.statement(sql)).await?;
        Ok(res.rows_affected())
    }
}
