//! Set-at-a-time reads and writes for storing many webhook bodies in one transaction: lookups
//! for every id a group of bodies names in one query each, and rows inserted or updated many per
//! statement. Every statement is filtered by the transaction's tenant, like the rest of the store.
use entity::{contacts, message_status_events, messages};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Statement, Value, sea_query::OnConflict,
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

impl TenantTx {
    /// (id, wamid index) of the messages stored under any of `bidx`.
    pub async fn message_ids_by_bidx(&self, bidx: &[Vec<u8>]) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        let mut out = Vec::new();
        for chunk in bidx.chunks(CHUNK) {
            let rows: Vec<(Uuid, Option<Vec<u8>>)> = messages::Entity::find()
                .select_only()
                .column(messages::Column::Id)
                .column(messages::Column::WamidBidx)
                .filter(messages::Column::TenantId.eq(self.tenant_id()))
                .filter(messages::Column::WamidBidx.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(self.conn())
                .await?;
            out.extend(rows.into_iter().filter_map(|(id, b)| Some((id, b?))));
        }
        Ok(out)
    }

    /// Statuses recorded under any of `bidx`.
    pub async fn statuses_by_bidx(&self, bidx: &[Vec<u8>]) -> StoreResult<Vec<KnownStatus>> {
        let mut out = Vec::new();
        for chunk in bidx.chunks(CHUNK) {
            let rows: Vec<(Vec<u8>, String, Option<Uuid>)> = message_status_events::Entity::find()
                .select_only()
                .column(message_status_events::Column::WamidBidx)
                .column(message_status_events::Column::Status)
                .column(message_status_events::Column::MessageId)
                .filter(message_status_events::Column::TenantId.eq(self.tenant_id()))
                .filter(message_status_events::Column::WamidBidx.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(self.conn())
                .await?;
            out.extend(
                rows.into_iter()
                    .map(|(wamid_bidx, status, message_id)| KnownStatus {
                        wamid_bidx,
                        status,
                        message_id,
                    }),
            );
        }
        Ok(out)
    }

    /// Contacts found under any of the phone or user-id indexes given.
    pub async fn contacts_by_bidx(
        &self,
        phone: &[Vec<u8>],
        user: &[Vec<u8>],
    ) -> StoreResult<Vec<contacts::Model>> {
        let mut any = Condition::any();
        if !phone.is_empty() {
            any = any.add(contacts::Column::WaIdBidx.is_in(phone.iter().cloned()));
        }
        if !user.is_empty() {
            any = any.add(contacts::Column::UserIdBidx.is_in(user.iter().cloned()));
        }
        if phone.is_empty() && user.is_empty() {
            return Ok(Vec::new());
        }
        Ok(contacts::Entity::find()
            .filter(contacts::Column::TenantId.eq(self.tenant_id()))
            .filter(any)
            .all(self.conn())
            .await?)
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
    /// (never back), all in one statement per chunk.
    pub async fn touch_conversations(&self, rows: &[(Uuid, i64)], now: i64) -> StoreResult<()> {
        for chunk in rows.chunks(CHUNK) {
            let mut b = SqlBuilder::new(self.conn().get_database_backend());
            let status = b.bind(CONVERSATION_OPEN.into(), "text");
            let updated = b.bind(now.into(), "bigint");
            let tenant = b.bind(self.tenant_id().into(), "uuid");
            let values = b.values(chunk);
            let greatest = b.greatest();
            let sql = format!(
                "UPDATE conversations SET status = {status}, \
                 last_message_at = {greatest}(conversations.last_message_at, v.column2), \
                 updated_at = {updated} FROM (VALUES {values}) AS v \
                 WHERE conversations.tenant_id = {tenant} AND conversations.id = v.column1"
            );
            b.execute(self, sql).await?;
        }
        Ok(())
    }

    /// Records that each contact wrote at the time given (only moves forward).
    pub async fn note_contacts_inbound(&self, rows: &[(Uuid, i64)]) -> StoreResult<()> {
        for chunk in rows.chunks(CHUNK) {
            let mut b = SqlBuilder::new(self.conn().get_database_backend());
            let tenant = b.bind(self.tenant_id().into(), "uuid");
            let values = b.values(chunk);
            let sql = format!(
                "UPDATE contacts SET last_inbound_at = v.column2 FROM (VALUES {values}) AS v \
                 WHERE contacts.tenant_id = {tenant} AND contacts.id = v.column1 \
                 AND (contacts.last_inbound_at IS NULL OR contacts.last_inbound_at < v.column2)"
            );
            b.execute(self, sql).await?;
        }
        Ok(())
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

    /// `(id, time), ...` for a `VALUES` list.
    fn values(&mut self, rows: &[(Uuid, i64)]) -> String {
        let mut out = Vec::with_capacity(rows.len());
        for (id, at) in rows {
            let id = self.bind((*id).into(), "uuid");
            let at = self.bind((*at).into(), "bigint");
            out.push(format!("({id}, {at})"));
        }
        out.join(", ")
    }

    fn greatest(&self) -> &'static str {
        match self.backend {
            DbBackend::Postgres => "GREATEST",
            _ => "MAX",
        }
    }

    async fn execute(self, tx: &TenantTx, sql: String) -> StoreResult<()> {
        tx.conn()
            .execute_raw(Statement::from_sql_and_values(
                self.backend,
                sql,
                self.values,
            ))
            .await?;
        Ok(())
    }
}
