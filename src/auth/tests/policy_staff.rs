//! Tests of resource-level decisions for platform staff: support grants, no content writes.

use uuid::Uuid;

use super::policy_decide::{member, staff};
use crate::auth::{Decision, Permission, Resource, Role, decide};

#[test]
fn support_reads_content_only_under_a_grant_and_never_writes() {
    let tenant = Uuid::new_v4();
    let support = staff(Role::Support);
    let conv = Resource::Conversation {
        tenant_id: tenant,
        assignee_id: None,
    };
    let contact = Resource::Contact {
        tenant_id: tenant,
        visible_to_agent: false,
    };
    for (perm, res) in [
        (Permission::ReadConversations, conv),
        (Permission::ReadContacts, contact),
        (Permission::ReadContacts, Resource::Tenant(tenant)),
    ] {
        assert_eq!(
            decide(&support, perm, &res, false),
            Decision::NotFound,
            "{perm:?}"
        );
        assert_eq!(
            decide(&support, perm, &res, true),
            Decision::Allow,
            "{perm:?}"
        );
    }
    for perm in [
        Permission::WriteContacts,
        Permission::SendMessages,
        Permission::EraseContacts,
        Permission::ExportContacts,
        Permission::AssignConversations,
    ] {
        for grant in [false, true] {
            let d = decide(&support, perm, &contact, grant);
            assert!(
                matches!(d, Decision::Deny | Decision::NotFound),
                "{perm:?} {grant}"
            );
        }
    }
    let tenant_res = Resource::Tenant(tenant);
    assert_eq!(
        decide(
            &support,
            Permission::ReadOwnTenantMetadata,
            &tenant_res,
            false
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(
            &support,
            Permission::ExecuteTenantDeletion,
            &tenant_res,
            false
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(
            &support,
            Permission::ManageTenants,
            &Resource::Platform,
            false
        ),
        Decision::Deny
    );
}

#[test]
fn operator_runs_the_platform_but_not_tenant_content() {
    let op = staff(Role::Operator);
    let tenant = Uuid::new_v4();
    assert_eq!(
        decide(&op, Permission::ManageTenants, &Resource::Platform, false),
        Decision::Allow
    );
    assert_eq!(
        decide(&op, Permission::ManageStaff, &Resource::Platform, false),
        Decision::Allow
    );
    let contact = Resource::Contact {
        tenant_id: tenant,
        visible_to_agent: true,
    };
    for grant in [false, true] {
        assert_eq!(
            decide(&op, Permission::ReadContacts, &contact, grant),
            Decision::Deny
        );
        assert_eq!(
            decide(&op, Permission::WriteContacts, &contact, grant),
            Decision::Deny
        );
    }
    assert_eq!(
        decide(
            &op,
            Permission::ExecuteTenantDeletion,
            &Resource::Tenant(tenant),
            false
        ),
        Decision::Deny
    );
}

#[test]
fn malformed_principals_are_refused() {
    let tenant = Uuid::new_v4();
    let mut support_in_tenant = staff(Role::Support);
    support_in_tenant.tenant_id = Some(tenant);
    let mut owner_without_tenant = member(Role::Owner, tenant);
    owner_without_tenant.tenant_id = None;
    let res = Resource::Tenant(tenant);
    assert_eq!(
        decide(&support_in_tenant, Permission::ReadContacts, &res, true),
        Decision::Deny
    );
    assert_eq!(
        decide(&owner_without_tenant, Permission::ManageUsers, &res, false),
        Decision::Deny
    );
}
