//! `/v1/whatsapp/numbers`: a tenant registers its business numbers, so that webhooks for them
//! route to it. The Graph API token is sealed on the way in and never shown again.
use actix_web::{HttpResponse, get, put, web};
use entity::phone_numbers;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::api::page::{CursorKey, PageQuery, split_page};
use crate::auth::extract::{Authorized, perm};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::numbers::NumberRegistration;

#[derive(Deserialize, ToSchema)]
pub struct RegisterNumberRequest {
    /// The number as Meta displays it, e.g. `15550783881`.
    pub display_phone_number: String,
    /// WhatsApp Business Account id the number belongs to.
    pub waba_id: String,
    /// Graph API access token used to send from this number; stored encrypted, never returned.
    pub access_token: String,
}

/// A registered number; the access token is never part of it.
#[derive(Serialize, ToSchema)]
pub struct NumberView {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub waba_id: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<phone_numbers::Model> for NumberView {
    fn from(n: phone_numbers::Model) -> Self {
        Self {
            phone_number_id: n.phone_number_id,
            display_phone_number: n.display_phone_number,
            waba_id: n.waba_id,
            created_at: rfc3339(n.created_at),
            updated_at: rfc3339(n.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NumberList {
    pub items: Vec<NumberView>,
    pub next_cursor: Option<String>,
}

/// Numbers are listed in id order; the cursor carries the last id.
struct NumberKey(String);

impl CursorKey for NumberKey {
    fn to_bytes(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok().map(Self)
    }
}

/// An identifier Meta issues: printable, no spaces, bounded.
fn valid_id(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_graphic() && c != '/')
}

fn invalid(field: &str, rule: &str) -> ApiError {
    ApiError::unprocessable("invalid_request", format!("{field} {rule}"))
}

#[utoipa::path(put, path = "/v1/whatsapp/numbers/{phone_number_id}", tag = "administration",
    security(("bearer" = [])),
    params(("phone_number_id" = String, Path, description = "Meta's id of the business number")),
    request_body = RegisterNumberRequest,
    responses(
        (status = 200, description = "updated", body = NumberView),
        (status = 201, description = "registered", body = NumberView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "not an owner or admin", body = crate::error::ErrorBody),
        (status = 409, description = "number_taken: registered to another tenant", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_request: a field is empty or malformed", body = crate::error::ErrorBody)))]
#[put("/v1/whatsapp/numbers/{phone_number_id}")]
pub async fn register_number(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageNumbers>,
    path: web::Path<String>,
    body: web::Json<RegisterNumberRequest>,
) -> ApiResult<HttpResponse> {
    let tenant_id = auth.tenant_id().ok_or_else(ApiError::forbidden)?;
    let pnid = path.into_inner();
    let body = body.into_inner();
    let token = Zeroizing::new(body.access_token);
    let display = body.display_phone_number.trim();
    let waba_id = body.waba_id.trim();
    if !valid_id(&pnid, 64) {
        return Err(invalid(
            "phone_number_id",
            "must be 1 to 64 printable characters",
        ));
    }
    if display.is_empty() || display.chars().count() > 32 || display.chars().any(char::is_control) {
        return Err(invalid(
            "display_phone_number",
            "must be 1 to 32 characters",
        ));
    }
    if !valid_id(waba_id, 64) {
        return Err(invalid("waba_id", "must be 1 to 64 printable characters"));
    }
    if !valid_id(token.trim(), 4096) {
        return Err(invalid(
            "access_token",
            "must be 1 to 4096 printable characters",
        ));
    }
    let keys = state.keys.for_tenant(tenant_id).await?;
    let now = state.clock.now_ms();
    let tx = state.db.tenant(tenant_id).await?;
    let registration = NumberRegistration {
        phone_number_id: &pnid,
        display_phone_number: display,
        waba_id,
        access_token: token.trim(),
    };
    let (row, created) = tx
        .upsert_number(&keys, registration, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::conflict(
                "number_taken",
                "this number is registered to another account",
            ),
            other => other.into(),
        })?;
    let action = if created {
        "number.register"
    } else {
        "number.update"
    };
    tx.append_audit(
        &auth
            .actor()
            .record(action, "phone_number", &pnid, json!({ "waba_id": waba_id })),
        now,
    )
    .await?;
    tx.commit().await?;
    let view = NumberView::from(row);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[utoipa::path(get, path = "/v1/whatsapp/numbers", tag = "administration",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = NumberList),
        (status = 400, description = "invalid_limit or invalid_cursor", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
#[get("/v1/whatsapp/numbers")]
pub async fn list_numbers(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageNumbers>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let tenant_id = auth.tenant_id().ok_or_else(ApiError::forbidden)?;
    let limit = query.limit()?;
    let after = query.cursor::<NumberKey>()?;
    let tx = state.db.tenant(tenant_id).await?;
    let rows = tx
        .numbers_page(after.as_ref().map(|k| k.0.as_str()), limit + 1)
        .await?;
    tx.commit().await?;
    let (rows, next_cursor) = split_page(rows, limit, |n| NumberKey(n.phone_number_id.clone()));
    Ok(HttpResponse::Ok().json(NumberList {
        items: rows.into_iter().map(NumberView::from).collect(),
        next_cursor,
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(register_number).service(list_numbers);
}
