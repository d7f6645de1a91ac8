//! `message_status_events` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "message_status_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "VarBinary(StringLen::None)")]
    pub wamid_bidx: Vec<u8>,
    pub message_id: Option<Uuid>,
    pub status: String,
    pub status_rank: i32,
    #[sea_orm(column_type = "VarBinary(StringLen::None)")]
    pub detail_enc: Option<Vec<u8>>,
    pub occurred_at: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
