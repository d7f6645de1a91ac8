//! Storage: the only code that builds queries. `TenantTx` is the only door to tenant tables.
//!
//! A `TenantTx` is a transaction bound to one tenant: it cannot be opened without a tenant id,
//! every query method on it filters by that id, and on PostgreSQL it also switches to the
//! non-owner application role and sets `app.tenant_id`, so row-level security enforces the same
//! rule a second time.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use migration::MigratorTrait;
use sea_orm::sqlx;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, RuntimeErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::config::DatabaseSettings;

pub mod audit;
pub mod billing;
pub mod bulk;
pub mod contacts;
pub mod conversations;
pub mod deletion;
pub mod events;
pub mod grants;
pub mod inbox;
pub mod keys;
pub mod login_failures;
pub mod messages;
pub mod numbers;
pub mod platform;
pub mod rights;
pub mod rotation;
pub mod sealed;
pub mod sessions;
pub mod settings;
pub mod users;
pub mod wipe;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(DbErr),
    #[error("crypto: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("invalid stored data: {0}")]
    Invalid(String),
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) = e.sql_err() {
            return Self::Conflict("a record with the same unique key exists".into());
        }
        if is_unavailable(&e) {
            return Self::Unavailable(e.to_string());
        }
        Self::Db(e)
    }
}

fn is_unavailable(e: &DbErr) -> bool {
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            matches!(
                inner.as_ref(),
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
                    | sqlx::Error::Tls(_)
            ) || inner.to_string().contains("database is locked")
        }
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle shared by the whole service.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    rls_role: Option<String>,
    key_plans: Arc<KeyPlans>,
}

/// Whether PostgreSQL has the statistics that make cached plans for key lookups safe (see
/// [`Planning::KeyLookups`]); checked at most every `check_every` until it has.
#[derive(Debug)]
struct KeyPlans {
    ready: AtomicBool,
    last_check: std::sync::Mutex<Option<Instant>>,
    check_every: Duration,
}

/// The tables read and written by key during ingestion.
const KEY_LOOKUP_TABLES: [&str; 4] = [
    "contacts",
    "conversations",
    "messages",
    "message_status_events",
];

/// How PostgreSQL plans the statements of a tenant transaction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Planning {
    /// Each execution is planned for its own parameters (the session default).
    PerExecution,
    /// A transaction whose statements all look rows up by key, from short lists of keys, and
    /// run many times a second (webhook ingestion): each statement text is planned once per
    /// connection and the plan reused, since planning these statements anew cost about as much
    /// as running them. Used only once the tables have statistics (see `key_plans_ready`).
    /// The plan is also held to index lookups in nested loops (no hash or merge joins, bitmap
    /// or sequential scans), which is what a short list of keys wants whatever the estimates.
    KeyLookups,
}

/// The transaction-local settings of [`Planning::KeyLookups`], appended to the select list.
const KEY_LOOKUP_PLANNING: &str = ", set_config('plan_cache_mode', 'force_generic_plan', true), \
     set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), \
     set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)";

