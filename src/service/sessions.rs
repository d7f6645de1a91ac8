//! Sign-in sessions: login with throttling and TOTP, refresh-token rotation with reuse
//! detection, logout, and TOTP enrolment.
//!
//! Refresh tokens given to clients are `<scope>.<token>` where scope is the tenant id (or `p`
//! for platform staff), so the session row can be found inside the right tenant scope.
use serde_json::json;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::auth::extract::Caller;
use crate::auth::{self, Role};
use crate::crypto::Place;
use crate::error::{ApiError, ApiResult};
use crate::identity::{Actor, normalize_email};
use crate::state::AppState;
use crate::store::audit::{AuditRecord, append_platform};
use crate::store::platform::STATUS_ACTIVE;
use crate::store::{StoreError, new_id};

pub struct LoginInput {
    pub tenant: Option<String>,
    pub email: String,
    pub password: Zeroizing<String>,
    pub totp_code: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub expires_in: i64,
}

/// The account a login names, whatever kind it is.
struct Account {
    id: Uuid,
    tenant_id: Option<Uuid>,
    password_hash: String,
    role: Role,
    disabled: bool,
    totp_secret_enc: Option<Vec<u8>>,
    totp_enabled: bool,
    totp_last_step: Option<i64>,
}

const PLATFORM_SCOPE: &str = "p";

async fn verify_password(
    state: &AppState,
    password: &Zeroizing<String>,
    hash: &str,
) -> ApiResult<bool> {
    let pw = password.clone();
    let hash = hash.to_owned();
    state
        .hasher
        .run(move || auth::verify_password(&pw, &hash))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))
}

async fn find_account(
    state: &AppState,
    tenant_id: Option<Uuid>,
    email: &str,
) -> ApiResult<Option<Account>> {
    Ok(match tenant_id {
        Some(tid) => {
            let tx = state.db.tenant(tid).await?;
            let user = tx.user_by_email(email).await?;
            tx.commit().await?;
            user.and_then(|u| {
                Some(Account {
                    id: u.id,
                    tenant_id: Some(tid),
                    role: u.role.parse().ok()?,
                    password_hash: u.password_hash,
                    disabled: u.disabled,
                    totp_secret_enc: u.totp_secret_enc,
                    totp_enabled: u.totp_enabled,
                    totp_last_step: u.totp_last_step,
                })
            })
        }
        None => state.db.staff_by_email(email).await?.and_then(|s| {
            Some(Account {
                id: s.id,
                tenant_id: None,
                role: s.role.parse().ok()?,
                password_hash: s.password_hash,
                disabled: s.disabled,
                totp_secret_enc: s.totp_secret_enc,
                totp_enabled: s.totp_enabled,
                totp_last_step: s.totp_last_step,
            })
        }),
    })
}

/// Audit in the tenant's chain, or the platform chain for staff.
async fn audit(state: &AppState, tenant_id: Option<Uuid>, rec: AuditRecord) -> ApiResult<()> {
    let now = state.clock.now_ms();
    match tenant_id {
        Some(tid) => {
            let tx = state.db.tenant(tid).await?;
            tx.append_audit(&rec, now).await?;
            tx.commit().await?;
        }
        None => {
            let txn = state.db.begin().await?;
            append_platform(&txn, None, &rec, now).await?;
            sea_orm::TransactionSession::commit(txn)
                .await
                .map_err(StoreError::from)?;
        }
    }
    Ok(())
}

