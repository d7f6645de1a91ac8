//! Roles: the three tenant roles and the two platform staff roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Tenant roles (`Owner`, `Admin`, `Agent`) and platform staff roles (`Support`, `Operator`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Agent,
    Support,
    Operator,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Agent,
        Role::Support,
        Role::Operator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Support => "support",
            Role::Operator => "operator",
        }
    }

    /// Staff of the platform, not members of any tenant.
    pub fn is_platform(self) -> bool {
        matches!(self, Role::Support | Role::Operator)
    }

    /// Seniority among tenant roles: owner 3 > admin 2 > agent 1; platform roles 0.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Agent => 1,
            Role::Support | Role::Operator => 0,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of the five.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}
