//! A tenant's business numbers in the `phone_numbers` routing table, written inside the tenant's
//! own transaction so a registration and its audit event commit or fail together.
use entity::phone_numbers;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use secrecy::SecretString;
use uuid::Uuid;

use crate::crypto::TenantKeys;
use crate::store::sealed::{col, number_row_id, place};
use crate::store::{Db, StoreError, StoreResult, TenantTx};

/// A number to register, with its Graph API token in the clear (sealed here).
#[derive(Clone, Copy, Debug)]
pub struct NumberRegistration<'a> {
    pub phone_number_id: &'a str,
    pub display_phone_number: &'a str,
    pub waba_id: &'a str,
    pub access_token: &'a str,
}

/// Where the sealed token of a number lives.
fn token_place(phone_number_id: &str) -> crate::crypto::Place<'static> {
    place(
        col::NUMBERS,
        "access_token_enc",
        number_row_id(phone_number_id),
    )
}

impl TenantTx {
    /// Registers a number to this tenant or updates it; `Ok((row, true))` when it is new. A
    /// number routed to another tenant is a conflict, and that tenant's row is not touched.
    pub async fn upsert_number(
        &self,
        keys: &TenantKeys,
        reg: NumberRegistration<'_>,
        now: i64,
    ) -> StoreResult<(phone_numbers::Model, bool)> {
        crate::store::platform::routing_changed();
        let sealed = keys.seal_str(&token_place(reg.phone_number_id), reg.access_token)?;
        let existing = phone_numbers::Entity::find_by_id(reg.phone_number_id.to_owned())
            .one(self.conn())
            .await?;
        let created = match existing {
            Some(row) if row.tenant_id != self.tenant_id() => {
                return Err(StoreError::Conflict(
                    "number is registered to another account".into(),
                ));
            }
            Some(_) => {
                phone_numbers::Entity::update_many()
                    .col_expr(
                        phone_numbers::Column::DisplayPhoneNumber,
                        Expr::value(reg.display_phone_number),
                    )
                    .col_expr(phone_numbers::Column::WabaId, Expr::value(reg.waba_id))
                    .col_expr(phone_numbers::Column::AccessTokenEnc, Expr::value(sealed))
                    .col_expr(phone_numbers::Column::UpdatedAt, Expr::value(now))
                    .filter(phone_numbers::Column::PhoneNumberId.eq(reg.phone_number_id))
                    .filter(phone_numbers::Column::TenantId.eq(self.tenant_id()))
                    .exec(self.conn())
                    .await?;
                false
            }
            None => {
                // A concurrent registration of the same id by another tenant fails on the
                // primary key and surfaces as a conflict.
                phone_numbers::Entity::insert(phone_numbers::ActiveModel {
                    phone_number_id: Set(reg.phone_number_id.to_owned()),
                    tenant_id: Set(self.tenant_id()),
                    display_phone_number: Set(reg.display_phone_number.to_owned()),
                    waba_id: Set(reg.waba_id.to_owned()),
                    access_token_enc: Set(sealed),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .exec_without_returning(self.conn())
                .await?;
                true
            }
        };
        let row = self
            .number(reg.phone_number_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row, created))
    }

    /// One of this tenant's numbers.
    pub async fn number(&self, phone_number_id: &str) -> StoreResult<Option<phone_numbers::Model>> {
        Ok(phone_numbers::Entity::find()
            .filter(phone_numbers::Column::PhoneNumberId.eq(phone_number_id))
            .filter(phone_numbers::Column::TenantId.eq(self.tenant_id()))
            .one(self.conn())
            .await?)
    }

    /// This tenant's numbers ordered by id, after `after`.
    pub async fn numbers_page(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> StoreResult<Vec<phone_numbers::Model>> {
        let mut q = phone_numbers::Entity::find()
            .filter(phone_numbers::Column::TenantId.eq(self.tenant_id()))
            .order_by_asc(phone_numbers::Column::PhoneNumberId)
            .limit(limit);
        if let Some(a) = after {
            q = q.filter(phone_numbers::Column::PhoneNumberId.gt(a));
        }
        Ok(q.all(self.conn()).await?)
    }

    /// The Graph API access token of one of this tenant's numbers; `None` when the number is not
    /// this tenant's.
    pub async fn number_access_token(
        &self,
        keys: &TenantKeys,
        phone_number_id: &str,
    ) -> StoreResult<Option<SecretString>> {
        let Some(row) = self.number(phone_number_id).await? else {
            return Ok(None);
        };
        let token = keys.open_string(&token_place(phone_number_id), &row.access_token_enc)?;
        Ok(Some(SecretString::from(token)))
    }
}

impl Db {
    /// Tenants owning a number of WhatsApp Business Account `waba_id`: routes changes that carry
    /// an account id but no phone number id (templates, account updates).
    pub async fn tenants_of_waba(&self, waba_id: &str) -> StoreResult<Vec<Uuid>> {
        Ok(phone_numbers::Entity::find()
            .select_only()
            .column(phone_numbers::Column::TenantId)
            .distinct()
            .filter(phone_numbers::Column::WabaId.eq(waba_id))
            .into_tuple()
            .all(self.conn())
            .await?)
    }
}
