//! Contacts as the inbox sees them: the list (or an exact lookup by phone number), one
//! contact with its consent history, corrections and consent changes.
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Permission;
use crate::auth::extract::Caller;
use crate::error::{ApiError, ApiResult};
use crate::messaging::access::Access;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::contacts::ConsentChange;
use crate::store::inbox::ContactCorrection;
use crate::store::sealed::{ContactPlain, open_contact};
use entity::consent_events::Model as ConsentEvent;

/// Longest display name accepted.
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;
/// Largest attributes object accepted, as JSON bytes.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;
/// Longest consent source accepted.
pub const MAX_SOURCE_CHARS: usize = 100;

/// A contact with its consent history, oldest change first.
pub struct ContactDetail {
    pub contact: ContactPlain,
    pub consent_history: Vec<ConsentEvent>,
}

/// A page of contacts, or the contact whose phone number is `wa_id`. Agents see only the
/// contacts of conversations assigned to them.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    named_tenant: Option<Uuid>,
    wa_id: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<Vec<ContactPlain>> {
    let access = Access::open(state, caller, named_tenant).await?;
    access.check_collection(Permission::ReadContacts)?;
    let keys = state.keys.for_tenant(access.tenant_id()).await?;
    let agent = access.is_agent().then_some(access.principal.user_id);
    let rows = match wa_id {
        Some(wa_id) => {
            let found = access.tx.contact_by_wa_id(&keys, wa_id).await?;
            let mut visible = Vec::new();
            for row in found.into_iter().filter(|r| after.is_none_or(|a| r.id > a)) {
                let reach = match agent {
                    Some(a) => access.tx.inbox().contact_assigned_to(row.id, a).await?,
                    None => true,
                };
                if reach {
                    visible.push(row);
                }
            }
            visible
        }
        None => {
            access
                .tx
                .inbox()
                .contacts_page(agent, after, limit, true)
                .await?
        }
    };
    let plain = rows
        .iter()
        .map(|r| open_contact(&keys, r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::from)?;
    let ids: Vec<Uuid> = plain.iter().map(|c| c.id).collect();
    let tenant = access.tenant_id();
    access
        .audit_read(
            "contact.list",
            "tenant",
            tenant,
            access.is_agent(),
            json!({"count": ids.len(), "lookup": wa_id.is_some(), "ids": ids}),
        )
        .await?;
    access.commit().await?;
    Ok(plain)
}

/// One contact and its consent history.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    named_tenant: Option<Uuid>,
    id: Uuid,
) -> ApiResult<ContactDetail> {
    let access = Access::open(state, caller, named_tenant).await?;
    let row = access.contact(id, Permission::ReadContacts).await?;
    let detail = detail(state, &access, &row).await?;
    access
        .audit_read("contact.read", "contact", id, access.is_agent(), json!({}))
        .await?;
    access.commit().await?;
    Ok(detail)
}

async fn detail(
    state: &AppState,
    access: &Access,
    row: &entity::contacts::Model,
) -> ApiResult<ContactDetail> {
    let keys = state.keys.for_tenant(access.tenant_id()).await?;
    let contact = open_contact(&keys, row).map_err(StoreError::from)?;
    let consent_history = access.tx.consent_history(&[row.id]).await?;
    Ok(ContactDetail {
        contact,
        consent_history,
    })
}

/// Corrects a contact's display name and attributes.
pub async fn correct(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    display_name: Option<Option<String>>,
    attributes: Option<Value>,
) -> ApiResult<ContactDetail> {
    if display_name.is_none() && attributes.is_none() {
        return Err(ApiError::unprocessable(
            "nothing_to_change",
            "give display_name or attributes",
        ));
    }
    let display_name = display_name.map(|n| n.map(|s| s.trim().to_owned()));
    if let Some(Some(name)) = &display_name
        && (name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS)
    {
        return Err(ApiError::unprocessable(
            "invalid_display_name",
            format!("display_name must be 1 to {MAX_DISPLAY_NAME_CHARS} characters, or null"),
        ));
    }
    if let Some(a) = &attributes {
        let size = serde_json::to_vec(a).map(|v| v.len()).unwrap_or(usize::MAX);
        if !a.is_object() || size > MAX_ATTRIBUTES_BYTES {
            return Err(ApiError::unprocessable(
                "invalid_attributes",
                format!("attributes must be a JSON object of at most {MAX_ATTRIBUTES_BYTES} bytes"),
            ));
        }
    }
    let access = Access::open(state, caller, None).await?;
    let row = access.contact(id, Permission::WriteContacts).await?;
    let keys = state.keys.for_tenant(access.tenant_id()).await?;
    let correction = ContactCorrection {
        display_name: display_name.as_ref().map(|n| n.as_deref()),
        attributes: attributes.as_ref(),
    };
    access
        .tx
        .inbox()
        .correct_contact(&keys, row.id, correction, access.now)
        .await?;
    let mut fields = Vec::new();
    if display_name.is_some() {
        fields.push("display_name");
    }
    if attributes.is_some() {
        fields.push("attributes");
    }
    let record = access
        .actor
        .record("contact.correct", "contact", id, json!({"fields": fields}));
    access.tx.append_audit(&record, access.now).await?;
    let row = access.tx.contact_row(id).await?;
    let detail = detail(state, &access, &row).await?;
    access.commit().await?;
    Ok(detail)
}

/// Records a consent change (`opted_in` or `opted_out`) and its source.
pub async fn set_consent(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    status: &'static str,
    source: &str,
) -> ApiResult<ContactDetail> {
    let source = source.trim();
    if source.is_empty() || source.chars().count() > MAX_SOURCE_CHARS {
        return Err(ApiError::unprocessable(
            "invalid_source",
            format!("source must be 1 to {MAX_SOURCE_CHARS} characters"),
        ));
    }
    let access = Access::open(state, caller, None).await?;
    let row = access.contact(id, Permission::WriteContacts).await?;
    access
        .tx
        .record_consent(
            ConsentChange {
                id: None,
                contact_id: row.id,
                status,
                source,
                actor_kind: access.actor.kind,
                actor_id: access.actor.id,
            },
            access.now,
        )
        .await?;
    let record = access
        .actor
        .record("contact.consent", "contact", id, json!({"status": status}));
    access.tx.append_audit(&record, access.now).await?;
    let row = access.tx.contact_row(id).await?;
    let detail = detail(state, &access, &row).await?;
    access.commit().await?;
    Ok(detail)
}
