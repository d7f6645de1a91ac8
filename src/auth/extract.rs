//! Request guards: `Caller` (a verified token whose session is still live) and
//! `Authorized<P>` (a caller whose role holds permission `P`).
//!
//! The session row is read on every request, so logout, disabling a user, a role change and a
//! suspended tenant take effect on the next request rather than when the token expires.
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::auth::{Permission, Principal, Role, role_allows};
use crate::error::ApiError;
use crate::identity::Actor;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::platform::STATUS_ACTIVE;

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub email: String,
    pub totp_enabled: bool,
    /// The tenant requires TOTP and this user has not enrolled: only enrolment is allowed.
    pub must_enroll_totp: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor {
            kind: if self.principal.role.is_platform() {
                "staff"
            } else {
                "user"
            },
            id: Some(self.principal.user_id),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
        }
    }

    /// The caller's tenant; platform staff have none.
    pub fn tenant_id(&self) -> Option<uuid::Uuid> {
        self.principal.tenant_id
    }
}

/// Client address and user agent of a request, for audit records and throttling.
pub fn client_info(req: &HttpRequest) -> (Option<String>, Option<String>) {
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    let ua = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    (ip, ua)
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(&"application state missing"))?
        .clone();
    let token = bearer(&req).ok_or_else(|| ApiError::unauthorized("unauthenticated"))?;
    let now_ms = state.clock.now_ms();
    let claims = state
        .jwt
        .verify(&token, now_ms.div_euclid(1000))
        .map_err(|_| ApiError::unauthorized("invalid_token"))?;
    let (ip, user_agent) = client_info(&req);
    let live = |revoked: Option<i64>, expires: i64| revoked.is_none() && expires > now_ms;
    let invalid = || ApiError::unauthorized("invalid_token");
    match claims.tid {
        Some(tenant_id) => {
            let tenant = state
                .db
                .tenant_by_id(tenant_id)
                .await
                .map_err(|_| invalid())?;
            if tenant.status != STATUS_ACTIVE {
                return Err(invalid());
            }
            let tx = state.db.tenant(tenant_id).await?;
            let session = match tx.session(claims.sid).await {
                Ok(s) => s,
                Err(StoreError::NotFound) => return Err(invalid()),
                Err(e) => return Err(e.into()),
            };
            let user = match tx.user(claims.sub).await {
                Ok(u) => u,
                Err(StoreError::NotFound) => return Err(invalid()),
                Err(e) => return Err(e.into()),
            };
            tx.commit().await?;
            if session.user_id != user.id
                || !live(session.revoked_at, session.expires_at)
                || user.disabled
            {
                return Err(invalid());
            }
            let role: Role = user.role.parse().map_err(|_| invalid())?;
            Ok(Caller {
                principal: Principal {
                    user_id: user.id,
                    session_id: session.id,
                    tenant_id: Some(tenant_id),
                    role,
                },
                email: user.email,
                totp_enabled: user.totp_enabled,
                must_enroll_totp: tenant.require_totp && !user.totp_enabled,
                ip,
                user_agent,
            })
        }
        None => {
            let session = state
                .db
                .staff_session(claims.sid)
                .await?
                .ok_or_else(invalid)?;
            let staff = match state.db.staff_by_id(claims.sub).await {
                Ok(s) => s,
                Err(StoreError::NotFound) => return Err(invalid()),
                Err(e) => return Err(e.into()),
            };
            if session.staff_id != staff.id
                || !live(session.revoked_at, session.expires_at)
                || staff.disabled
            {
                return Err(invalid());
            }
            let role: Role = staff.role.parse().map_err(|_| invalid())?;
            Ok(Caller {
                principal: Principal {
                    user_id: staff.id,
                    session_id: session.id,
                    tenant_id: None,
                    role,
                },
                email: staff.email,
                totp_enabled: staff.totp_enabled,
                must_enroll_totp: false,
                ip,
                user_agent,
            })
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// A permission a handler needs, as a type.
pub trait Need {
    const PERMISSION: Permission;
}

/// Marker types, one per permission, for `Authorized<perm::X>`.
pub mod perm {
    use super::{Need, Permission};
    macro_rules! needs {
        ($($name:ident),* $(,)?) => {
            $(
                #[derive(Debug)]
                pub struct $name;
                impl Need for $name {
                    const PERMISSION: Permission = Permission::$name;
                }
            )*
        };
    }
    needs!(
        ManageTenants,
        ReadTenantsMetadata,
        ReadOwnTenantMetadata,
        RequestTenantDeletion,
        CancelTenantDeletion,
        ExecuteTenantDeletion,
        ReadTenantDeletion,
        ManageBillingRecords,
        ReadBillingRecords,
        ManageNumbers,
        ManageUsers,
        ManageSettings,
        ManageSupportGrants,
        ReadAudit,
        ReadContacts,
        WriteContacts,
        ExportContacts,
        EraseContacts,
        ReadConversations,
        AssignConversations,
        UpdateConversationStatus,
        SendMessages,
        ManageStaff,
    );
}

/// A caller whose role holds permission `P` (403 otherwise). Resource-level checks (whose
/// object, which assignment) still go through `policy::decide` in the handler.
#[derive(Debug)]
pub struct Authorized<P: Need> {
    pub caller: Caller,
    _need: PhantomData<P>,
}

impl<P: Need> std::ops::Deref for Authorized<P> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Need + 'static> FromRequest for Authorized<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(req).await?;
            if caller.must_enroll_totp {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::FORBIDDEN,
                    "totp_enrollment_required",
                    "this tenant requires two-factor authentication: enrol with /v1/auth/totp/enroll",
                ));
            }
            if !role_allows(caller.principal.role, P::PERMISSION) {
                return Err(ApiError::forbidden());
            }
            Ok(Self {
                caller,
                _need: PhantomData,
            })
        })
    }
}
