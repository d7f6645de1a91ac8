//! TOTP second factor (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, ±1 step of skew), with
//! single use of each code enforced through the last step the caller stored.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::auth::AuthError;

/// Digits in a code.
pub const DIGITS: u8 = 6;
/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Steps accepted on either side of the current one.
pub const SKEW_STEPS: i64 = 1;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
const SECRET_LEN: usize = 20;

/// A new random secret, base32 (RFC 4648, no padding), ready for an authenticator app.
pub fn new_secret() -> Result<String, AuthError> {
    let mut raw = Zeroizing::new([0u8; SECRET_LEN]);
    getrandom::fill(raw.as_mut_slice()).map_err(|_| AuthError::Random)?;
    Ok(Secret::from(*raw).to_base32())
}

/// The `otpauth://totp/...` URI an authenticator app reads (usually from a QR code).
pub fn otpauth_uri(secret_b32: &str, issuer: &str, account: &str) -> Result<String, AuthError> {
    let totp = builder(secret_b32)?
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| AuthError::Totp(e.to_string()))?;
    totp.to_url().map_err(|e| AuthError::Totp(e.to_string()))
}

/// Checks `code` at `now_unix`, accepting the current step and one step either side.
///
/// Returns `Some(step)` for the step the code matched when that step is later than
/// `last_used_step`; the caller stores it as the new `last_used_step`, which makes each code
/// usable once. Returns `None` for a wrong, stale or replayed code. `Err` only for an
/// unusable secret.
pub fn verify_code(
    secret_b32: &str,
    code: &str,
    now_unix: u64,
    last_used_step: Option<i64>,
) -> Result<Option<i64>, AuthError> {
    let totp = build(secret_b32)?;
    let submitted: Zeroizing<String> =
        Zeroizing::new(code.chars().filter(|c| !c.is_whitespace()).collect());
    let current = step_of(now_unix);

    // Every candidate step is computed and compared, so timing does not reveal which matched.
    let mut matched: Option<i64> = None;
    for step in current.saturating_sub(SKEW_STEPS)..=current.saturating_add(SKEW_STEPS) {
        let Some(at) = step_start(step) else {
            continue;
        };
        let expected = Zeroizing::new(totp.generate(at).to_string());
        if bool::from(expected.as_bytes().ct_eq(submitted.as_bytes())) {
            matched = Some(matched.map_or(step, |m| m.max(step)));
        }
    }

    Ok(matched.filter(|step| last_used_step.is_none_or(|last| *step > last)))
}

/// The code for the step containing `now_unix`.
pub fn code_at(secret_b32: &str, now_unix: u64) -> Result<String, AuthError> {
    Ok(build(secret_b32)?.generate(now_unix).to_string())
}

/// The step number containing `now_unix`.
pub fn step_of(now_unix: u64) -> i64 {
    i64::try_from(now_unix / STEP_SECS).unwrap_or(i64::MAX)
}

fn step_start(step: i64) -> Option<u64> {
    u64::try_from(step).ok()?.checked_mul(STEP_SECS)
}

fn builder(secret_b32: &str) -> Result<Builder, AuthError> {
    let cleaned: Zeroizing<String> = Zeroizing::new(
        secret_b32
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    let secret = Secret::try_from_base32(cleaned.as_str())
        .map_err(|_| AuthError::Totp("the secret is not valid base32".to_owned()))?;
    Ok(Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECS)
        .with_skew(0)
        .with_secret(secret))
}

fn build(secret_b32: &str) -> Result<Totp, AuthError> {
    builder(secret_b32)?
        .build()
        .map_err(|e| AuthError::Totp(e.to_string()))
}
