//! Creating tenants, users and platform staff: shared by the API and the CLI.
use serde_json::json;
use uuid::Uuid;

use crate::auth::{self, Role};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::audit::{AuditRecord, append_platform};
use crate::store::platform::{NewTenant, insert_tenant};
use crate::store::users::NewUser;
use crate::store::{StoreError, new_id};

/// Who is acting, for audit records.
#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        Self {
            kind: "cli",
            id: None,
            ip: None,
            user_agent: None,
        }
    }

    pub fn record(
        &self,
        action: &str,
        target_type: &str,
        target_id: impl ToString,
        detail: serde_json::Value,
    ) -> AuditRecord {
        AuditRecord {
            actor_kind: self.kind.to_owned(),
            actor_id: self.id,
            action: action.to_owned(),
            target_type: Some(target_type.to_owned()),
            target_id: Some(target_id.to_string()),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            detail,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{detail}")]
    Policy { code: &'static str, detail: String },
    #[error("{0}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Hash,
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Policy { code, detail } => ApiError::unprocessable(code, detail),
            IdentityError::Invalid(code, detail) => ApiError::unprocessable(code, detail),
            IdentityError::Store(StoreError::Conflict(what)) => {
                ApiError::conflict("already_exists", what)
            }
            IdentityError::Store(s) => s.into(),
            IdentityError::Hash => ApiError::internal(&"password hashing failed"),
        }
    }
}

/// Normalised email: trimmed, lower-case, one '@' with text on both sides.
pub fn normalize_email(email: &str) -> Result<String, IdentityError> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
        && !e.chars().any(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(IdentityError::Invalid(
            "invalid_email",
            "email address is not valid".into(),
        ))
    }
}

fn valid_slug(slug: &str) -> bool {
    (3..=63).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// Argon2id off the async runtime, on the bounded hashing pool.
pub async fn hash_password(state: &AppState, password: &str) -> Result<String, IdentityError> {
    let pw = zeroize::Zeroizing::new(password.to_owned());
    let params = state.password_params;
    state
        .hasher
        .run(move || auth::hash_password(&pw, &params))
        .await
        .map_err(|_| IdentityError::Hash)?
        .map_err(|_| IdentityError::Hash)
}

fn check_password(password: &str, email: &str) -> Result<(), IdentityError> {
    auth::check_policy(password, email).map_err(|v| IdentityError::Policy {
        code: v.code(),
        detail: v.detail().to_owned(),
    })
}

pub async fn create_tenant(
    state: &AppState,
    name: &str,
    slug: &str,
    owner_email: &str,
    owner_password: &str,
    actor: &Actor,
) -> Result<entity::tenants::Model, IdentityError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(IdentityError::Invalid(
            "invalid_name",
            "name must be 1 to 200 characters".into(),
        ));
    }
    if !valid_slug(slug) {
        return Err(IdentityError::Invalid(
            "invalid_slug",
            "slug must be 3 to 63 lower-case letters, digits or hyphens".into(),
        ));
    }
    let email = normalize_email(owner_email)?;
    check_password(owner_password, &email)?;
    let hash = hash_password(state, owner_password).await?;
    let now = state.clock.now_ms();
    let tenant_id = new_id();
    let owner_id = new_id();

    // Tenant row, data key and platform audit in one transaction; the owner in the tenant's own
    // scope right after, so a crash in between leaves a tenant without an owner but never an
    // owner without a tenant (an operator re-runs `user create`).
    let txn = state.db.begin().await?;
    insert_tenant(
        &txn,
        NewTenant {
            id: tenant_id,
            name,
            slug,
            now,
        },
    )
    .await?;
    state.keys.create_for_tenant(&txn, tenant_id).await?;
    append_platform(
        &txn,
        Some(tenant_id),
        &actor.record("tenant.create", "tenant", tenant_id, json!({"slug": slug})),
        now,
    )
    .await?;
    sea_orm::TransactionSession::commit(txn)
        .await
        .map_err(StoreError::from)?;

    let tx = state.db.tenant(tenant_id).await?;
    tx.insert_user(NewUser {
        id: owner_id,
        email: &email,
        password_hash: &hash,
        role: Role::Owner.as_str(),
        now,
    })
    .await?;
    tx.append_audit(
        &actor.record("user.create", "user", owner_id, json!({"role": "owner"})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(state.db.tenant_by_id(tenant_id).await?)
}

pub async fn create_user(
    state: &AppState,
    tenant_id: Uuid,
    email: &str,
    password: &str,
    role: Role,
    actor: &Actor,
) -> Result<Uuid, IdentityError> {
    if role.is_platform() {
        return Err(IdentityError::Invalid(
            "invalid_role",
            "role must be owner, admin or agent".into(),
        ));
    }
    let email = normalize_email(email)?;
    check_password(password, &email)?;
    let hash = hash_password(state, password).await?;
    let now = state.clock.now_ms();
    let id = new_id();
    let tx = state.db.tenant(tenant_id).await?;
    tx.insert_user(NewUser {
        id,
        email: &email,
        password_hash: &hash,
        role: role.as_str(),
        now,
    })
    .await?;
    tx.append_audit(
        &actor.record("user.create", "user", id, json!({"role": role.as_str()})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn create_staff(
    state: &AppState,
    email: &str,
    password: &str,
    role: Role,
    actor: &Actor,
) -> Result<Uuid, IdentityError> {
    if !role.is_platform() {
        return Err(IdentityError::Invalid(
            "invalid_role",
            "role must be operator or support".into(),
        ));
    }
    let email = normalize_email(email)?;
    check_password(password, &email)?;
    let hash = hash_password(state, password).await?;
    let now = state.clock.now_ms();
    let id = new_id();
    let txn = state.db.begin().await?;
    crate::store::platform::insert_staff(&txn, id, &email, &hash, role.as_str(), now).await?;
    append_platform(
        &txn,
        None,
        &actor.record("staff.create", "staff", id, json!({"role": role.as_str()})),
        now,
    )
    .await?;
    sea_orm::TransactionSession::commit(txn)
        .await
        .map_err(StoreError::from)?;
    Ok(id)
}
