//! Data-subject rights: tenant export, the per-contact access bundle, erasure and restriction.
use std::collections::HashMap;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::identity::Actor;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::rights::ErasureCounts;
use crate::store::sealed::open_contact;

pub mod export;

/// Version tag of the access bundle's JSON layout; documented in the README.
pub const BUNDLE_SCHEMA: &str = "wavault.access_bundle.v1";

/// Everything held about one contact, and who read or exported it.
pub async fn access_bundle(
    state: &AppState,
    tenant_id: Uuid,
    contact_id: Uuid,
    actor: &Actor,
) -> ApiResult<Value> {
    let keys = state.keys.for_tenant(tenant_id).await?;
    let now = state.clock.now_ms();
    let tx = state.db.tenant(tenant_id).await?;
    let row = tx.contact_row(contact_id).await?;
    let contact = open_contact(&keys, &row).map_err(StoreError::from)?;
    let consent: Vec<Value> = tx
        .consent_history(&[contact_id])
        .await?
        .into_iter()
        .map(|e| json!({"status": e.status, "source": e.source, "actor_kind": e.actor_kind, "actor_id": e.actor_id, "at": rfc3339(e.created_at)}))
        .collect();
    let mut threads: HashMap<Uuid, Vec<Value>> =
        export::conversations_with_messages(&tx, &keys, &[contact_id]).await?;
    let conversations = threads.remove(&contact_id).unwrap_or_default();
    let mut targets = vec![contact_id.to_string()];
    targets.extend(
        conversations
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned)),
    );
    let mut accesses = Vec::new();
    for target in &targets {
        for e in tx.audit_for_target(target).await? {
            accesses.push(json!({
                "seq": e.seq, "action": e.action, "actor_kind": e.actor_kind, "actor_id": e.actor_id,
                "target_type": e.target_type, "target_id": e.target_id, "at": rfc3339(e.created_at),
            }));
        }
    }
    accesses.sort_by_key(|a| a["seq"].as_i64());
    tx.append_audit(
        &actor.record("contact.access_export", "contact", contact_id, json!({})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(json!({
        "schema": BUNDLE_SCHEMA,
        "generated_at": rfc3339(now),
        "contact": export::contact_json(&contact),
        "identities": {
            "wa_id": contact.wa_id,
            "business_scoped_user_id": contact.user_id,
        },
        "consent_history": consent,
        "conversations": conversations,
        "access_log": accesses,
    }))
}

/// Erases a contact with its conversations, messages, status events and consent history.
pub async fn erase(
    state: &AppState,
    tenant_id: Uuid,
    contact_id: Uuid,
    actor: &Actor,
) -> ApiResult<ErasureCounts> {
    let now = state.clock.now_ms();
    let tx = state.db.tenant(tenant_id).await?;
    let counts = tx.erase_contact(contact_id).await?;
    let detail = serde_json::to_value(&counts).map_err(|e| ApiError::internal(&e))?;
    tx.append_audit(
        &actor.record("contact.erase", "contact", contact_id, detail),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(counts)
}

/// Flags a contact as restricted (objection): not messaged, left out of exports.
pub async fn set_restricted(
    state: &AppState,
    tenant_id: Uuid,
    contact_id: Uuid,
    restricted: bool,
    actor: &Actor,
) -> ApiResult<()> {
    let now = state.clock.now_ms();
    let tx = state.db.tenant(tenant_id).await?;
    tx.set_contact_restricted(contact_id, restricted, now)
        .await?;
    tx.append_audit(
        &actor.record(
            "contact.restriction",
            "contact",
            contact_id,
            json!({"restricted": restricted}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
