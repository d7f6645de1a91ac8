//! `messages` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub contact_id: Uuid,
    pub direction: String,
    pub msg_type: String,
    #[sea_orm(column_type = "VarBinary(StringLen::None)")]
    pub wamid_enc: Option<Vec<u8>>,
    #[sea_orm(column_type = "VarBinary(StringLen::None)")]
    pub wamid_bidx: Option<Vec<u8>>,
    #[sea_orm(column_type = "VarBinary(StringLen::None)")]
    pub content_enc: Vec<u8>,
    pub status: Option<String>,
    pub status_rank: i32,
    #[sea_orm(column_type = "VarBinary(StringLen::None)")]
    pub error_enc: Option<Vec<u8>>,
    pub sent_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
