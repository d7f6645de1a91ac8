//! Tests of resource-level decisions for tenant roles: tenant isolation and agent scope.

use uuid::Uuid;

use crate::auth::{Decision, Permission, Principal, Resource, Role, decide};

pub(super) fn member(role: Role, tenant: Uuid) -> Principal {
    Principal {
        user_id: Uuid::new_v4(),
        session_id: Uuid::new_v4(),
        tenant_id: Some(tenant),
        role,
    }
}

pub(super) fn staff(role: Role) -> Principal {
    Principal {
        user_id: Uuid::new_v4(),
        session_id: Uuid::new_v4(),
        tenant_id: None,
        role,
    }
}

#[test]
fn another_tenants_resource_is_not_found_never_forbidden() {
    let (mine, theirs) = (Uuid::new_v4(), Uuid::new_v4());
    for role in [Role::Owner, Role::Admin, Role::Agent] {
        let p = member(role, mine);
        for perm in Permission::ALL {
            for res in [
                Resource::Tenant(theirs),
                Resource::Conversation {
                    tenant_id: theirs,
                    assignee_id: Some(p.user_id),
                },
                Resource::Contact {
                    tenant_id: theirs,
                    visible_to_agent: true,
                },
            ] {
                assert_eq!(
                    decide(&p, perm, &res, true),
                    Decision::NotFound,
                    "{role:?} {perm:?}"
                );
            }
        }
    }
}

#[test]
fn agent_reaches_only_assigned_conversations_and_their_contacts() {
    let tenant = Uuid::new_v4();
    let agent = member(Role::Agent, tenant);
    let assigned = Resource::Conversation {
        tenant_id: tenant,
        assignee_id: Some(agent.user_id),
    };
    let other = Resource::Conversation {
        tenant_id: tenant,
        assignee_id: Some(Uuid::new_v4()),
    };
    let unassigned = Resource::Conversation {
        tenant_id: tenant,
        assignee_id: None,
    };
    for perm in [
        Permission::ReadConversations,
        Permission::SendMessages,
        Permission::UpdateConversationStatus,
    ] {
        assert_eq!(
            decide(&agent, perm, &assigned, false),
            Decision::Allow,
            "{perm:?}"
        );
        assert_eq!(
            decide(&agent, perm, &other, false),
            Decision::NotFound,
            "{perm:?}"
        );
        assert_eq!(
            decide(&agent, perm, &unassigned, false),
            Decision::NotFound,
            "{perm:?}"
        );
    }
    let visible = Resource::Contact {
        tenant_id: tenant,
        visible_to_agent: true,
    };
    let hidden = Resource::Contact {
        tenant_id: tenant,
        visible_to_agent: false,
    };
    assert_eq!(
        decide(&agent, Permission::WriteContacts, &visible, false),
        Decision::Allow
    );
    assert_eq!(
        decide(&agent, Permission::ReadContacts, &hidden, false),
        Decision::NotFound
    );
    // Reassigning is not an agent's, even on its own conversation.
    assert_eq!(
        decide(&agent, Permission::AssignConversations, &assigned, false),
        Decision::Deny
    );
    assert_eq!(
        decide(&agent, Permission::ExportContacts, &visible, false),
        Decision::Deny
    );
}

#[test]
fn tenant_role_lacking_the_permission_is_forbidden() {
    let tenant = Uuid::new_v4();
    let agent = member(Role::Agent, tenant);
    assert_eq!(
        decide(
            &agent,
            Permission::ManageUsers,
            &Resource::Tenant(tenant),
            false
        ),
        Decision::Deny
    );
    let admin = member(Role::Admin, tenant);
    let res = Resource::Tenant(tenant);
    assert_eq!(
        decide(&admin, Permission::ManageSupportGrants, &res, false),
        Decision::Deny
    );
    assert_eq!(
        decide(&admin, Permission::RequestTenantDeletion, &res, false),
        Decision::Deny
    );
    assert_eq!(
        decide(
            &admin,
            Permission::ManageTenants,
            &Resource::Platform,
            false
        ),
        Decision::Deny
    );
    let owner = member(Role::Owner, tenant);
    assert_eq!(
        decide(&owner, Permission::ManageSupportGrants, &res, false),
        Decision::Allow
    );
    assert_eq!(
        decide(
            &owner,
            Permission::ReadTenantsMetadata,
            &Resource::Platform,
            false
        ),
        Decision::Deny
    );
    let unassigned = Resource::Conversation {
        tenant_id: tenant,
        assignee_id: None,
    };
    assert_eq!(
        decide(&admin, Permission::ReadConversations, &unassigned, false),
        Decision::Allow
    );
}
