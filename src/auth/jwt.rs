//! Access tokens: HS256 JWTs naming the user, the session, the tenant and the role.
//!
//! Time is a parameter (`now_unix`), so expiry is checked against the caller's clock rather
//! than the system clock that jsonwebtoken would read.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::AuthError;
use crate::auth::policy::Role;

/// Shortest signing secret accepted, in bytes (the HS256 output size).
pub const MIN_SECRET_LEN: usize = 32;

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The claims of an access token.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Claims {
    /// The user id, or the staff id for platform staff.
    pub sub: Uuid,
    /// The session id; the session row decides whether the token still counts.
    pub sid: Uuid,
    /// The tenant, `None` for platform staff.
    pub tid: Option<Uuid>,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signing and verification keys with the issuer, audience and lifetime they go with.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
    leeway_secs: i64,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("secret", &"[redacted]")
            .field("algorithm", &"HS256")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl_secs", &self.ttl_secs)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

impl JwtKeys {
    /// Builds the keys. Refuses a secret shorter than [`MIN_SECRET_LEN`] bytes. A `ttl_secs`
    /// below one second is raised to one second; a leeway beyond `i64::MAX` is capped.
    pub fn new(
        secret: &[u8],
        issuer: impl Into<String>,
        audience: impl Into<String>,
        ttl_secs: i64,
        leeway_secs: u64,
    ) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(AuthError::WeakSecret(format!(
                "WAVAULT__AUTH__JWT_SECRET must be at least {MIN_SECRET_LEN} bytes long \
                 (it has {})",
                secret.len()
            )));
        }
        let issuer = issuer.into();
        let audience = audience.into();

        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_audience(&[audience.as_str()]);
        validation.validate_aud = true;
        // Expiry is checked in `verify` against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;

        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer,
            audience,
            ttl_secs: ttl_secs.max(1),
            leeway_secs: i64::try_from(leeway_secs).unwrap_or(i64::MAX),
        })
    }

    /// The lifetime of the tokens issued, in seconds.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Signs a token valid from `now_unix` for the configured lifetime.
    /// Returns the token and its lifetime in seconds (`expires_in`).
    pub fn issue(
        &self,
        sub: Uuid,
        sid: Uuid,
        tid: Option<Uuid>,
        role: Role,
        now_unix: i64,
    ) -> Result<(String, i64), AuthError> {
        let claims = Claims {
            sub,
            sid,
            tid,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now_unix,
            exp: now_unix.saturating_add(self.ttl_secs),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| AuthError::InvalidToken)?;
        Ok((token, self.ttl_secs))
    }

    /// Verifies signature (HS256 only), issuer, audience, expiry and issue time.
    /// Any failure is [`AuthError::InvalidToken`], whatever its cause.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::InvalidToken);
        }
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AuthError::InvalidToken)?
            .claims;
        // jsonwebtoken checked these already; the second check keeps this function's promise
        // independent of that library's defaults.
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(AuthError::InvalidToken);
        }
        // Valid while now < exp (RFC 7519 4.1.4), stretched by the leeway.
        if now_unix >= claims.exp.saturating_add(self.leeway_secs) {
            return Err(AuthError::InvalidToken);
        }
        if claims.iat > now_unix.saturating_add(self.leeway_secs) {
            return Err(AuthError::InvalidToken);
        }
        Ok(claims)
    }
}
