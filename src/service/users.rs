//! Tenant user administration: creating, listing, changing roles and disabling users.
//!
//! Who may touch whom is `auth::may_assign_role` (an admin manages agents only; an owner any
//! tenant role). Every change is audited in the same `TenantTx` as the change itself, so an
//! audit write that fails undoes the change.
use entity::users;
use serde_json::json;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::auth::extract::Caller;
use crate::auth::{Role, may_assign_role};
use crate::error::{ApiError, ApiResult};
use crate::identity;
use crate::state::AppState;
use crate::store::StoreError;

/// `PATCH /v1/users/{id}`: `None` leaves a field as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// A tenant role named in a request; platform roles and unknown names are 422.
pub fn parse_tenant_role(name: &str) -> ApiResult<Role> {
    name.parse::<Role>()
        .ok()
        .filter(|r| !r.is_platform())
        .ok_or_else(|| {
            ApiError::unprocessable("invalid_role", "role must be owner, admin or agent")
        })
}

/// The caller's tenant. Only tenant users pass the permission guards that lead here; a caller
/// without a tenant is refused rather than trusted.
pub fn caller_tenant(caller: &Caller) -> ApiResult<Uuid> {
    caller.tenant_id().ok_or_else(ApiError::forbidden)
}

fn stored_role(user: &users::Model) -> ApiResult<Role> {
    user.role
        .parse()
        .map_err(|_| StoreError::Invalid("a user has an unknown role".into()).into())
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    email: &str,
    password: Zeroizing<String>,
    role: Role,
) -> ApiResult<users::Model> {
    let tenant_id = caller_tenant(caller)?;
    if !may_assign_role(caller.principal.role, role) {
        return Err(ApiError::forbidden());
    }
    let id =
        identity::create_user(state, tenant_id, email, &password, role, &caller.actor()).await?;
    let tx = state.db.tenant(tenant_id).await?;
    let user = tx.user(id).await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<Vec<users::Model>> {
    let tx = state.db.tenant(caller_tenant(caller)?).await?;
    let rows = tx.users_page(after, limit).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Applies a role change and/or (re-)enabling. Disabling revokes every session of the user at
/// once; removing the last active owner is refused so a tenant always keeps someone in charge.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    target_id: Uuid,
    change: UserChange,
) -> ApiResult<users::Model> {
    let actor_role = caller.principal.role;
    let tx = state.db.tenant(caller_tenant(caller)?).await?;
    // A user of another tenant is simply absent from this scope: 404.
    let target = tx.user(target_id).await?;
    let current = stored_role(&target)?;
    if !may_assign_role(actor_role, current)
        || change.role.is_some_and(|r| !may_assign_role(actor_role, r))
    {
        return Err(ApiError::forbidden());
    }
    let new_role = change.role.filter(|r| *r != current);
    let disabling = change.disabled == Some(true) && !target.disabled;
    let enabling = change.disabled == Some(false) && target.disabled;
    if new_role.is_none() && !disabling && !enabling {
        tx.commit().await?;
        return Ok(target);
    }
    let removes_an_owner =
        current == Role::Owner && !target.disabled && (new_role.is_some() || disabling);
    if removes_an_owner && tx.active_owner_count().await? <= 1 {
        return Err(ApiError::conflict(
            "last_owner",
            "the tenant's last active owner cannot be demoted or disabled",
        ));
    }

    let now = state.clock.now_ms();
    let disabled = (disabling || enabling).then_some(disabling);
    tx.update_user(target_id, new_role.map(Role::as_str), disabled, now)
        .await?;
    let actor = caller.actor();
    if let Some(role) = new_role {
        tx.append_audit(
            &actor.record(
                "user.role_change",
                "user",
                target_id,
                json!({"from": current.as_str(), "to": role.as_str()}),
            ),
            now,
        )
        .await?;
    }
    if disabling {
        let revoked = tx.revoke_user_sessions(target_id, now).await?;
        tx.append_audit(
            &actor.record(
                "user.disable",
                "user",
                target_id,
                json!({"sessions_revoked": revoked}),
            ),
            now,
        )
        .await?;
    }
    if enabling {
        tx.append_audit(
            &actor.record("user.enable", "user", target_id, json!({})),
            now,
        )
        .await?;
    }
    let updated = tx.user(target_id).await?;
    tx.commit().await?;
    Ok(updated)
}
