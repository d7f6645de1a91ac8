//! `/v1/tenants/{id}/billing-records`: invoices operators record per tenant. They are platform
//! records, kept through the tenant's wipe until their `retain_until`.
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Months, Utc};
use entity::billing_records;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::page::{PageQuery, split_page};
use crate::auth::extract::{Authorized, perm};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::audit::append_platform;
use crate::store::{StoreError, billing, new_id};

#[derive(Deserialize, ToSchema)]
pub struct NewBillingRecord {
    /// Unique per tenant, 1 to 64 characters.
    pub invoice_number: String,
    /// Amount in the currency's minor unit (paise, cents), not negative.
    pub amount_minor: i64,
    /// ISO 4217 code: three upper-case letters.
    pub currency: String,
    /// RFC 3339.
    pub issued_at: String,
    /// Indian GST identification number (15 characters), when the invoice carries one.
    pub gstin: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BillingRecordView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub invoice_number: String,
    pub amount_minor: i64,
    pub currency: String,
    pub issued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gstin: Option<String>,
    /// Kept until this time, then purged by the retention job.
    pub retain_until: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct BillingRecordList {
    pub items: Vec<BillingRecordView>,
    pub next_cursor: Option<String>,
}

fn view(r: billing_records::Model) -> BillingRecordView {
    BillingRecordView {
        id: r.id,
        tenant_id: r.tenant_id,
        invoice_number: r.invoice_number,
        amount_minor: r.amount_minor,
        currency: r.currency,
        issued_at: rfc3339(r.issued_at),
        gstin: r.gstin,
        retain_until: rfc3339(r.retain_until),
        created_at: rfc3339(r.created_at),
    }
}

fn invalid(code: &'static str, detail: &str) -> ApiError {
    ApiError::unprocessable(code, detail)
}

/// GSTIN layout: state code (2 digits), PAN (5 letters, 4 digits, 1 letter), entity number
/// (1-9 or A-Z), the letter Z, and a check character.
pub fn valid_gstin(g: &str) -> bool {
    let b = g.as_bytes();
    let kind = |range: std::ops::Range<usize>, ok: fn(&u8) -> bool| {
        b.get(range).is_some_and(|s| s.iter().all(ok))
    };
    b.len() == 15
        && kind(0..2, u8::is_ascii_digit)
        && kind(2..7, u8::is_ascii_uppercase)
        && kind(7..11, u8::is_ascii_digit)
        && kind(11..12, u8::is_ascii_uppercase)
        && kind(12..13, |c| {
            c.is_ascii_uppercase() || (b'1'..=b'9').contains(c)
        })
        && b.get(13) == Some(&b'Z')
        && kind(14..15, |c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The later of `years` and `legal_years` after `issued`.
fn retain_until(issued: DateTime<Utc>, years: u32, legal_years: u32) -> Option<i64> {
    let after = |y: u32| issued.checked_add_months(Months::new(y.checked_mul(12)?));
    Some(after(years)?.max(after(legal_years)?).timestamp_millis())
}

fn parse(
    state: &AppState,
    tenant_id: Uuid,
    b: NewBillingRecord,
) -> ApiResult<billing_records::Model> {
    let invoice_number = b.invoice_number.trim().to_owned();
    if invoice_number.is_empty()
        || invoice_number.chars().count() > 64
        || invoice_number.chars().any(char::is_control)
    {
        return Err(invalid(
            "invalid_invoice_number",
            "invoice_number must be 1 to 64 printable characters",
        ));
    }
    if b.amount_minor < 0 {
        return Err(invalid(
            "invalid_amount",
            "amount_minor must not be negative",
        ));
    }
    if b.currency.len() != 3 || !b.currency.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err(invalid(
            "invalid_currency",
            "currency must be three upper-case letters (ISO 4217)",
        ));
    }
    let issued = DateTime::parse_from_rfc3339(b.issued_at.trim())
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| invalid("invalid_issued_at", "issued_at must be an RFC 3339 time"))?;
    let gstin = match b.gstin.as_deref().map(|g| g.trim().to_ascii_uppercase()) {
        None => None,
        Some(g) if g.is_empty() => None,
        Some(g) if valid_gstin(&g) => Some(g),
        Some(_) => {
            return Err(invalid(
                "invalid_gstin",
                "gstin must be a 15-character GST identification number",
            ));
        }
    };
    let r = &state.settings.retention;
    let retain_until = retain_until(issued, r.billing_retention_years, r.legal_term_years)
        .ok_or_else(|| invalid("invalid_issued_at", "issued_at is out of range"))?;
    Ok(billing_records::Model {
        tenant_id,
        id: new_id(),
        invoice_number,
        amount_minor: b.amount_minor,
        currency: b.currency,
        issued_at: issued.timestamp_millis(),
        gstin,
        retain_until,
        created_at: state.clock.now_ms(),
    })
}

#[utoipa::path(post, path = "/v1/tenants/{id}/billing-records", tag = "platform", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tenant id")), request_body = NewBillingRecord,
    responses(
        (status = 201, body = BillingRecordView),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no such tenant", body = crate::error::ErrorBody),
        (status = 409, description = "duplicate_invoice", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_invoice_number, invalid_amount, invalid_currency, invalid_issued_at, invalid_gstin", body = crate::error::ErrorBody)))]
#[post("/v1/tenants/{id}/billing-records")]
pub async fn create_billing_record(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageBillingRecords>,
    path: web::Path<Uuid>,
    body: web::Json<NewBillingRecord>,
) -> ApiResult<HttpResponse> {
    let tenant_id = path.into_inner();
    state.db.tenant_by_id(tenant_id).await?;
    let record = parse(&state, tenant_id, body.into_inner())?;
    let txn = state.db.begin().await?;
    billing::insert_record(&txn, record.clone())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(d) => ApiError::conflict("duplicate_invoice", d),
            other => other.into(),
        })?;
    let rec = auth.actor().record(
        "billing_record.create",
        "billing_record",
        record.id,
        json!({"invoice_number": record.invoice_number, "retain_until": rfc3339(record.retain_until)}),
    );
    append_platform(&txn, Some(tenant_id), &rec, record.created_at).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(HttpResponse::Created().json(view(record)))
}

#[utoipa::path(get, path = "/v1/tenants/{id}/billing-records", tag = "platform", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tenant id"), PageQuery),
    responses(
        (status = 200, body = BillingRecordList),
        (status = 400, description = "invalid_limit or invalid_cursor", body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no such tenant", body = crate::error::ErrorBody)))]
#[get("/v1/tenants/{id}/billing-records")]
pub async fn list_billing_records(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ReadBillingRecords>,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let tenant_id = path.into_inner();
    state.db.tenant_by_id(tenant_id).await?;
    let limit = query.limit()?;
    let after = query.cursor::<Uuid>()?;
    let rows = state
        .db
        .billing_records_page(tenant_id, after, limit + 1)
        .await?;
    let (rows, next_cursor) = split_page(rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(BillingRecordList {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_billing_record)
        .service(list_billing_records);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gstin_layout() {
        for ok in ["27AAPFU0939F1ZV", "29AAGCB7383J1Z4", "07AAACI1681GZZK"] {
            assert!(valid_gstin(ok), "{ok}");
        }
        for bad in [
            "27AAPFU0939F1Z",
            "27AAPFU0939F1ZVX",
            "27aapfu0939f1zv",
            "2AAAPFU0939F1ZV",
            "27AAPF00939F1ZV",
            "27AAPFU0939F0ZV",
            "27AAPFU0939F1YV",
            "27AAPFU0939F1Z-",
            "",
        ] {
            assert!(!valid_gstin(bad), "{bad}");
        }
    }

    #[test]
    fn retention_is_the_later_term_and_clamps_leap_days() {
        let issued = DateTime::parse_from_rfc3339("2028-02-29T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let until = retain_until(issued, 7, 8).unwrap();
        assert_eq!(rfc3339(until), "2036-02-29T10:00:00.000Z");
        let until = retain_until(issued, 7, 1).unwrap();
        assert_eq!(rfc3339(until), "2035-02-28T10:00:00.000Z");
    }
}