pub async fn login(state: &AppState, input: LoginInput) -> ApiResult<Tokens> {
    let now = state.clock.now_ms();
    let email = normalize_email(&input.email).unwrap_or_else(|_| input.email.trim().to_lowercase());
    let scope = input
        .tenant
        .clone()
        .unwrap_or_else(|| PLATFORM_SCOPE.into());
    let account_key = format!("acct:{scope}:{email}");
    let throttle_keys = vec![
        account_key.clone(),
        format!("ip:{}", input.ip.as_deref().unwrap_or("-")),
    ];
    if let Some(secs) = state.throttle.retry_after(&throttle_keys, now).await? {
        return Err(ApiError::too_many(secs));
    }
    let tenant = match &input.tenant {
        Some(t) => {
            let found = match Uuid::parse_str(t) {
                Ok(id) => state.db.tenant_by_id(id).await,
                Err(_) => state.db.tenant_by_slug(t).await,
            };
            match found {
                Ok(t) => Some(t),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    let account = match (&input.tenant, &tenant) {
        (Some(_), None) => None,
        (_, t) => find_account(state, t.as_ref().map(|t| t.id), &email).await?,
    };
    // Unknown accounts are checked against a dummy hash so they take as long as real ones.
    let hash = account
        .as_ref()
        .map_or(auth::dummy_hash(), |a| a.password_hash.as_str());
    let password_ok = verify_password(state, &input.password, hash).await?;
    let actor = Actor {
        kind: "user",
        id: account.as_ref().map(|a| a.id),
        ip: input.ip.clone(),
        user_agent: input.user_agent.clone(),
    };
    let tenant_id = tenant.as_ref().map(|t| t.id);
    let fail = |reason: &'static str| {
        actor.record(
            "auth.login_failed",
            "user",
            account
                .as_ref()
                .map(|a| a.id.to_string())
                .unwrap_or_default(),
            json!({"reason": reason}),
        )
    };

    let Some(account) = account.as_ref().filter(|a| password_ok && !a.disabled) else {
        state.throttle.record_failure(&throttle_keys, now).await?;
        if input.tenant.is_none() || tenant_id.is_some() {
            audit(state, tenant_id, fail("invalid_credentials")).await?;
        }
        return Err(ApiError::unauthorized("invalid_credentials"));
    };
    if let Some(t) = &tenant
        && t.status != STATUS_ACTIVE
    {
        audit(state, tenant_id, fail("tenant_suspended")).await?;
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "tenant_suspended",
            "this account is suspended",
        ));
    }
    if account.totp_enabled {
        let Some(code) = input.totp_code.as_deref() else {
            return Err(ApiError::unauthorized("totp_required"));
        };
        if !consume_totp(state, account, code).await? {
            state.throttle.record_failure(&throttle_keys, now).await?;
            audit(state, tenant_id, fail("invalid_totp")).await?;
            return Err(ApiError::unauthorized("invalid_totp"));
        }
    }
    if auth::needs_rehash(&account.password_hash, &state.password_params) {
        let new_hash = crate::identity::hash_password(state, &input.password).await?;
        store_password_hash(state, account, &new_hash).await?;
    }
    state.throttle.record_success(&account_key).await?;
    let tokens = open_session(state, account.id, account.tenant_id, account.role).await?;
    audit(
        state,
        tenant_id,
        actor.record(
            "auth.login",
            "user",
            account.id,
            json!({"role": account.role.as_str()}),
        ),
    )
    .await?;
    Ok(tokens)
}

async fn store_password_hash(state: &AppState, account: &Account, hash: &str) -> ApiResult<()> {
    let now = state.clock.now_ms();
    match account.tenant_id {
        Some(tid) => {
            let tx = state.db.tenant(tid).await?;
            tx.set_user_password_hash(account.id, hash, now).await?;
            tx.commit().await?;
        }
        None => {
            state
                .db
                .set_staff_password_hash(account.id, hash, now)
                .await?
        }
    }
    Ok(())
}

fn totp_place(tenant_id: Option<Uuid>, id: Uuid) -> Place<'static> {
    let table = if tenant_id.is_some() {
        "users"
    } else {
        "platform_staff"
    };
    Place::new(table, "totp_secret_enc", id)
}

async fn open_totp_secret(
    state: &AppState,
    tenant_id: Option<Uuid>,
    id: Uuid,
    sealed: &[u8],
) -> ApiResult<Zeroizing<String>> {
    let keys = state.keys.for_scope(tenant_id).await?;
    let secret = keys
        .open_string(&totp_place(tenant_id, id), sealed)
        .map_err(StoreError::from)?;
    Ok(Zeroizing::new(secret))
}

/// Verifies a code and records its step so the same code never works twice.
async fn consume_totp(state: &AppState, account: &Account, code: &str) -> ApiResult<bool> {
    let Some(sealed) = account.totp_secret_enc.as_deref() else {
        return Ok(false);
    };
    let secret = open_totp_secret(state, account.tenant_id, account.id, sealed).await?;
    let now_secs = u64::try_from(state.clock.now_secs()).unwrap_or_default();
    let Some(step) = auth::totp::verify_code(&secret, code, now_secs, account.totp_last_step)
        .map_err(|e| ApiError::internal(&e))?
    else {
        return Ok(false);
    };
    Ok(match account.tenant_id {
        Some(tid) => {
            let tx = state.db.tenant(tid).await?;
            let ok = tx.consume_user_totp_step(account.id, step).await?;
            tx.commit().await?;
            ok
        }
        None => state.db.consume_staff_totp_step(account.id, step).await?,
    })
}

