//! `phone_numbers` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "phone_numbers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub phone_number_id: String,
    pub tenant_id: Uuid,
    pub display_phone_number: String,
    pub waba_id: String,
    #[sea_orm(column_type = "VarBinary(StringLen::None)")]
    pub access_token_enc: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
