//! `deletion_requests`: a tenant's scheduled wipe, its cancellation, and the signed certificate
//! of its execution. Platform data (kept through the wipe), written in the caller's transaction.
use entity::{deletion_requests, tenants};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::store::{StoreError, StoreResult};

pub const DELETION_SCHEDULED: &str = "scheduled";
pub const DELETION_CANCELLED: &str = "cancelled";
pub const DELETION_EXECUTED: &str = "executed";

pub struct NewDeletionRequest<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub reason: &'a str,
    pub requested_by: Uuid,
    pub requested_by_kind: &'a str,
    pub requested_at: i64,
    pub scheduled_for: i64,
}

/// Who ran a wipe: a staff member, or the background job (no id).
pub struct Executor<'a> {
    pub id: Option<Uuid>,
    pub kind: &'a str,
}

/// Reads the tenant row and, on PostgreSQL, locks it until the transaction ends, so requests,
/// cancellations and wipes of one tenant are serialised. (SQLite transactions here take the
/// database write lock up front.)
pub async fn lock_tenant<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
) -> StoreResult<tenants::Model> {
    tenants::Entity::find_by_id(tenant_id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The newest request of a tenant (any status); `lock` holds it until the transaction ends.
pub async fn latest_request<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    lock: bool,
) -> StoreResult<Option<deletion_requests::Model>> {
    let mut q = deletion_requests::Entity::find()
        .filter(deletion_requests::Column::TenantId.eq(tenant_id))
        .order_by_desc(deletion_requests::Column::RequestedAt)
        .order_by_desc(deletion_requests::Column::Id)
        .limit(1);
    if lock {
        q = q.lock_exclusive();
    }
    Ok(q.one(conn).await?)
}

pub async fn insert_request<C: ConnectionTrait>(
    conn: &C,
    r: NewDeletionRequest<'_>,
) -> StoreResult<()> {
    deletion_requests::Entity::insert(deletion_requests::ActiveModel {
        tenant_id: Set(r.tenant_id),
        id: Set(r.id),
        status: Set(DELETION_SCHEDULED.into()),
        reason: Set(r.reason.to_owned()),
        requested_by: Set(r.requested_by),
        requested_by_kind: Set(r.requested_by_kind.to_owned()),
        requested_at: Set(r.requested_at),
        scheduled_for: Set(r.scheduled_for),
        cancelled_at: Set(None),
        cancelled_by: Set(None),
        executed_at: Set(None),
        executed_by: Set(None),
        executed_by_kind: Set(None),
        certificate: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Moves a scheduled request to cancelled; false if it was no longer scheduled.
pub async fn cancel_request<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
    by: Option<Uuid>,
    now: i64,
) -> StoreResult<bool> {
    let res = deletion_requests::Entity::update_many()
        .col_expr(
            deletion_requests::Column::Status,
            Expr::value(DELETION_CANCELLED),
        )
        .col_expr(deletion_requests::Column::CancelledAt, Expr::value(now))
        .col_expr(deletion_requests::Column::CancelledBy, Expr::value(by))
        .filter(deletion_requests::Column::TenantId.eq(tenant_id))
        .filter(deletion_requests::Column::Id.eq(id))
        .filter(deletion_requests::Column::Status.eq(DELETION_SCHEDULED))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records the execution and its certificate; false if the request was no longer scheduled.
pub async fn mark_executed<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
    now: i64,
    by: &Executor<'_>,
    certificate: &str,
) -> StoreResult<bool> {
    let res = deletion_requests::Entity::update_many()
        .col_expr(
            deletion_requests::Column::Status,
            Expr::value(DELETION_EXECUTED),
        )
        .col_expr(deletion_requests::Column::ExecutedAt, Expr::value(now))
        .col_expr(deletion_requests::Column::ExecutedBy, Expr::value(by.id))
        .col_expr(
            deletion_requests::Column::ExecutedByKind,
            Expr::value(by.kind),
        )
        .col_expr(
            deletion_requests::Column::Certificate,
            Expr::value(certificate),
        )
        .filter(deletion_requests::Column::TenantId.eq(tenant_id))
        .filter(deletion_requests::Column::Id.eq(id))
        .filter(deletion_requests::Column::Status.eq(DELETION_SCHEDULED))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Scheduled requests whose time has come, oldest first.
pub async fn due_requests<C: ConnectionTrait>(
    conn: &C,
    now: i64,
    limit: u64,
) -> StoreResult<Vec<deletion_requests::Model>> {
    Ok(deletion_requests::Entity::find()
        .filter(deletion_requests::Column::Status.eq(DELETION_SCHEDULED))
        .filter(deletion_requests::Column::ScheduledFor.lte(now))
        .order_by_asc(deletion_requests::Column::ScheduledFor)
        .limit(limit)
        .all(conn)
        .await?)
}
