//! Who may reach which conversation or contact, decided where the rows are loaded and before
//! anything is decrypted, and the audit record of reads by anyone but the assigned agent.
//!
//! Platform support staff name the tenant they work on (`X-Wavault-Tenant`); their reads need
//! the tenant's active support grant and are recorded as `support.read`.
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::extract::Caller;
use crate::auth::{Decision, Permission, Principal, Resource, Role, decide};
use crate::error::{ApiError, ApiResult};
use crate::identity::Actor;
use crate::state::AppState;
use crate::store::{StoreError, TenantTx};

/// A tenant transaction opened for one caller, with what the policy needs to know.
pub struct Access {
    pub tx: TenantTx,
    pub principal: Principal,
    pub actor: Actor,
    pub now: i64,
    grant: bool,
}

impl Access {
    /// Opens the caller's tenant; platform staff open the tenant they name. Staff that name no
    /// tenant reach nothing (404).
    pub async fn open(
        state: &AppState,
        caller: &Caller,
        named_tenant: Option<Uuid>,
    ) -> ApiResult<Self> {
        let principal = caller.principal;
        let tenant_id = match principal.tenant_id {
            Some(own) => own,
            None => named_tenant.ok_or_else(|| {
                ApiError::new(
                    actix_web::http::StatusCode::NOT_FOUND,
                    "not_found",
                    "no such resource (platform staff name the tenant with X-Wavault-Tenant)",
                )
            })?,
        };
        let now = state.clock.now_ms();
        let tx = state.db.tenant(tenant_id).await?;
        let grant = principal.role == Role::Support && tx.support_grant_active(now).await?;
        Ok(Self {
            tx,
            principal,
            actor: caller.actor(),
            now,
            grant,
        })
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tx.tenant_id()
    }

    pub fn is_agent(&self) -> bool {
        self.principal.role == Role::Agent
    }

    /// The policy's answer as a result: 403 for a missing permission, 404 for a resource that
    /// is not the caller's to know about.
    pub fn check(&self, perm: Permission, res: &Resource) -> ApiResult<()> {
        match decide(&self.principal, perm, res, self.grant) {
            Decision::Allow => Ok(()),
            Decision::Deny => Err(ApiError::forbidden()),
            Decision::NotFound => Err(ApiError::not_found()),
        }
    }

    /// Checks `perm` on the tenant's collection (lists).
    pub fn check_collection(&self, perm: Permission) -> ApiResult<()> {
        self.check(perm, &Resource::Tenant(self.tenant_id()))
    }

    /// Loads a conversation and checks `perm` on it; 404 when it is not the caller's.
    pub async fn conversation(
        &self,
        id: Uuid,
        perm: Permission,
    ) -> ApiResult<entity::conversations::Model> {
        let conv = self.tx.conversation(id).await?;
        self.check(
            perm,
            &Resource::Conversation {
                tenant_id: self.tenant_id(),
                assignee_id: conv.assignee_id,
            },
        )?;
        Ok(conv)
    }

    /// Loads a contact and checks `perm` on it; an agent reaches only contacts of the
    /// conversations assigned to them.
    pub async fn contact(&self, id: Uuid, perm: Permission) -> ApiResult<entity::contacts::Model> {
        let row = match self.tx.contact_row(id).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Err(ApiError::not_found()),
            Err(e) => return Err(e.into()),
        };
        let visible_to_agent = self.is_agent()
            && self
                .tx
                .inbox()
                .contact_assigned_to(id, self.principal.user_id)
                .await?;
        self.check(
            perm,
            &Resource::Contact {
                tenant_id: self.tenant_id(),
                visible_to_agent,
            },
        )?;
        Ok(row)
    }

    /// Records a read in the tenant's audit chain, unless the reader is the assigned agent
    /// (`own` is true). Support staff reads are `support.read`. Ids only, never content.
    pub async fn audit_read(
        &self,
        action: &str,
        target_type: &str,
        target_id: impl ToString,
        own: bool,
        detail: Value,
    ) -> ApiResult<()> {
        if own {
            return Ok(());
        }
        let record = if self.principal.role == Role::Support {
            let mut d = json!({"read": action});
            if let (Some(out), Value::Object(extra)) = (d.as_object_mut(), detail) {
                out.extend(extra);
            }
            self.actor.record("support.read", target_type, target_id, d)
        } else {
            self.actor.record(action, target_type, target_id, detail)
        };
        self.tx.append_audit(&record, self.now).await?;
        Ok(())
    }

    /// Whether the caller is the conversation's assignee (their reads are not audited).
    pub fn owns(&self, conv: &entity::conversations::Model) -> bool {
        conv.assignee_id == Some(self.principal.user_id)
    }

    pub async fn commit(self) -> ApiResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
