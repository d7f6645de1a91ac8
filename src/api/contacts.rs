//! Contacts (the data subjects): the list and lookup by phone number, one contact, corrections
//! and consent. Export and erasure live with the data-rights routes.
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::conversations::named_tenant;
use crate::api::page::{PageQuery, split_page};
use crate::auth::extract::{Authorized, perm};
use crate::auth::{Permission, role_allows};
use crate::clock::{opt_rfc3339, rfc3339};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::messaging::contacts::{self as svc, ContactDetail};
use crate::state::AppState;
use crate::store::contacts::{CONSENT_OPTED_IN, CONSENT_OPTED_OUT};
use crate::store::sealed::ContactPlain;

#[derive(Serialize, ToSchema)]
pub struct ConsentChangeView {
    pub status: String,
    pub source: String,
    /// `user`, `staff` or `system` (a webhook or Meta's answer).
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    /// `unknown`, `opted_in` or `opted_out`.
    pub status: String,
    /// Changes, oldest first (one contact only; absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<ConsentChangeView>>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: Uuid,
    /// Phone number (E.164 digits), when known.
    pub wa_id: Option<String>,
    /// Business-scoped user id, when known.
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
    pub display_name: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: Value,
    pub consent: ConsentView,
    pub restricted: bool,
    pub created_at: String,
    pub updated_at: String,
    pub last_inbound_at: Option<String>,
}

impl ContactView {
    fn new(c: ContactPlain, history: Option<Vec<ConsentChangeView>>) -> Self {
        Self {
            id: c.id,
            wa_id: c.wa_id,
            user_id: c.user_id,
            profile_name: c.profile_name,
            display_name: c.display_name,
            attributes: c.attributes,
            consent: ConsentView {
                status: c.consent_status,
                history,
            },
            restricted: c.restricted,
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
            last_inbound_at: opt_rfc3339(c.last_inbound_at),
        }
    }
}

impl From<ContactDetail> for ContactView {
    fn from(d: ContactDetail) -> Self {
        let history = d
            .consent_history
            .into_iter()
            .map(|e| ConsentChangeView {
                status: e.status,
                source: e.source,
                actor_kind: e.actor_kind,
                actor_id: e.actor_id,
                at: rfc3339(e.created_at),
            })
            .collect();
        Self::new(d.contact, Some(history))
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactList {
    pub items: Vec<ContactView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactFilters {
    /// Exact phone number lookup (any common format of the same number).
    pub wa_id: Option<String>,
}

#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(ContactFilters, PageQuery, ("X-Wavault-Tenant" = Option<Uuid>, Header, description = "Platform support staff only: the tenant whose content to read (needs its active support grant)")),
    responses((status = 200, body = ContactList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/v1/contacts")]
pub async fn list_contacts(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReadContacts>,
    req: HttpRequest,
    filters: web::Query<ContactFilters>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = page.limit()?;
    let after = page.cursor::<Uuid>()?;
    let wa_id = filters.wa_id.as_deref().filter(|w| !w.trim().is_empty());
    let rows = svc::list(&state, &auth, named_tenant(&req), wa_id, after, limit + 1).await?;
    let (rows, next_cursor) = split_page(rows, limit, |c| c.id);
    Ok(HttpResponse::Ok().json(ContactList {
        items: rows
            .into_iter()
            .map(|c| ContactView::new(c, None))
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts", params(("X-Wavault-Tenant" = Option<Uuid>, Header, description = "Platform support staff only: the tenant whose content to read (needs its active support grant)")),
    responses((status = 200, body = ContactView), (status = 404, body = ErrorBody)))]
#[get("/v1/contacts/{id}")]
pub async fn get_contact(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReadContacts>,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let detail = svc::get(&state, &auth, named_tenant(&req), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ContactView::from(detail)))
}

/// Distinguishes an absent field from `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
pub struct ContactCorrectionRequest {
    /// New display name; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// Replaces the attributes: a JSON object.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
    /// Restriction (objection to processing): a restricted contact is not messaged and is left
    /// out of exports. Owners and admins only.
    pub restricted: Option<bool>,
}

#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts", request_body = ContactCorrectionRequest,
    responses((status = 200, body = ContactView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/v1/contacts/{id}")]
pub async fn correct_contact(
    state: web::Data<AppState>,
    auth: Authorized<perm::WriteContacts>,
    id: web::Path<Uuid>,
    body: web::Json<ContactCorrectionRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let id = id.into_inner();
    if let Some(restricted) = body.restricted {
        let tenant_id = match auth.tenant_id() {
            Some(t) if role_allows(auth.principal.role, Permission::EraseContacts) => t,
            // Like the other data-subject rights, restriction does not exist for agents.
            _ => return Err(ApiError::not_found()),
        };
        crate::rights::set_restricted(&state, tenant_id, id, restricted, &auth.actor()).await?;
        if body.display_name.is_none() && body.attributes.is_none() {
            let detail = svc::get(&state, &auth, None, id).await?;
            return Ok(HttpResponse::Ok().json(ContactView::from(detail)));
        }
    }
    let detail = svc::correct(&state, &auth, id, body.display_name, body.attributes).await?;
    Ok(HttpResponse::Ok().json(ContactView::from(detail)))
}

#[derive(Deserialize, ToSchema)]
pub struct ConsentRequest {
    /// `opted_in` or `opted_out`.
    pub status: String,
    /// Where the consent came from (a form, a call, a message).
    pub source: String,
}

#[utoipa::path(post, path = "/v1/contacts/{id}/consent", tag = "contacts", request_body = ConsentRequest,
    responses((status = 200, body = ContactView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/v1/contacts/{id}/consent")]
pub async fn set_consent(
    state: web::Data<AppState>,
    auth: Authorized<perm::WriteContacts>,
    id: web::Path<Uuid>,
    body: web::Json<ConsentRequest>,
) -> ApiResult<HttpResponse> {
    let status = match body.status.trim() {
        "opted_in" => CONSENT_OPTED_IN,
        "opted_out" => CONSENT_OPTED_OUT,
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_status",
                "status must be opted_in or opted_out",
            ));
        }
    };
    let detail = svc::set_consent(&state, &auth, id.into_inner(), status, &body.source).await?;
    Ok(HttpResponse::Ok().json(ContactView::from(detail)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_contacts)
        .service(get_contact)
        .service(correct_contact)
        .service(set_consent);
}
