//! Failed sign-in counts in the database, so every instance enforces one budget. Keys arrive
//! already hashed ([`crate::auth::throttle`]); this module only counts.
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

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
        let marks = vec!["?"; keys.len()].join(", ");
        let sql = format!(
            "SELECT key_hash, failures, window_start FROM login_failures WHERE key_hash IN ({marks})"
        );
        let values: Vec<Value> = keys.iter().map(|k| k.clone().into()).collect();
        let rows = self
            .conn()
            .query_all_raw(self.statement(&sql, values))
            .await?;
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
        let rows = vec!["(?, 1, ?)"; keys.len()].join(", ");
        // In the update, `login_failures.*` is the row as it was before this statement.
        let sql = format!(
            "INSERT INTO login_failures (key_hash, failures, window_start) VALUES {rows} \
             ON CONFLICT (key_hash) DO UPDATE SET \
               failures = CASE WHEN login_failures.window_start <= ? THEN 1 \
                               ELSE login_failures.failures + 1 END, \
               window_start = CASE WHEN login_failures.window_start <= ? \
                                   THEN excluded.window_start \
                                   ELSE login_failures.window_start END"
        );
        let mut values: Vec<Value> = Vec::with_capacity(keys.len() * 2 + 2);
        for k in keys {
            values.push(k.clone().into());
            values.push(now.into());
        }
        values.push(window_cutoff.into());
        values.push(window_cutoff.into());
        self.conn()
            .execute_raw(self.statement(&sql, values))
            .await?;
        Ok(())
    }

    /// Forgets `key`'s count (a successful sign-in clears its account's).
    pub async fn clear_login_failures(&self, key: &[u8]) -> StoreResult<()> {
        let sql = "DELETE FROM login_failures WHERE key_hash = ?";
        self.conn()
            .execute_raw(self.statement(sql, vec![key.to_vec().into()]))
            .await?;
        Ok(())
    }

    /// Deletes the counts whose window started at or before `window_cutoff`; returns how many.
    pub async fn purge_login_failures(&self, window_cutoff: i64) -> StoreResult<u64> {
        let sql = "DELETE FROM login_failures WHERE window_start <= ?";
        let res = self
            .conn()
            .execute_raw(self.statement(sql, vec![window_cutoff.into()]))
            .await?;
        Ok(res.rows_affected())
    }

    /// `sql` written with `?` placeholders, numbered `$1, $2, ...` on PostgreSQL.
    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        let backend = self.backend();
        let sql = if backend == DbBackend::Postgres {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(ch);
                }
            }
            out
        } else {
            sql.to_owned()
        };
        Statement::from_sql_and_values(backend, sql, values)
    }
}