async fn open_session(
    state: &AppState,
    user_id: Uuid,
    tenant_id: Option<Uuid>,
    role: Role,
) -> ApiResult<Tokens> {
    let now = state.clock.now_ms();
    let sid = new_id();
    let (inner, hash) = auth::new_refresh_token(sid).map_err(|e| ApiError::internal(&e))?;
    let expires_at = now + state.settings.auth.refresh_ttl_secs * 1000;
    match tenant_id {
        Some(tid) => {
            let tx = state.db.tenant(tid).await?;
            tx.insert_session(sid, user_id, hash, expires_at, now)
                .await?;
            tx.commit().await?;
        }
        None => {
            state
                .db
                .insert_staff_session(sid, user_id, hash, expires_at, now)
                .await?
        }
    }
    issue(state, user_id, sid, tenant_id, role, &inner)
}

fn issue(
    state: &AppState,
    user_id: Uuid,
    sid: Uuid,
    tenant_id: Option<Uuid>,
    role: Role,
    inner: &str,
) -> ApiResult<Tokens> {
    let (access, expires_in) = state
        .jwt
        .issue(user_id, sid, tenant_id, role, state.clock.now_secs())
        .map_err(|e| ApiError::internal(&e))?;
    let scope = tenant_id.map_or_else(|| PLATFORM_SCOPE.to_owned(), |t| t.simple().to_string());
    Ok(Tokens {
        access,
        refresh: format!("{scope}.{inner}"),
        expires_in,
    })
}

/// Rotates a refresh token. Presenting a spent token revokes the whole session.
pub async fn refresh(state: &AppState, presented: &str) -> ApiResult<Tokens> {
    let invalid = || ApiError::unauthorized("invalid_token");
    let (scope, inner) = presented.split_once('.').ok_or_else(invalid)?;
    let (sid, hash) = auth::parse_refresh_token(inner).ok_or_else(invalid)?;
    let now = state.clock.now_ms();
    let tenant_id = match scope {
        PLATFORM_SCOPE => None,
        s => Some(Uuid::parse_str(s).map_err(|_| invalid())?),
    };
    let (new_inner, new_hash) = auth::new_refresh_token(sid).map_err(|e| ApiError::internal(&e))?;
    let expires_at = now + state.settings.auth.refresh_ttl_secs * 1000;
    let (user_id, role) = match tenant_id {
        Some(tid) => {
            let tenant = state.db.tenant_by_id(tid).await.map_err(|_| invalid())?;
            let tx = state.db.tenant(tid).await?;
            let session = tx.session(sid).await.map_err(|_| invalid())?;
            if session.revoked_at.is_some()
                || session.expires_at <= now
                || tenant.status != STATUS_ACTIVE
            {
                return Err(invalid());
            }
            if !auth::hashes_equal(&session.refresh_hash, &hash)
                || !tx
                    .rotate_session(sid, &hash, new_hash, expires_at, now)
                    .await?
            {
                tx.revoke_session(sid, now).await?;
                tx.append_audit(&reuse_record(session.user_id), now).await?;
                tx.commit().await?;
                return Err(invalid());
            }
            let user = tx.user(session.user_id).await.map_err(|_| invalid())?;
            tx.commit().await?;
            if user.disabled {
                return Err(invalid());
            }
            (user.id, user.role.parse::<Role>().map_err(|_| invalid())?)
        }
        None => {
            let session = state.db.staff_session(sid).await?.ok_or_else(invalid)?;
            if session.revoked_at.is_some() || session.expires_at <= now {
                return Err(invalid());
            }
            if !auth::hashes_equal(&session.refresh_hash, &hash)
                || !state
                    .db
                    .rotate_staff_session(sid, &hash, new_hash, expires_at, now)
                    .await?
            {
                state.db.revoke_staff_session(sid, now).await?;
                audit(state, None, reuse_record(session.staff_id)).await?;
                return Err(invalid());
            }
            let staff = state
                .db
                .staff_by_id(session.staff_id)
                .await
                .map_err(|_| invalid())?;
            if staff.disabled {
                return Err(invalid());
            }
            (staff.id, staff.role.parse::<Role>().map_err(|_| invalid())?)
        }
    };
    issue(state, user_id, sid, tenant_id, role, &new_inner)
}

