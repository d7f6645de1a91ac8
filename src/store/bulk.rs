//! Set-at-a-time reads and writes for storing many webhook bodies in one transaction: lookups
//! for every id a group of bodies names in one query each, and rows inserted or updated many per
//! statement. Every statement is filtered by the transaction's tenant, like the rest of the store.
use entity::{contacts, conversations, message_status_events, messages};

use crate::store::messages::TERMINAL_STATUS_RANK;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityName, EntityTrait,
    FromQueryResult, IdenStatic, Iterable, QueryResult, Statement, Value, sea_query::ArrayType,
};
use uuid::Uuid;

use crate::store::conversations::CONVERSATION_OPEN;
use crate::store::{StoreError, StoreResult, TenantTx};

/// Rows per multi-row statement: far below either backend's limit on bound values.
const CHUNK: usize = 200;

/// A status already recorded for a wamid.
#[derive(Clone, Debug)]
pub struct KnownStatus {
    pub id: Uuid,
    pub wamid_bidx: Vec<u8>,
    pub status: String,
    pub rank: i32,
    /// `None` while its message is not stored (a pending status).
    pub message_id: Option<Uuid>,
    /// The sealed detail of a pending status (not read for the others).
    pub detail_enc: Option<Vec<u8>>,
}

/// A conversation of a contact read ahead.
#[derive(Clone, Copy, Debug)]
pub struct ThreadRef {
    pub id: Uuid,
    pub assignee_id: Option<Uuid>,
}

/// A status change for one message, applied only if it is progress (see
/// [`TenantTx::apply_message_status`]); `error_enc` is already sealed for that message.
#[derive(Clone, Debug)]
pub struct StatusChange {
    pub message_id: Uuid,
    pub status: String,
    pub rank: i32,
    pub error_enc: Option<Vec<u8>>,
}

/// What a group of bodies writes after its reads; see [`TenantTx::write_group`].
#[derive(Debug, Default)]
pub struct GroupWrites {
    pub contacts: Vec<contacts::ActiveModel>,
    pub conversations: Vec<conversations::ActiveModel>,
    pub messages: Vec<messages::ActiveModel>,
    pub statuses: Vec<message_status_events::ActiveModel>,
    /// Statuses stored before their message, to link to the message stored now: (wamid index,
    /// message id).
    pub links: Vec<(Vec<u8>, Uuid)>,
    /// Status changes of messages stored before this group, at most one per message.
    pub status_changes: Vec<StatusChange>,
    /// Conversations stored before this group that had a message at the time given.
    pub threads: Vec<(Uuid, i64)>,
    /// Contacts stored before this group that wrote at the time given.
    pub inbound: Vec<(Uuid, i64)>,
}

/// One write of a group and what its row count means.
struct Part {
    sql: String,
    check: Check,
}

enum Check {
    /// Every row must be inserted; fewer means a concurrent delivery stored one first.
    Inserted(u64, &'static str),
    /// The count is the number of messages whose status changed.
    Applied,
    Ignored,
}

impl Part {
    /// The number of status changes, or `Conflict` when an insert fell short.
    fn check(&self, n: u64) -> StoreResult<u64> {
        match self.check {
            Check::Inserted(expected, what) if n != expected => {
                Err(StoreError::Conflict(format!("{what} stored concurrently")))
            }
            Check::Inserted(..) | Check::Ignored => Ok(0),
            Check::Applied => Ok(n),
        }
    }
}

impl TenantTx {
    /// In one query: (id, wamid index) of the messages stored under any of `bidx`, and every
    /// status recorded under them.
    pub async fn read_wamids(
        &self,
        bidx: &[Vec<u8>],
    ) -> StoreResult<(Vec<(Uuid, Vec<u8>)>, Vec<KnownStatus>)> {
        let (mut messages, mut statuses) = (Vec::new(), Vec::new());
        for chunk in bidx.chunks(self.list_chunk()) {
            let mut b = SqlBuilder::new(self.conn().get_database_backend());
            let tenant = b.bind(self.tenant_id().into(), "uuid");
            // Bound once, named in both halves (placeholders are numbered).
            let keys = b.key_list(ArrayType::Bytes, chunk.iter().cloned().map(Value::from));
            let sql = format!(
                "SELECT 0 AS kind, messages.id, messages.wamid_bidx, CAST(NULL AS TEXT) AS status, \
                 CAST(NULL AS INTEGER) AS status_rank, CAST(NULL AS {uuid}) AS message_id, \
                 CAST(NULL AS {bytes}) AS detail_enc FROM {messages} \
                 UNION ALL SELECT 1 AS kind, s.id, s.wamid_bidx, s.status, s.status_rank, \
                 s.message_id, CASE WHEN s.message_id IS NULL THEN s.detail_enc END \
                 FROM {statuses}",
                uuid = b.uuid_type(),
                bytes = b.bytes_type(),
                messages = b.keyed("messages", "messages", &tenant, "wamid_bidx", &keys),
                statuses = b.keyed("message_status_events", "s", &tenant, "wamid_bidx", &keys),
            );
            for row in b.query(self, sql).await? {
                let kind: i32 = row.try_get("", "kind")?;
                let wamid_bidx: Vec<u8> = row.try_get("", "wamid_bidx")?;
                if kind == 0 {
                    messages.push((row.try_get("", "id")?, wamid_bidx));
                } else {
                    statuses.push(KnownStatus {
                        id: row.try_get("", "id")?,
                        wamid_bidx,
                        status: row.try_get("", "status")?,
                        rank: row.try_get("", "status_rank")?,
                        message_id: row.try_get("", "message_id")?,
                        detail_enc: row.try_get("", "detail_enc")?,
                    });
                }
            }
        }
        Ok((messages, statuses))
    }

