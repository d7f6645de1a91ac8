//! The access policy: the role × permission table and the one function that decides whether
//! a principal may act on a resource.

mod permission;
mod role;

use uuid::Uuid;

pub use permission::Permission;
pub use role::{Role, UnknownRole};

const Y: bool = true;
const N: bool = false;

/// THE table. Columns: owner, admin, agent, support, operator. Support's content reads
/// additionally need an active support grant, and an agent's reach is limited to its
/// assigned conversations; both are resource conditions applied by [`decide`].
#[rustfmt::skip]
const fn row(perm: Permission) -> [bool; 5] {
    use Permission as P;
    match perm {
        //                              owner admin agent support operator
        P::ManageTenants            => [N, N, N, N, Y],
        P::ReadTenantsMetadata      => [N, N, N, Y, Y],
        P::ReadOwnTenantMetadata    => [Y, Y, N, Y, Y],
        P::RequestTenantDeletion    => [Y, N, N, Y, N],
        P::CancelTenantDeletion     => [Y, N, N, Y, N],
        P::ExecuteTenantDeletion    => [N, N, N, Y, N],
        P::ReadTenantDeletion       => [Y, N, N, Y, Y],
        P::ManageBillingRecords     => [N, N, N, N, Y],
        P::ReadBillingRecords       => [N, N, N, Y, Y],
        P::ManageNumbers            => [Y, Y, N, N, N],
        P::ManageUsers              => [Y, Y, N, N, N],
        P::ManageSettings           => [Y, Y, N, N, N],
        P::ManageSupportGrants      => [Y, N, N, N, N],
        P::ReadAudit                => [Y, Y, N, N, N],
        P::ReadContacts             => [Y, Y, Y, Y, N],
        P::WriteContacts            => [Y, Y, Y, N, N],
        P::ExportContacts           => [Y, Y, N, N, N],
        P::EraseContacts            => [Y, Y, N, N, N],
        P::ReadConversations        => [Y, Y, Y, Y, N],
        P::AssignConversations      => [Y, Y, N, N, N],
        P::UpdateConversationStatus => [Y, Y, Y, N, N],
        P::SendMessages             => [Y, Y, Y, N, N],
        P::ManageStaff              => [N, N, N, N, Y],
    }
}

/// Whether `role` holds `perm` at all. The role × permission decision lives only here.
pub fn role_allows(role: Role, perm: Permission) -> bool {
    let [owner, admin, agent, support, operator] = row(perm);
    match role {
        Role::Owner => owner,
        Role::Admin => admin,
        Role::Agent => agent,
        Role::Support => support,
        Role::Operator => operator,
    }
}

/// The authenticated caller, as established from a verified access token and its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// `None` for platform staff.
    pub tenant_id: Option<Uuid>,
    pub role: Role,
}

/// What an action targets. `Tenant(id)` also stands for a tenant's collections (lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Platform,
    Tenant(Uuid),
    Conversation {
        tenant_id: Uuid,
        assignee_id: Option<Uuid>,
    },
    Contact {
        tenant_id: Uuid,
        /// The contact belongs to a conversation assigned to the calling agent.
        visible_to_agent: bool,
    },
}

impl Resource {
    /// The tenant the resource belongs to; `None` for the platform.
    pub fn tenant_id(&self) -> Option<Uuid> {
        match *self {
            Resource::Platform => None,
            Resource::Tenant(id)
            | Resource::Conversation { tenant_id: id, .. }
            | Resource::Contact { tenant_id: id, .. } => Some(id),
        }
    }
}

/// The outcome, mapped by the caller to a status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// 403: the caller may know the resource but lacks the permission.
    Deny,
    /// 404: the resource is not the caller's to know about.
    NotFound,
}

/// Decides whether `p` may do `perm` on `res`. `support_grant_active` tells whether the
/// resource's tenant has an unexpired support grant; it matters only to support staff.
/// For a collection (`Resource::Tenant`) an agent is allowed, and the caller must then limit
/// the rows to that agent's assigned conversations and their contacts.
pub fn decide(
    p: &Principal,
    perm: Permission,
    res: &Resource,
    support_grant_active: bool,
) -> Decision {
    let allowed = role_allows(p.role, perm);
    match (p.role.is_platform(), p.tenant_id) {
        // Staff belong to no tenant.
        (true, None) => {
            if !allowed {
                return Decision::Deny;
            }
            if p.role == Role::Support && perm.is_content_read() {
                return match res.tenant_id() {
                    Some(_) if support_grant_active => Decision::Allow,
                    Some(_) => Decision::NotFound,
                    None => Decision::Deny,
                };
            }
            Decision::Allow
        }
        (false, Some(own_tenant)) => {
            let Some(target_tenant) = res.tenant_id() else {
                return if allowed && perm.is_platform_level() {
                    Decision::Allow
                } else {
                    Decision::Deny
                };
            };
            if target_tenant != own_tenant {
                return Decision::NotFound;
            }
            if !allowed {
                return Decision::Deny;
            }
            if p.role == Role::Agent && !agent_reaches(p.user_id, res) {
                return Decision::NotFound;
            }
            Decision::Allow
        }
        // A principal whose role and tenant disagree is malformed: refuse everything.
        _ => Decision::Deny,
    }
}

fn agent_reaches(user_id: Uuid, res: &Resource) -> bool {
    match *res {
        Resource::Conversation { assignee_id, .. } => assignee_id == Some(user_id),
        Resource::Contact {
            visible_to_agent, ..
        } => visible_to_agent,
        Resource::Tenant(_) | Resource::Platform => true,
    }
}

/// Whether `actor` may give `target` to a user (create or change role). Only an owner makes
/// owners or admins; an admin makes agents; operators manage platform staff.
pub fn may_assign_role(actor: Role, target: Role) -> bool {
    match actor {
        Role::Owner => !target.is_platform(),
        Role::Admin => target == Role::Agent,
        Role::Operator => target.is_platform(),
        Role::Agent | Role::Support => false,
    }
}
