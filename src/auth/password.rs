//! Password hashing (Argon2id, PHC strings), rehash detection and the password policy.
//!
//! Hashing and verifying cost tens of milliseconds of CPU and ~19 MiB of memory on purpose:
//! async callers must run [`hash_password`], [`verify_password`] and [`dummy_hash`] inside
//! the hashing pool (`auth::hashpool`), never directly on an executor thread.

use std::sync::OnceLock;

use argon2::password_hash::Error as PhcError;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::auth::AuthError;

const MIN_LEN: usize = 12;
const MAX_LEN: usize = 128;
const MIN_EMAIL_LOCAL_LEN: usize = 3;

/// Passwords that meet the length rule yet are among the first tried by any attacker.
const COMMON_PASSWORDS: &[&str] = &[
    "password1234",
    "password12345",
    "password123456",
    "password123!",
    "passwordpassword",
    "123456789012",
    "1234567890123",
    "12345678901234",
    "1234567890ab",
    "qwertyuiopas",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "zaq12wsxcde3",
    "abcdefghijkl",
    "abc123abc123",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "admin1234567",
    "administrator",
    "changeme1234",
    "football1234",
    "monkey123456",
    "princess1234",
    "sunshine1234",
    "whatsapp1234",
    "wavault12345",
];

/// Argon2id cost parameters. The default is the OWASP minimum; lower values are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory cost in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism.
    pub p_cost: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self {
            m_cost_kib: 19_456,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl PasswordParams {
    /// Refuses parameters below the OWASP minimum (m=19456 KiB, t=2, p=1) or that Argon2
    /// itself rejects.
    pub fn validate(&self) -> Result<(), AuthError> {
        let floor = Self::default();
        if self.m_cost_kib < floor.m_cost_kib
            || self.t_cost < floor.t_cost
            || self.p_cost < floor.p_cost
        {
            return Err(AuthError::Hash(format!(
                "argon2 parameters m={}, t={}, p={} are below the minimum m={}, t={}, p={}",
                self.m_cost_kib,
                self.t_cost,
                self.p_cost,
                floor.m_cost_kib,
                floor.t_cost,
                floor.p_cost
            )));
        }
        self.to_argon2().map(|_| ())
    }

    fn to_argon2(self) -> Result<Params, AuthError> {
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None)
            .map_err(|e| AuthError::Hash(format!("argon2 parameters refused: {e}")))
    }
}

/// Hashes `pw` with Argon2id and a fresh random salt; returns the PHC string.
/// CPU-heavy: run it on the hashing pool.
pub fn hash_password(pw: &str, params: &PasswordParams) -> Result<String, AuthError> {
    params.validate()?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
    let hash = hasher.hash_password(pw.as_bytes()).map_err(|e| match e {
        PhcError::RngFailure => AuthError::Random,
        other => AuthError::Hash(other.to_string()),
    })?;
    Ok(hash.to_string())
}

/// Checks `pw` against a stored PHC string, using the parameters recorded in it.
/// `Ok(false)` for a wrong password; `Err` only when the stored hash cannot be used.
/// CPU-heavy: run it on the hashing pool.
pub fn verify_password(pw: &str, phc: &str) -> Result<bool, AuthError> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| AuthError::Hash(format!("stored hash: {e}")))?;
    // Without these the library reports a plain mismatch; a hash lacking them is corrupt.
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(AuthError::Hash(
            "stored hash lacks its salt or output".to_owned(),
        ));
    }
    match Argon2::default().verify_password(pw.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(PhcError::PasswordInvalid) => Ok(false),
        Err(e) => Err(AuthError::Hash(format!("stored hash: {e}"))),
    }
}

/// True when a stored hash should be replaced at the next successful login: it is not
/// Argon2id v1.3, any of its costs is below `params`, or it cannot be read at all.
pub fn needs_rehash(phc: &str, params: &PasswordParams) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT
        || parsed.version != Some(u32::from(Version::V0x13))
    {
        return true;
    }
    match Params::try_from(&parsed) {
        Ok(stored) => {
            stored.m_cost() < params.m_cost_kib
                || stored.t_cost() < params.t_cost
                || stored.p_cost() < params.p_cost
        }
        Err(_) => true,
    }
}

/// A valid Argon2id hash (default parameters) of an unguessable password, computed once.
/// Login verifies the submitted password against it when the account does not exist, so an
/// unknown email costs the same time as a wrong password. The verification result must be
/// ignored. The first call is CPU-heavy: run it on the hashing pool.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut raw = [0u8; 32];
        let password = match getrandom::fill(&mut raw) {
            Ok(()) => raw.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            Err(_) => String::from("dummy-password-never-matches-an-account"),
        };
        hash_password(&password, &PasswordParams::default())
            .unwrap_or_else(|_| FALLBACK_DUMMY_HASH.to_owned())
    })
}

/// Used only if hashing fails at start-up, so that [`dummy_hash`] stays infallible. Same
/// parameters as the default, hence the same verification cost.
pub(crate) const FALLBACK_DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bCAVBeORDREP7Y6e7yyYOQ$+BCJ1f1I1kd2i3Pu9QTUG85GxaASAPzZ7c5nYJuD65Q";

/// Why a password was refused. `code()` is the machine code sent to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("password must be at least 12 characters long")]
    TooShort,
    #[error("password must be at most 128 characters long")]
    TooLong,
    #[error("password must not repeat a single character")]
    SingleCharacter,
    #[error("password must not contain the email address")]
    ContainsEmail,
    #[error("password is too common")]
    Common,
}

impl PolicyViolation {
    /// The machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::SingleCharacter | Self::ContainsEmail | Self::Common => "password_too_weak",
        }
    }

    /// A sentence that tells the user what to change.
    pub fn detail(&self) -> &'static str {
        match self {
            Self::TooShort => "The password must be at least 12 characters long.",
            Self::TooLong => "The password must be at most 128 characters long.",
            Self::SingleCharacter => "The password must not be one character repeated.",
            Self::ContainsEmail => "The password must not contain the name of the email address.",
            Self::Common => "This password is among the most common ones; choose another.",
        }
    }
}

/// Checks a new password against the policy. Lengths are counted in characters, not bytes.
pub fn check_policy(pw: &str, email: &str) -> Result<(), PolicyViolation> {
    let len = pw.chars().count();
    if len < MIN_LEN {
        return Err(PolicyViolation::TooShort);
    }
    if len > MAX_LEN {
        return Err(PolicyViolation::TooLong);
    }
    let mut chars = pw.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Err(PolicyViolation::SingleCharacter);
    }
    let lowered = pw.to_lowercase();
    let local = email
        .split('@')
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    if local.chars().count() >= MIN_EMAIL_LOCAL_LEN && lowered.contains(&local) {
        return Err(PolicyViolation::ContainsEmail);
    }
    if COMMON_PASSWORDS.contains(&lowered.as_str()) {
        return Err(PolicyViolation::Common);
    }
    Ok(())
}