    /// In one query: the contacts found under any of the phone or user-id indexes given, and
    /// their conversations by (number, contact).
    pub async fn contacts_with_threads(
        &self,
        phone: &[Vec<u8>],
        user: &[Vec<u8>],
    ) -> StoreResult<(Vec<contacts::Model>, Vec<((String, Uuid), ThreadRef)>)> {
        let (mut found, mut threads) = (Vec::<contacts::Model>::new(), Vec::new());
        if phone.is_empty() && user.is_empty() {
            return Ok((found, threads));
        }
        let mut b = SqlBuilder::new(self.conn().get_database_backend());
        let tenant = b.bind(self.tenant_id().into(), "uuid");
        // Both lists are always bound (an empty array matches nothing), so PostgreSQL sees one
        // statement text whatever the group holds. A contact found under both comes twice.
        let phone_keys = b.key_list(ArrayType::Bytes, phone.iter().cloned().map(Value::from));
        let user_keys = b.key_list(ArrayType::Bytes, user.iter().cloned().map(Value::from));
        let sql = format!(
            "SELECT contacts.*, conversations.id AS cv_id, \
             conversations.phone_number_id AS cv_number, conversations.assignee_id AS cv_assignee \
             FROM (SELECT c.* FROM {by_phone} UNION ALL SELECT c.* FROM {by_user}) AS contacts \
             LEFT JOIN conversations ON conversations.tenant_id = contacts.tenant_id \
             AND conversations.contact_id = contacts.id",
            by_phone = b.keyed("contacts", "c", &tenant, "wa_id_bidx", &phone_keys),
            by_user = b.keyed("contacts", "c", &tenant, "user_id_bidx", &user_keys),
        );
        for row in b.query(self, sql).await? {
            let contact = contacts::Model::from_query_result(&row, "")?;
            let cv_id: Option<Uuid> = row.try_get("", "cv_id")?;
            if let Some(id) = cv_id {
                let number: String = row.try_get("", "cv_number")?;
                let assignee_id: Option<Uuid> = row.try_get("", "cv_assignee")?;
                threads.push(((number, contact.id), ThreadRef { id, assignee_id }));
            }
            if !found.iter().any(|c| c.id == contact.id) {
                found.push(contact);
            }
        }
        Ok((found, threads))
    }

