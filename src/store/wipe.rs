//! Destructive maintenance: the tables a tenant wipe must empty (read from the live schema), the
//! per-table deletes, the message retention purge, and the lock that keeps one job runner.
use entity::{job_locks, message_status_events, messages, tenants};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::store::platform::STATUS_DELETED;
use crate::store::{Db, StoreResult, TenantTx};

/// Every table of the live schema with a `tenant_id` column. PostgreSQL is read from
/// `pg_catalog` rather than `information_schema`, which hides tables the connected role holds no
/// privilege on: such a table would be skipped silently instead of failing the wipe.
const PG_TENANT_TABLES: &str = "SELECT c.relname::text AS name \
    FROM pg_catalog.pg_attribute a \
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    WHERE a.attname = 'tenant_id' AND a.attnum > 0 AND NOT a.attisdropped \
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
      AND n.nspname = current_schema() \
    ORDER BY 1";
const SQLITE_TENANT_TABLES: &str = "SELECT m.name AS name \
    FROM sqlite_master m JOIN pragma_table_info(m.name) p \
    WHERE m.type = 'table' AND p.name = 'tenant_id' AND m.name NOT LIKE 'sqlite_%' \
    ORDER BY 1";

/// Double-quoted identifier; names come from the catalog, quoted anyway.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn param(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    }
}

impl Db {
    pub async fn tables_with_tenant_id(&self) -> StoreResult<Vec<String>> {
        let sql = match self.backend() {
            DbBackend::Postgres => PG_TENANT_TABLES,
            _ => SQLITE_TENANT_TABLES,
        };
        let rows = self
            .conn()
            .query_all_raw(Statement::from_string(self.backend(), sql))
            .await?;
        let mut names = Vec::with_capacity(rows.len());
        for row in rows {
            names.push(row.try_get::<String>("", "name")?);
        }
        Ok(names)
    }

    /// Tenants with a message retention period, except wiped ones: (id, days).
    pub async fn tenants_with_retention(&self) -> StoreResult<Vec<(Uuid, i32)>> {
        let rows: Vec<(Uuid, Option<i32>)> = tenants::Entity::find()
            .select_only()
            .column(tenants::Column::Id)
            .column(tenants::Column::MessageRetentionDays)
            .filter(tenants::Column::MessageRetentionDays.gt(0))
            .filter(tenants::Column::Status.ne(STATUS_DELETED))
            .order_by_asc(tenants::Column::Id)
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, days)| days.map(|d| (id, d)))
            .collect())
    }

    /// SQLite keeps the pages of a committed change in the write-ahead log until a checkpoint;
    /// copying them into the main file and truncating the log leaves no old page images behind.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        if self.backend() == DbBackend::Sqlite {
            self.conn()
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
        Ok(())
    }
}

impl TenantTx {
    /// SQLite only: deleted content is overwritten with zeros instead of lingering in free pages.
    pub async fn overwrite_deleted_content(&self) -> StoreResult<()> {
        if self.conn().get_database_backend() == DbBackend::Sqlite {
            self.conn()
                .execute_unprepared("PRAGMA secure_delete = ON")
                .await?;
        }
        Ok(())
    }