impl Db {
    pub async fn connect(settings: &DatabaseSettings) -> StoreResult<Self> {
        let url = settings.url.expose_secret().to_owned();
        let mut opts = ConnectOptions::new(url.clone());
        opts.max_connections(settings.max_connections.max(2))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
            .sqlx_logging(false);
        if url.starts_with("sqlite:") {
            ensure_sqlite_dir(&url);
            opts.map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // Erased and wiped rows must not linger in free pages of the file.
                    .pragma("secure_delete", "ON")
            });
        } else {
            // Plan every execution of a prepared statement for its own parameters: tenants
            // differ in size by orders of magnitude, and a generic plan cached for one
            // statement text (a lookup by an array of keys, say) can scan a whole tenant's
            // rows where a custom plan probes an index.
            opts.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
        }
        let conn = Database::connect(opts).await.map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot connect to the database: {}",
                redact_db_error(&e)
            ))
        })?;
        let rls_role = match conn.get_database_backend() {
            DbBackend::Postgres if !settings.rls_role.trim().is_empty() => {
                Some(settings.rls_role.trim().to_owned())
            }
            _ => None,
        };
        Ok(Self {
            conn,
            rls_role,
            key_plans: Arc::new(KeyPlans {
                ready: AtomicBool::new(false),
                last_check: std::sync::Mutex::new(None),
                check_every: Duration::from_secs(settings.statistics_check_secs),
            }),
        })
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    pub fn is_postgres(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        migration::Migrator::up(&self.conn, None).await?;
        Ok(())
    }

    /// Whether every migration this build knows is applied (readiness). Migrations newer than
    /// this build (a rolling upgrade in progress) do not make it unready.
    pub async fn migrations_applied(&self) -> StoreResult<bool> {
        let rows = self
            .conn
            .query_all_raw(Statement::from_string(
                self.backend(),
                "SELECT version FROM seaql_migrations",
            ))
            .await?;
        let applied: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", "version").ok())
            .collect();
        Ok(migration::Migrator::migrations()
            .iter()
            .all(|m| applied.iter().any(|a| a == m.name())))
    }

    pub async fn ping(&self) -> StoreResult<()> {
        self.conn.ping().await?;
        Ok(())
    }

    pub async fn close(self) {
        let _ = self.conn.close().await;
    }

    /// Opens a transaction bound to `tenant_id`.
    pub async fn tenant(&self, tenant_id: Uuid) -> StoreResult<TenantTx> {
        self.tenant_planned(tenant_id, Planning::PerExecution).await
    }

    /// Opens a transaction bound to `tenant_id` whose statements all find their rows by key
    /// (webhook ingestion): see [`Planning::KeyLookups`], which applies once PostgreSQL has
    /// statistics for the tables involved; until then each execution is planned.
    pub async fn tenant_by_keys(&self, tenant_id: Uuid) -> StoreResult<TenantTx> {
        let planning = if self.key_plans_ready().await {
            Planning::KeyLookups
        } else {
            Planning::PerExecution
        };
        self.tenant_planned(tenant_id, planning).await
    }

    /// Whether every table of [`KEY_LOOKUP_TABLES`] has statistics on `tenant_id` (gathered by
    /// autovacuum's or an operator's `ANALYZE`). Without them the planner takes a tenant to be a
    /// handful of rows and costs every index that starts with `tenant_id` alike, so a plan
    /// cached then can read all of a tenant's rows for each key; with them, however old, it
    /// knows a tenant is a share of the table (and the table's current size is read at each
    /// planning), and `ANALYZE` replaces the plans cached before it. Once true it stays true.
    async fn key_plans_ready(&self) -> bool {
        if self.key_plans.ready.load(Ordering::Relaxed) {
            return true;
        }
        if !self.is_postgres() {
            return false;
        }
        {
            // One check at a time, at most every `check_every`.
            let Ok(mut last) = self.key_plans.last_check.try_lock() else {
                return false;
            };
            if last.is_some_and(|at| at.elapsed() < self.key_plans.check_every) {
                return false;
            }
            *last = Some(Instant::now());
        }
        let tables: Vec<String> = KEY_LOOKUP_TABLES.iter().map(|t| (*t).to_owned()).collect();
        let found = self
            .conn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT count(DISTINCT tablename) AS n FROM pg_stats \
                 WHERE schemaname = current_schema() AND attname = 'tenant_id' \
                 AND tablename::text = ANY($1)",
                [tables.into()],
            ))
            .await;
        let ready = match found {
            Ok(Some(row)) => row
                .try_get::<i64>("", "n")
                .is_ok_and(|n| n == KEY_LOOKUP_TABLES.len() as i64),
            _ => false,
        };
        if ready {
            self.key_plans.ready.store(true, Ordering::Relaxed);
        }
        ready
    }

    async fn tenant_planned(&self, tenant_id: Uuid, planning: Planning) -> StoreResult<TenantTx> {
        let txn = self.begin().await?;
        if self.is_postgres() {
            // Role, tenant and planning in one round trip; all are transaction-local.
            let mut sql = String::from("SELECT set_config('app.tenant_id', $1, true)");
            let mut values: Vec<sea_orm::Value> = vec![tenant_id.to_string().into()];
            if let Some(role) = &self.rls_role {
                sql.push_str(", set_config('role', $2, true)");
                values.push(role.clone().into());
            }
            if planning == Planning::KeyLookups {
                sql.push_str(KEY_LOOKUP_PLANNING);
            }
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await?;
        }
        Ok(TenantTx { txn, tenant_id })
    }

    /// A platform-level transaction (tables that are not tenant data).
    pub async fn begin(&self) -> StoreResult<DatabaseTransaction> {
        let mut options = TransactionOptions::default();
        if self.backend() == DbBackend::Sqlite {
            // Take the write lock up front: a deferred transaction that later writes can fail
            // with SQLITE_BUSY instead of waiting.
            options.sqlite_transaction_mode = Some(SqliteTransactionMode::Immediate);
        }
        Ok(self.conn.begin_with_options(options).await?)
    }

    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }
}

/// A transaction bound to one tenant.
pub struct TenantTx {
    txn: DatabaseTransaction,
    tenant_id: Uuid,
}

impl TenantTx {
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    pub(crate) fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The value of a PostgreSQL run-time setting as this transaction sees it (`None` on
    /// SQLite).
    pub async fn setting(&self, name: &str) -> StoreResult<Option<String>> {
        if self.txn.get_database_backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let row = self
            .txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT current_setting($1) AS value",
                [name.into()],
            ))
            .await?;
        Ok(row.map(|r| r.try_get("", "value")).transpose()?)
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.txn.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> StoreResult<()> {
        self.txn.rollback().await?;
        Ok(())
    }
}

fn ensure_sqlite_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return;
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        let _ = std::fs::create_dir_all(dir);
    }
}

/// Database errors can carry the connection URL (and a password in it): keep only the kind.
fn redact_db_error(e: &DbErr) -> String {
    match e {
        DbErr::Conn(RuntimeErr::SqlxError(inner)) => match inner.as_ref() {
            sqlx::Error::Io(io) => format!("i/o error: {}", io.kind()),
            sqlx::Error::Database(db) => format!("server refused: {}", db.message()),
            sqlx::Error::PoolTimedOut => "timed out".into(),
            other => format!("{}", other).chars().take(120).collect(),
        },
        _ => "connection failed".into(),
    }
}

/// Identifier of a row: time-ordered v7 UUIDs keep inserts index-friendly.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
