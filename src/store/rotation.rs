//! Generic access to sealed columns for tenant key rotation: read a batch of rows with their
//! sealed values, write back re-encrypted values and recomputed blind indexes.
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, QueryResult};
use uuid::Uuid;

use crate::store::{StoreResult, TenantTx};

/// One row of a batch: its id and the sealed values in the order the columns were asked for.
pub struct SealedRow {
    pub id: Uuid,
    pub values: Vec<Option<Vec<u8>>>,
}

fn read_row(r: &QueryResult, cols: &[&str]) -> StoreResult<SealedRow> {
    let id: Uuid = r.try_get("", "id")?;
    let mut values = Vec::with_capacity(cols.len());
    for c in cols {
        values.push(r.try_get::<Option<Vec<u8>>>("", c)?);
    }
    Ok(SealedRow { id, values })
}

impl TenantTx {
    /// Rows of `table` ordered by id after `after`. Table and column names come from the
    /// schema constants, never from input.
    pub async fn sealed_batch(
        &self,
        table: &str,
        cols: &[&str],
        after: Option<Uuid>,
        limit: u64,
    ) -> StoreResult<Vec<SealedRow>> {
        let mut q = Query::select();
        q.from(Alias::new(table))
            .column(Alias::new("id"))
            .and_where(Expr::col(Alias::new("tenant_id")).eq(self.tenant_id()))
            .order_by(Alias::new("id"), sea_orm::sea_query::Order::Asc)
            .limit(limit);
        for c in cols {
            q.column(Alias::new(*c));
        }
        if let Some(a) = after {
            q.and_where(Expr::col(Alias::new("id")).gt(a));
        }
        let rows = self.conn().query_all(&q).await?;
        rows.iter().map(|r| read_row(r, cols)).collect()
    }

    /// Writes new values for some columns of one row.
    pub async fn update_sealed(
        &self,
        table: &str,
        id: Uuid,
        updates: &[(&str, Vec<u8>)],
    ) -> StoreResult<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut q = Query::update();
        q.table(Alias::new(table))
            .and_where(Expr::col(Alias::new("tenant_id")).eq(self.tenant_id()))
            .and_where(Expr::col(Alias::new("id")).eq(id));
        for (col, value) in updates {
            q.value(Alias::new(*col), value.clone());
        }
        self.conn().execute(&q).await?;
        Ok(())
    }
}