    /// `DELETE FROM <table> WHERE tenant_id = <this tenant>`; returns the rows removed.
    /// `table` must come from [`Db::tables_with_tenant_id`].
    pub async fn delete_tenant_rows(&self, table: &str) -> StoreResult<u64> {
        let backend = self.conn().get_database_backend();
        let sql = format!(
            "DELETE FROM {} WHERE tenant_id = {}",
            ident(table),
            param(backend)
        );
        let res = self
            .conn()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [self.tenant_id().into()],
            ))
            .await?;
        Ok(res.rows_affected())
    }

    /// Ids of messages sent before `cutoff`, oldest first, at most `limit`.
    pub async fn messages_sent_before(&self, cutoff: i64, limit: u64) -> StoreResult<Vec<Uuid>> {
        Ok(messages::Entity::find()
            .select_only()
            .column(messages::Column::Id)
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .filter(messages::Column::SentAt.lt(cutoff))
            .order_by_asc(messages::Column::SentAt)
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Deletes the messages and their status events: (messages, status events) removed.
    pub async fn delete_messages(&self, ids: &[Uuid]) -> StoreResult<(u64, u64)> {
        if ids.is_empty() {
            return Ok((0, 0));
        }
        let events = message_status_events::Entity::delete_many()
            .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
            .filter(message_status_events::Column::MessageId.is_in(ids.iter().copied()))
            .exec(self.conn())
            .await?;
        let msgs = messages::Entity::delete_many()
            .filter(messages::Column::TenantId.eq(self.tenant_id()))
            .filter(messages::Column::Id.is_in(ids.iter().copied()))
            .exec(self.conn())
            .await?;
        Ok((msgs.rows_affected, events.rows_affected))
    }

    /// Status events never matched to a message, older than `cutoff`: at most `limit` removed.
    pub async fn delete_unmatched_status_events(
        &self,
        cutoff: i64,
        limit: u64,
    ) -> StoreResult<u64> {
        let ids: Vec<Uuid> = message_status_events::Entity::find()
            .select_only()
            .column(message_status_events::Column::Id)
            .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
            .filter(message_status_events::Column::MessageId.is_null())
            .filter(message_status_events::Column::OccurredAt.lt(cutoff))
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let res = message_status_events::Entity::delete_many()
            .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
            .filter(message_status_events::Column::Id.is_in(ids))
            .exec(self.conn())
            .await?;
        Ok(res.rows_affected)
    }
}

/// A held job lock. PostgreSQL: a transaction-scoped advisory lock on one dedicated connection,
/// released when that transaction ends, also when the process dies. SQLite: a `job_locks` row
/// with an expiry, so a runner that died does not block the others for longer than the expiry.
pub enum JobLock {
    Advisory(DatabaseTransaction),
    Row { name: String, holder: String },
}

fn advisory_key(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes
        .iter_mut()
        .zip(digest.iter())
        .for_each(|(b, d)| *b = *d);
    i64::from_be_bytes(bytes)
}

impl Db {
    /// Takes the lock `name` unless another runner holds it.
    pub async fn try_job_lock(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl_ms: i64,
    ) -> StoreResult<Option<JobLock>> {
        if self.is_postgres() {
            let txn = self.conn().begin().await?;
            let row = txn
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_try_advisory_xact_lock($1) AS ok",
                    [advisory_key(name).into()],
                ))
                .await?;
            let got = match row {
                Some(r) => r.try_get::<bool>("", "ok")?,
                None => false,
            };
            if got {
                return Ok(Some(JobLock::Advisory(txn)));
            }
            txn.rollback().await?;
            return Ok(None);
        }
        let res = self
            .conn()
            .execute_raw(Statement::from_sql_and_values(
                self.backend(),
                "INSERT INTO job_locks (name, holder, expires_at) VALUES (?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE \
                 SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE job_locks.expires_at <= ?",
                [
                    name.into(),
                    holder.into(),
                    now.saturating_add(ttl_ms).into(),
                    now.into(),
                ],
            ))
            .await?;
        Ok((res.rows_affected() == 1).then(|| JobLock::Row {
            name: name.to_owned(),
            holder: holder.to_owned(),
        }))
    }

    pub async fn release_job_lock(&self, lock: JobLock) -> StoreResult<()> {
        match lock {
            JobLock::Advisory(txn) => txn.commit().await?,
            JobLock::Row { name, holder } => {
                job_locks::Entity::delete_many()
                    .filter(job_locks::Column::Name.eq(name))
                    .filter(job_locks::Column::Holder.eq(holder))
                    .exec(self.conn())
                    .await?;
            }
        }
        Ok(())
    }
}
