//! Set-at-a-time reads and writes for storing many webhook bodies in one transaction: lookups
//! for every id a group of bodies names in one query each, and rows inserted or updated many per
//! statement. Every statement is filtered by the transaction's tenant, like the rest of the store.
use entity::{contacts, message_status_events, messages};

use crate::store::messages::TERMINAL_STATUS_RANK;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryResult,
    Statement, Value,
    sea_query::{ArrayType, OnConflict},
};
use uuid::Uuid;

use crate::store::conversations::CONVERSATION_OPEN;
use crate::store::{StoreError, StoreResult, TenantTx};

/// Rows per multi-row statement: far below either backend's limit on bound values.
const CHUNK: usize = 200;

/// A status already recorded for a wamid.
#[derive(Clone, Debug)]
pub struct KnownStatus {
    pub wamid_bidx: Vec<u8>,
    pub status: String,
    /// `None` while its message is not stored (a pending status).
    pub message_id: Option<Uuid>,
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
            let keyed = b.any(
                "wamid_bidx",
                ArrayType::Bytes,
                chunk.iter().cloned().map(Value::from),
            );
            let sql = format!(
                "SELECT 0 AS kind, id, wamid_bidx, CAST(NULL AS TEXT) AS status, \
                 CAST(NULL AS {uuid}) AS message_id FROM messages \
                 WHERE tenant_id = {tenant} AND {keyed} \
                 UNION ALL SELECT 1 AS kind, id, wamid_bidx, status, message_id \
                 FROM message_status_events WHERE tenant_id = {tenant} AND {keyed}",
                uuid = b.uuid_type(),
            );
            for row in b.query(self, sql).await? {
                let kind: i32 = row.try_get("", "kind")?;
                let wamid_bidx: Vec<u8> = row.try_get("", "wamid_bidx")?;
                if kind == 0 {
                    messages.push((row.try_get("", "id")?, wamid_bidx));
                } else {
                    statuses.push(KnownStatus {
                        wamid_bidx,
                        status: row.try_get("", "status")?,
                        message_id: row.try_get("", "message_id")?,
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
        // statement text whatever the group holds.
        let phone_in = b.any(
            "contacts.wa_id_bidx",
            ArrayType::Bytes,
            phone.iter().cloned().map(Value::from),
        );
        let user_in = b.any(
            "contacts.user_id_bidx",
            ArrayType::Bytes,
            user.iter().cloned().map(Value::from),
        );
        let sql = format!(
            "SELECT contacts.*, conversations.id AS cv_id, \
             conversations.phone_number_id AS cv_number, conversations.assignee_id AS cv_assignee \
             FROM contacts LEFT JOIN conversations ON conversations.tenant_id = contacts.tenant_id \
             AND conversations.contact_id = contacts.id \
             WHERE contacts.tenant_id = {tenant} AND ({phone_in} OR {user_in})"
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

    /// Inserts messages that were checked not to exist. A row that exists after all (a
    /// concurrent delivery won) is a `Conflict`: the caller stores its bodies again.
    pub async fn insert_messages(&self, rows: Vec<messages::ActiveModel>) -> StoreResult<()> {
        self.insert_new(rows, "message stored concurrently").await
    }

    /// Inserts status events that were checked not to exist; see [`Self::insert_messages`].
    pub async fn insert_status_events(
        &self,
        rows: Vec<message_status_events::ActiveModel>,
    ) -> StoreResult<()> {
        self.insert_new(rows, "status stored concurrently").await
    }

    async fn insert_new<A>(&self, rows: Vec<A>, conflict: &str) -> StoreResult<()>
    where
        A: ActiveModelTrait + Send,
    {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
            let n = chunk.len() as u64;
            let inserted = <A::Entity as EntityTrait>::insert_many(chunk)
                .on_conflict(OnConflict::new().do_nothing().to_owned())
                .exec_without_returning(self.conn())
                .await?;
            if inserted != n {
                return Err(StoreError::Conflict(conflict.into()));
            }
        }
        Ok(())
    }

    /// Reopens each conversation and moves its `last_message_at` forward to the time given
    /// (never back), and records when each contact last wrote (only forward): one statement on
    /// PostgreSQL, one per table on SQLite.
    pub async fn note_activity(
        &self,
        threads: &[(Uuid, i64)],
        contacts: &[(Uuid, i64)],
        now: i64,
    ) -> StoreResult<()> {
        let backend = self.conn().get_database_backend();
        if backend == DbBackend::Postgres && !threads.is_empty() && !contacts.is_empty() {
            let mut b = SqlBuilder::new(backend);
            let touch = b.touch_conversations(self.tenant_id(), threads, now);
            let seen = b.contacts_inbound(self.tenant_id(), contacts);
            return b
                .execute(
                    self,
                    format!("WITH touched AS ({touch} RETURNING 1) {seen}"),
                )
                .await;
        }
        for chunk in threads.chunks(self.list_chunk()) {
            let mut b = SqlBuilder::new(backend);
            let sql = b.touch_conversations(self.tenant_id(), chunk, now);
            b.execute(self, sql).await?;
        }
        for chunk in contacts.chunks(self.list_chunk()) {
            let mut b = SqlBuilder::new(backend);
            let sql = b.contacts_inbound(self.tenant_id(), chunk);
            b.execute(self, sql).await?;
        }
        Ok(())
    }

    /// Applies status changes, at most one per message, in one statement per chunk; each only
    /// if it is progress (a higher rank than the stored one, which is not final). Returns how
    /// many messages changed.
    pub async fn apply_status_changes(
        &self,
        changes: &[StatusChange],
        now: i64,
    ) -> StoreResult<u64> {
        let mut applied = 0;
        for chunk in changes.chunks(self.list_chunk()) {
            let mut b = SqlBuilder::new(self.conn().get_database_backend());
            let tenant = b.bind(self.tenant_id().into(), "uuid");
            let updated = b.bind(now.into(), "bigint");
            let terminal = b.bind(TERMINAL_STATUS_RANK.into(), "integer");
            // No error is an empty value, read back as NULL: array elements are never NULL.
            let no_error = b.bind(Vec::<u8>::new().into(), "bytea");
            let rows = b.rows(vec![
                (
                    ArrayType::Uuid,
                    chunk.iter().map(|c| c.message_id.into()).collect(),
                ),
                (
                    ArrayType::String,
                    chunk.iter().map(|c| c.status.clone().into()).collect(),
                ),
                (
                    ArrayType::Int,
                    chunk.iter().map(|c| c.rank.into()).collect(),
                ),
                (
                    ArrayType::Bytes,
                    chunk
                        .iter()
                        .map(|c| c.error_enc.clone().unwrap_or_default().into())
                        .collect(),
                ),
            ]);
            let sql = format!(
                "UPDATE messages SET status = v.column2, status_rank = v.column3, \
                 error_enc = COALESCE(NULLIF(v.column4, {no_error}), messages.error_enc), \
                 updated_at = {updated} FROM {rows} WHERE messages.tenant_id = {tenant} \
                 AND messages.id = v.column1 AND messages.status_rank < v.column3 \
                 AND messages.status_rank < {terminal}"
            );
            applied += b.execute_counted(self, sql).await?;
        }
        Ok(applied)
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
struct SqlBuilder {
    backend: DbBackend,
    values: Vec<Value>,
}

impl SqlBuilder {
    fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    /// The placeholder for `value`; on PostgreSQL cast to `pg_type`, so a `VALUES` list is typed.
    fn bind(&mut self, value: Value, pg_type: &str) -> String {
        self.values.push(value);
        match self.backend {
            DbBackend::Postgres => format!("${}::{pg_type}", self.values.len()),
            _ => format!("?{}", self.values.len()),
        }
    }

    /// `column = ANY($n::type[])` on PostgreSQL: one array parameter, so one statement text
    /// (prepared and planned once per connection) whatever the number of items. On SQLite
    /// `column IN (?n, ...)`, or false when there are no items.
    fn any(&mut self, column: &str, ty: ArrayType, items: impl Iterator<Item = Value>) -> String {
        if self.backend == DbBackend::Postgres {
            let array = self.array(ty, items.collect());
            return format!("{column} = ANY({array})");
        }
        let list: Vec<String> = items.map(|v| self.bind(v, "")).collect();
        if list.is_empty() {
            return "1 = 0".into();
        }
        format!("{column} IN ({})", list.join(", "))
    }

    fn array(&mut self, ty: ArrayType, items: Vec<Value>) -> String {
        let pg_type = match ty {
            ArrayType::Uuid => "uuid",
            ArrayType::String => "text",
            ArrayType::Int => "integer",
            ArrayType::BigInt => "bigint",
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

    fn uuid_type(&self) -> &'static str {
        match self.backend {
            DbBackend::Postgres => "uuid",
            _ => "BLOB",
        }
    }

    fn touch_conversations(&mut self, tenant: Uuid, rows: &[(Uuid, i64)], now: i64) -> String {
        let status = self.bind(CONVERSATION_OPEN.into(), "text");
        let updated = self.bind(now.into(), "bigint");
        let tenant = self.bind(tenant.into(), "uuid");
        let rows = self.id_times(rows);
        let greatest = self.greatest();
        format!(
            "UPDATE conversations SET status = {status}, \
             last_message_at = {greatest}(conversations.last_message_at, v.column2), \
             updated_at = {updated} FROM {rows} \
             WHERE conversations.tenant_id = {tenant} AND conversations.id = v.column1"
        )
    }

    fn contacts_inbound(&mut self, tenant: Uuid, rows: &[(Uuid, i64)]) -> String {
        let tenant = self.bind(tenant.into(), "uuid");
        let rows = self.id_times(rows);
        format!(
            "UPDATE contacts SET last_inbound_at = v.column2 FROM {rows} \
             WHERE contacts.tenant_id = {tenant} AND contacts.id = v.column1 \
             AND (contacts.last_inbound_at IS NULL OR contacts.last_inbound_at < v.column2)"
        )
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

    async fn execute(self, tx: &TenantTx, sql: String) -> StoreResult<()> {
        self.execute_counted(tx, sql).await.map(|_| ())
    }

    async fn execute_counted(self, tx: &TenantTx, sql: String) -> StoreResult<u64> {
        let res = tx
            .conn()
            .execute_raw(Statement::from_sql_and_values(
                self.backend,
                sql,
                self.values,
            ))
            .await?;
        Ok(res.rows_affected())
    }

    async fn query(self, tx: &TenantTx, sql: String) -> StoreResult<Vec<QueryResult>> {
        Ok(tx
            .conn()
            .query_all_raw(Statement::from_sql_and_values(
                self.backend,
                sql,
                self.values,
            ))
            .await?)
    }
}