    /// Writes what a group of bodies stores after its reads: new contacts, conversations,
    /// messages and statuses, pending statuses linked to their new messages, status changes of
    /// stored messages, and conversation and contact activity. One statement on PostgreSQL (each
    /// part a data-modifying CTE), one per part and chunk on SQLite. An insert that finds its row
    /// already there (a concurrent delivery won) is a `Conflict`: the caller stores its bodies
    /// again. Returns how many stored messages changed status.
    pub async fn write_group(&self, w: &GroupWrites, now: i64) -> StoreResult<u64> {
        let backend = self.conn().get_database_backend();
        let tenant = self.tenant_id();
        if backend == DbBackend::Postgres {
            let mut b = SqlBuilder::new(backend);
            let parts = [
                b.insert_part(&w.contacts, "contact")?,
                b.insert_part(&w.conversations, "conversation")?,
                b.insert_part(&w.messages, "message")?,
                b.insert_part(&w.statuses, "status")?,
                b.links_part(tenant, &w.links),
                b.changes_part(tenant, &w.status_changes, now),
                b.touch_part(tenant, &w.threads, now),
                b.inbound_part(tenant, &w.inbound),
            ];
            let parts: Vec<Part> = parts.into_iter().flatten().collect();
            if parts.is_empty() {
                return Ok(0);
            }
            let ctes: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| format!("p{i} AS ({} RETURNING 1)", p.sql))
                .collect();
            let counts: Vec<String> = (0..parts.len())
                .map(|i| format!("(SELECT count(*) FROM p{i}) AS n{i}"))
                .collect();
            let sql = format!("WITH {} SELECT {}", ctes.join(", "), counts.join(", "));
            let rows = b.query(self, sql).await?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::Unavailable("group write returned no row".into()))?;
            let mut applied = 0;
            for (i, part) in parts.iter().enumerate() {
                let n: i64 = row.try_get("", &format!("n{i}"))?;
                applied += part.check(u64::try_from(n).unwrap_or(0))?;
            }
            return Ok(applied);
        }
        let mut applied = 0;
        for rows in w.contacts.chunks(CHUNK) {
            applied += self.run_part(|b| b.insert_part(rows, "contact")).await?;
        }
        for rows in w.conversations.chunks(CHUNK) {
            applied += self
                .run_part(|b| b.insert_part(rows, "conversation"))
                .await?;
        }
        for rows in w.messages.chunks(CHUNK) {
            applied += self.run_part(|b| b.insert_part(rows, "message")).await?;
        }
        for rows in w.statuses.chunks(CHUNK) {
            applied += self.run_part(|b| b.insert_part(rows, "status")).await?;
        }
        for rows in w.links.chunks(CHUNK) {
            applied += self.run_part(|b| Ok(b.links_part(tenant, rows))).await?;
        }
        for rows in w.status_changes.chunks(CHUNK) {
            applied += self
                .run_part(|b| Ok(b.changes_part(tenant, rows, now)))
                .await?;
        }
        for rows in w.threads.chunks(CHUNK) {
            applied += self
                .run_part(|b| Ok(b.touch_part(tenant, rows, now)))
                .await?;
        }
        for rows in w.inbound.chunks(CHUNK) {
            applied += self.run_part(|b| Ok(b.inbound_part(tenant, rows))).await?;
        }
        Ok(applied)
    }

    /// Runs one part alone (SQLite) and checks its count.
    async fn run_part(
        &self,
        build: impl FnOnce(&mut SqlBuilder) -> StoreResult<Option<Part>>,
    ) -> StoreResult<u64> {
        let mut b = SqlBuilder::new(self.conn().get_database_backend());
        let Some(part) = build(&mut b)? else {
            return Ok(0);
        };
        let n = b.execute_counted(self, part.sql.clone()).await?;
        part.check(n)
    }

    /// Items per list-bound statement: all at once on PostgreSQL, where a list is one array
    /// parameter; [`CHUNK`] on SQLite, where each item is a parameter.
    fn list_chunk(&self) -> usize {
        match self.conn().get_database_backend() {
            DbBackend::Postgres => usize::MAX,
            _ => CHUNK,
        }
    }
}

/// Numbered placeholders in either backend's spelling, so text order need not be bind order.
pub(crate) struct SqlBuilder {
    backend: DbBackend,
    values: Vec<Value>,
}

impl SqlBuilder {
    pub(crate) fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    /// The placeholder for `value`; on PostgreSQL cast to `pg_type`, so a `VALUES` list is typed.
    pub(crate) fn bind(&mut self, value: Value, pg_type: &str) -> String {
        self.values.push(value);
        match self.backend {
            DbBackend::Postgres => format!("${}::{pg_type}", self.values.len()),
            _ => format!("?{}", self.values.len()),
        }
    }

