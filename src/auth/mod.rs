//! Authentication and authorisation primitives: passwords, access tokens, TOTP, refresh
//! tokens and the access policy. Pure functions and value types, no I/O.
//!
//! Password hashing and verification are CPU-heavy (tens of milliseconds each): async callers
//! run them on the hashing pool (`auth::hashpool`).

pub mod jwt;
pub mod password;
pub mod policy;
pub mod tokens;
pub mod totp;

#[cfg(test)]
mod tests;

pub use jwt::{Claims, JwtKeys};
pub use password::{
    PasswordParams, PolicyViolation, check_policy, dummy_hash, hash_password, needs_rehash,
    verify_password,
};
pub use policy::{
    Decision, Permission, Principal, Resource, Role, UnknownRole, decide, may_assign_role,
    role_allows,
};
pub use tokens::{hashes_equal, new_refresh_token, parse_refresh_token};

/// Errors of the auth primitives. None of them carries a secret, a password or a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is malformed, forged, expired or meant for someone else. Deliberately
    /// carries no reason: every such case answers the same 401.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A configured secret is too weak to be used.
    #[error("weak secret: {0}")]
    WeakSecret(String),
    /// Password hashing failed, a stored hash is corrupt, or the parameters are refused.
    #[error("password hash error: {0}")]
    Hash(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A TOTP secret or label is unusable.
    #[error("totp error: {0}")]
    Totp(String),
}

pub mod extract;
pub mod hashpool;
pub mod throttle;
