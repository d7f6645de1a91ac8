//! `deletion_requests` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deletion_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub status: String,
    pub reason: String,
    pub requested_by: Uuid,
    pub requested_by_kind: String,
    pub requested_at: i64,
    pub scheduled_for: i64,
    pub cancelled_at: Option<i64>,
    pub cancelled_by: Option<Uuid>,
    pub executed_at: Option<i64>,
    pub executed_by: Option<Uuid>,
    pub executed_by_kind: Option<String>,
    pub certificate: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