    /// A list of keys for [`Self::keyed`]: one array parameter on PostgreSQL, so one statement
    /// text whatever the number of keys; on SQLite one placeholder per key.
    fn key_list(&mut self, ty: ArrayType, items: impl Iterator<Item = Value>) -> String {
        if self.backend == DbBackend::Postgres {
            return self.array(ty, items.collect());
        }
        let list: Vec<String> = items.map(|v| self.bind(v, "")).collect();
        list.join(", ")
    }

    /// The rows of `table` (named `alias`) of the tenant whose `column` is one of `keys`, as
    /// the text after `FROM`. On PostgreSQL the key array joined to the table, which plans as
    /// one index probe per key; on SQLite `column IN (...)`, or nothing when there are no keys.
    fn keyed(&self, table: &str, alias: &str, tenant: &str, column: &str, keys: &str) -> String {
        if self.backend == DbBackend::Postgres {
            return format!(
                "unnest({keys}) AS k(bidx) JOIN {table} AS {alias} \
                 ON {alias}.tenant_id = {tenant} AND {alias}.{column} = k.bidx"
            );
        }
        if keys.is_empty() {
            return format!("{table} AS {alias} WHERE 1 = 0");
        }
        format!(
            "{table} AS {alias} WHERE {alias}.tenant_id = {tenant} AND {alias}.{column} IN ({keys})"
        )
    }

    fn array(&mut self, ty: ArrayType, items: Vec<Value>) -> String {
        let pg_type = match ty {
            ArrayType::Uuid => "uuid",
            ArrayType::String => "text",
            ArrayType::Int => "integer",
            ArrayType::BigInt => "bigint",
            ArrayType::Bool => "boolean",
            _ => "bytea",
        };
        self.values.push(Value::Array(ty, Some(Box::new(items))));
        format!("${}::{pg_type}[]", self.values.len())
    }

    /// A row source `v` with columns `column1, column2, ...` from equally long columns of
    /// values: `unnest` of one array per column on PostgreSQL (one statement text whatever the
    /// number of rows), a `VALUES` list on SQLite.
    fn rows(&mut self, columns: Vec<(ArrayType, Vec<Value>)>) -> String {
        if self.backend == DbBackend::Postgres {
            let names: Vec<String> = (1..=columns.len()).map(|i| format!("column{i}")).collect();
            let arrays: Vec<String> = columns
                .into_iter()
                .map(|(ty, items)| self.array(ty, items))
                .collect();
            return format!("unnest({}) AS v({})", arrays.join(", "), names.join(", "));
        }
        let len = columns.first().map_or(0, |(_, items)| items.len());
        let mut columns: Vec<std::vec::IntoIter<Value>> = columns
            .into_iter()
            .map(|(_, items)| items.into_iter())
            .collect();
        let mut rows = Vec::with_capacity(len);
        for _ in 0..len {
            let row: Vec<String> = columns
                .iter_mut()
                .filter_map(Iterator::next)
                .map(|v| self.bind(v, ""))
                .collect();
            rows.push(format!("({})", row.join(", ")));
        }
        format!("(VALUES {}) AS v", rows.join(", "))
    }

    /// `INSERT ... ON CONFLICT DO NOTHING` of `rows` (every column set), or `None` for no
    /// rows. On PostgreSQL each column is one array parameter (one statement text whatever the
    /// number of rows); array elements cannot be NULL, so a missing value travels as its type's
    /// empty value (nil uuid, empty text or bytes) and is turned back into NULL for the columns
    /// that allow it. On SQLite the rows are a `VALUES` list.
    fn insert<A: ActiveModelTrait>(&mut self, rows: &[A]) -> StoreResult<Option<String>> {
        if rows.is_empty() {
            return Ok(None);
        }
        let table = A::Entity::default().table_name().to_owned();
        let mut names = Vec::new();
        let mut nullable = Vec::new();
        let mut columns = Vec::new();
        for col in <A::Entity as EntityTrait>::Column::iter() {
            let mut values = Vec::with_capacity(rows.len());
            for row in rows {
                let value = row.get(col).into_value().ok_or_else(|| {
                    StoreError::Unavailable(format!("{table}.{} not set", col.as_str()))
                })?;
                values.push(value);
            }
            let ty = array_type(values.first())?;
            if self.backend == DbBackend::Postgres {
                for v in &mut values {
                    fill_null(v);
                }
            }
            names.push(format!("\"{}\"", col.as_str()));
            nullable.push(col.def().is_null().then(|| empty_literal(&ty)));
            columns.push((ty, values));
        }
        let source = self.rows(columns);
        let selects: Vec<String> = nullable
            .iter()
            .enumerate()
            .map(|(i, empty)| match (self.backend, empty) {
                (DbBackend::Postgres, Some(empty)) => format!("NULLIF(v.column{}, {empty})", i + 1),
                _ => format!("v.column{}", i + 1),
            })
            .collect();
        // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.
        Ok(Some(format!(
            "INSERT INTO \"{table}\" ({}) SELECT {} FROM {source} WHERE true ON CONFLICT DO NOTHING",
            names.join(", "),
            selects.join(", ")
        )))
    }

