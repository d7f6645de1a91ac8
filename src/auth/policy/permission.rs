//! Permissions: one per action of the HTTP contract. Who holds which is decided in the
//! table of the parent module, nowhere else.

/// Every action of the HTTP contract, named by what it does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
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
}

impl Permission {
    pub const ALL: [Permission; 23] = [
        Permission::ManageTenants,
        Permission::ReadTenantsMetadata,
        Permission::ReadOwnTenantMetadata,
        Permission::RequestTenantDeletion,
        Permission::CancelTenantDeletion,
        Permission::ExecuteTenantDeletion,
        Permission::ReadTenantDeletion,
        Permission::ManageBillingRecords,
        Permission::ReadBillingRecords,
        Permission::ManageNumbers,
        Permission::ManageUsers,
        Permission::ManageSettings,
        Permission::ManageSupportGrants,
        Permission::ReadAudit,
        Permission::ReadContacts,
        Permission::WriteContacts,
        Permission::ExportContacts,
        Permission::EraseContacts,
        Permission::ReadConversations,
        Permission::AssignConversations,
        Permission::UpdateConversationStatus,
        Permission::SendMessages,
        Permission::ManageStaff,
    ];

    /// Acts on the platform as a whole rather than on one tenant.
    pub fn is_platform_level(self) -> bool {
        matches!(
            self,
            Permission::ManageTenants | Permission::ReadTenantsMetadata | Permission::ManageStaff
        )
    }

    /// Reads contact or message content: support needs a grant for these.
    pub fn is_content_read(self) -> bool {
        matches!(
            self,
            Permission::ReadContacts | Permission::ReadConversations
        )
    }
}
