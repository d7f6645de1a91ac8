//! Tests of the role × permission table, role names and role assignment.

use crate::auth::{Permission, Role, may_assign_role, role_allows};

const EXPECTED: &str = "
    permission                owner admin agent support operator
    ManageTenants               .     .     .     .      x
    ReadTenantsMetadata         .     .     .     x      x
    ReadOwnTenantMetadata       x     x     .     x      x
    RequestTenantDeletion       x     .     .     x      .
    CancelTenantDeletion        x     .     .     x      .
    ExecuteTenantDeletion       .     .     .     x      .
    ReadTenantDeletion          x     .     .     x      x
    ManageBillingRecords        .     .     .     .      x
    ReadBillingRecords          .     .     .     x      x
    ManageNumbers               x     x     .     .      .
    ManageUsers                 x     x     .     .      .
    ManageSettings              x     x     .     .      .
    ManageSupportGrants         x     .     .     .      .
    ReadAudit                   x     x     .     .      .
    ReadContacts                x     x     x     x      .
    WriteContacts               x     x     x     .      .
    ExportContacts              x     x     .     .      .
    EraseContacts               x     x     .     .      .
    ReadConversations           x     x     x     x      .
    AssignConversations         x     x     .     .      .
    UpdateConversationStatus    x     x     x     .      .
    SendMessages                x     x     x     .      .
    ManageStaff                 .     .     .     .      x
";

#[test]
fn role_permission_matrix_is_exactly_the_expected_table() {
    let mut lines = EXPECTED.lines().map(str::trim).filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().skip(1).collect();
    let roles: Vec<Role> = header.iter().map(|r| r.parse().unwrap()).collect();
    assert_eq!(roles, Role::ALL);

    let mut seen = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells.len(), 6, "{line}");
        let perm = *Permission::ALL
            .iter()
            .find(|p| format!("{p:?}") == cells[0])
            .unwrap_or_else(|| panic!("unknown permission {}", cells[0]));
        assert!(!seen.contains(&perm), "{perm:?} listed twice");
        seen.push(perm);
        for (role, cell) in roles.iter().zip(&cells[1..]) {
            let expected = match *cell {
                "x" => true,
                "." => false,
                other => panic!("bad cell {other}"),
            };
            assert_eq!(role_allows(*role, perm), expected, "{role:?} × {perm:?}");
        }
    }
    assert_eq!(
        seen.len(),
        Permission::ALL.len(),
        "every permission has a row"
    );
}

#[test]
fn owner_contains_admin_contains_agent() {
    for perm in Permission::ALL {
        if role_allows(Role::Agent, perm) {
            assert!(role_allows(Role::Admin, perm), "{perm:?}");
        }
        if role_allows(Role::Admin, perm) {
            assert!(role_allows(Role::Owner, perm), "{perm:?}");
        }
    }
    assert!(Role::Owner.rank() > Role::Admin.rank() && Role::Admin.rank() > Role::Agent.rank());
}

#[test]
fn role_names_round_trip() {
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        assert_eq!(role.to_string(), role.as_str());
    }
    assert!("Owner".parse::<Role>().is_err());
    assert!("root".parse::<Role>().is_err());
    assert!(Role::Support.is_platform() && Role::Operator.is_platform());
    assert!(!Role::Owner.is_platform() && !Role::Agent.is_platform());
}

#[test]
fn role_assignment_rules() {
    use Role::*;
    let expected = [
        (Owner, [true, true, true, false, false]),
        (Admin, [false, false, true, false, false]),
        (Agent, [false, false, false, false, false]),
        (Support, [false, false, false, false, false]),
        (Operator, [false, false, false, true, true]),
    ];
    for (actor, row) in expected {
        for (target, allowed) in Role::ALL.into_iter().zip(row) {
            assert_eq!(
                may_assign_role(actor, target),
                allowed,
                "{actor:?} -> {target:?}"
            );
        }
    }
}