    fn bytes_type(&self) -> &'static str {
        match self.backend {
            DbBackend::Postgres => "bytea",
            _ => "BLOB",
        }
    }

    fn uuid_type(&self) -> &'static str {
        match self.backend {
            DbBackend::Postgres => "uuid",
            _ => "BLOB",
        }
    }

    fn insert_part<A: ActiveModelTrait>(
        &mut self,
        rows: &[A],
        what: &'static str,
    ) -> StoreResult<Option<Part>> {
        Ok(self.insert(rows)?.map(|sql| Part {
            sql,
            check: Check::Inserted(rows.len() as u64, what),
        }))
    }

    /// Links statuses stored before their message (`message_id` NULL) to it.
    fn links_part(&mut self, tenant: Uuid, rows: &[(Vec<u8>, Uuid)]) -> Option<Part> {
        if rows.is_empty() {
            return None;
        }
        let tenant = self.bind(tenant.into(), "uuid");
        let rows = self.rows(vec![
            (
                ArrayType::Bytes,
                rows.iter().map(|(b, _)| b.clone().into()).collect(),
            ),
            (
                ArrayType::Uuid,
                rows.iter().map(|(_, id)| (*id).into()).collect(),
            ),
        ]);
        Some(Part {
            sql: format!(
                "UPDATE message_status_events SET message_id = v.column2 FROM {rows} \
                 WHERE message_status_events.tenant_id = {tenant} \
                 AND message_status_events.wamid_bidx = v.column1 \
                 AND message_status_events.message_id IS NULL"
            ),
            check: Check::Ignored,
        })
    }

    /// Applies each change only if it is progress: a higher rank than the stored one, which is
    /// not final.
    fn changes_part(&mut self, tenant: Uuid, changes: &[StatusChange], now: i64) -> Option<Part> {
        if changes.is_empty() {
            return None;
        }
        let tenant = self.bind(tenant.into(), "uuid");
        let updated = self.bind(now.into(), "bigint");
        let terminal = self.bind(TERMINAL_STATUS_RANK.into(), "integer");
        // No error is an empty value, read back as NULL: array elements are never NULL.
        let no_error = self.bind(Vec::<u8>::new().into(), "bytea");
        let rows = self.rows(vec![
            (
                ArrayType::Uuid,
                changes.iter().map(|c| c.message_id.into()).collect(),
            ),
            (
                ArrayType::String,
                changes.iter().map(|c| c.status.clone().into()).collect(),
            ),
            (
                ArrayType::Int,
                changes.iter().map(|c| c.rank.into()).collect(),
            ),
            (
                ArrayType::Bytes,
                changes
                    .iter()
                    .map(|c| c.error_enc.clone().unwrap_or_default().into())
                    .collect(),
            ),
        ]);
        Some(Part {
            sql: format!(
                "UPDATE messages SET status = v.column2, status_rank = v.column3, \
                 error_enc = COALESCE(NULLIF(v.column4, {no_error}), messages.error_enc), \
                 updated_at = {updated} FROM {rows} WHERE messages.tenant_id = {tenant} \
                 AND messages.id = v.column1 AND messages.status_rank < v.column3 \
                 AND messages.status_rank < {terminal}"
            ),
            check: Check::Applied,
        })
    }

    /// Reopens each conversation and moves its `last_message_at` forward to the time given,
    /// never back.
    fn touch_part(&mut self, tenant: Uuid, rows: &[(Uuid, i64)], now: i64) -> Option<Part> {
        if rows.is_empty() {
            return None;
        }
        let status = self.bind(CONVERSATION_OPEN.into(), "text");
        let updated = self.bind(now.into(), "bigint");
        let tenant = self.bind(tenant.into(), "uuid");
        let rows = self.id_times(rows);
        let greatest = self.greatest();
        Some(Part {
            sql: format!(
                "UPDATE conversations SET status = {status}, \
                 last_message_at = {greatest}(conversations.last_message_at, v.column2), \
                 updated_at = {updated} FROM {rows} \
                 WHERE conversations.tenant_id = {tenant} AND conversations.id = v.column1"
            ),
            check: Check::Ignored,
        })
    }

    /// Records when each contact last wrote, only forward.
    fn inbound_part(&mut self, tenant: Uuid, rows: &[(Uuid, i64)]) -> Option<Part> {
        if rows.is_empty() {
            return None;
        }
        let tenant = self.bind(tenant.into(), "uuid");
        let rows = self.id_times(rows);
        Some(Part {
            sql: format!(
                "UPDATE contacts SET last_inbound_at = v.column2 FROM {rows} \
                 WHERE contacts.tenant_id = {tenant} AND contacts.id = v.column1 \
                 AND (contacts.last_inbound_at IS NULL OR contacts.last_inbound_at < v.column2)"
            ),
            check: Check::Ignored,
        })
    }

    /// (id, time) rows as a row source `v(column1, column2)`.
    fn id_times(&mut self, rows: &[(Uuid, i64)]) -> String {
        self.rows(vec![
            (
                ArrayType::Uuid,
                rows.iter().map(|(id, _)| (*id).into()).collect(),
            ),
            (
                ArrayType::BigInt,
                rows.iter().map(|(_, at)| (*at).into()).collect(),
            ),
        ])
    }

    fn greatest(&self) -> &'static str {
        match self.backend {
            DbBackend::Postgres => "GREATEST",
            _ => "MAX",
        }
    }

    /// `sql` with the values bound so far.
    pub(crate) fn statement(self, sql: String) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, self.values)
    }

    async fn execute_counted(self, tx: &TenantTx, sql: String) -> StoreResult<u64> {
        let res = tx.conn().execute_raw(self.statement(sql)).await?;
        Ok(res.rows_affected())
    }

    async fn query(self, tx: &TenantTx, sql: String) -> StoreResult<Vec<QueryResult>> {
        Ok(tx.conn().query_all_raw(self.statement(sql)).await?)
    }
}