fn reuse_record(user_id: Uuid) -> AuditRecord {
    Actor {
        kind: "user",
        id: Some(user_id),
        ip: None,
        user_agent: None,
    }
    .record(
        "auth.refresh_reuse",
        "session",
        user_id,
        json!({"session_revoked": true}),
    )
}

pub async fn logout(state: &AppState, caller: &Caller) -> ApiResult<()> {
    let now = state.clock.now_ms();
    let sid = caller.principal.session_id;
    match caller.tenant_id() {
        Some(tid) => {
            let tx = state.db.tenant(tid).await?;
            tx.revoke_session(sid, now).await?;
            tx.append_audit(
                &caller
                    .actor()
                    .record("auth.logout", "session", sid, json!({})),
                now,
            )
            .await?;
            tx.commit().await?;
        }
        None => {
            state.db.revoke_staff_session(sid, now).await?;
            audit(
                state,
                None,
                caller
                    .actor()
                    .record("auth.logout", "session", sid, json!({})),
            )
            .await?;
        }
    }
    Ok(())
}

/// Starts (or restarts) enrolment: a new secret, sealed, not yet enabled.
pub async fn totp_enroll(state: &AppState, caller: &Caller) -> ApiResult<(String, String)> {
    if caller.totp_enabled {
        return Err(ApiError::conflict(
            "totp_already_enabled",
            "two-factor authentication is already on",
        ));
    }
    let secret = Zeroizing::new(auth::totp::new_secret().map_err(|e| ApiError::internal(&e))?);
    let uri = auth::totp::otpauth_uri(&secret, &state.settings.auth.issuer, &caller.email)
        .map_err(|e| ApiError::internal(&e))?;
    let tid = caller.tenant_id();
    let id = caller.principal.user_id;
    let keys = state.keys.for_scope(tid).await?;
    let sealed = keys
        .seal_str(&totp_place(tid, id), &secret)
        .map_err(StoreError::from)?;
    let now = state.clock.now_ms();
    match tid {
        Some(t) => {
            let tx = state.db.tenant(t).await?;
            tx.set_user_totp(id, Some(sealed), false, None, now).await?;
            tx.commit().await?;
        }
        None => {
            state
                .db
                .set_staff_totp(id, Some(sealed), false, None, now)
                .await?
        }
    }
    Ok((secret.to_string(), uri))
}

pub async fn totp_confirm(state: &AppState, caller: &Caller, code: &str) -> ApiResult<()> {
    let tid = caller.tenant_id();
    let id = caller.principal.user_id;
    let (sealed, enabled) = match tid {
        Some(t) => {
            let tx = state.db.tenant(t).await?;
            let u = tx.user(id).await?;
            tx.commit().await?;
            (u.totp_secret_enc, u.totp_enabled)
        }
        None => {
            let s = state.db.staff_by_id(id).await?;
            (s.totp_secret_enc, s.totp_enabled)
        }
    };
    if enabled {
        return Err(ApiError::conflict(
            "totp_already_enabled",
            "two-factor authentication is already on",
        ));
    }
    let Some(sealed) = sealed else {
        return Err(ApiError::conflict(
            "totp_not_enrolled",
            "call /v1/auth/totp/enroll first",
        ));
    };
    let secret = open_totp_secret(state, tid, id, &sealed).await?;
    let now_secs = u64::try_from(state.clock.now_secs()).unwrap_or_default();
    let step = auth::totp::verify_code(&secret, code, now_secs, None)
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::unprocessable("invalid_totp", "the code does not match"))?;
    let now = state.clock.now_ms();
    let rec = caller
        .actor()
        .record("auth.totp_enabled", "user", id, json!({}));
    match tid {
        Some(t) => {
            let tx = state.db.tenant(t).await?;
            tx.set_user_totp(id, Some(sealed), true, Some(step), now)
                .await?;
            tx.append_audit(&rec, now).await?;
            tx.commit().await?;
        }
        None => {
            state
                .db
                .set_staff_totp(id, Some(sealed), true, Some(step), now)
                .await?;
            audit(state, None, rec).await?;
        }
    }
    Ok(())
}