/// The array type of a column from its first value (`Value` variants carry their type even
/// when NULL).
fn array_type(value: Option<&Value>) -> StoreResult<ArrayType> {
    Ok(match value {
        Some(Value::Uuid(_)) => ArrayType::Uuid,
        Some(Value::String(_)) => ArrayType::String,
        Some(Value::Bytes(_)) => ArrayType::Bytes,
        Some(Value::Int(_)) => ArrayType::Int,
        Some(Value::BigInt(_)) => ArrayType::BigInt,
        Some(Value::Bool(_)) => ArrayType::Bool,
        other => {
            return Err(StoreError::Unavailable(format!(
                "no array type for {other:?}"
            )));
        }
    })
}

/// Replaces a NULL with its type's empty value (see [`SqlBuilder::insert`]).
fn fill_null(value: &mut Value) {
    match value {
        Value::Uuid(v @ None) => *v = Some(Uuid::nil()),
        Value::String(v @ None) => *v = Some(String::new()),
        Value::Bytes(v @ None) => *v = Some(Vec::new()),
        Value::Int(v @ None) => *v = Some(i32::MIN),
        Value::BigInt(v @ None) => *v = Some(i64::MIN),
        Value::Bool(v @ None) => *v = Some(false),
        _ => {}
    }
}

/// The literal [`fill_null`] writes for a type, as PostgreSQL spells it.
fn empty_literal(ty: &ArrayType) -> &'static str {
    match ty {
        ArrayType::Uuid => "'00000000-0000-0000-0000-000000000000'::uuid",
        ArrayType::String => "''::text",
        ArrayType::Int => "'-2147483648'::integer",
        ArrayType::BigInt => "'-9223372036854775808'::bigint",
        ArrayType::Bool => "false",
        _ => "'\\x'::bytea",
    }
}
