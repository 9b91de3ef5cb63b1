//! Optional authentication: HS256 bearer tokens whose `sub` is the user id, argon2id passwords.
//!
//! With `AUTH_SECRET` unset the API is open (a warning is logged at start). With it set, every
//! `/api/{user_id}/…` request needs a token for that user and every `/mcp` request a valid token
//! (the guards are in `routes::guard`).
//!
//! Passwords are hashed by [`password::Hasher`] (a fixed number at once), and failed logins are
//! limited per account and per client address by [`limit::LoginLimiter`].

pub mod limit;
pub mod password;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// How long a token stays valid.
const TOKEN_TTL_SECS: u64 = 7 * 24 * 3600;
/// Clock difference tolerated on `exp` (the library's default is 60 s).
pub const TOKEN_LEEWAY_SECS: u64 = 5;

/// The signing keys derived from `AUTH_SECRET`.
pub struct AuthKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKeys(redacted)")
    }
}

/// The claims of our tokens.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
}

/// The user a valid `/mcp` token belongs to, put in the request's extensions.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser(pub String);

impl AuthKeys {
    pub fn new(secret: &SecretString) -> Arc<Self> {
        let bytes = secret.expose_secret().as_bytes();
        Arc::new(Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
        })
    }

    /// A token for `user_id`.
    pub fn issue(&self, user_id: &str) -> Result<String, ApiError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = Claims {
            sub: user_id.to_owned(),
            iat: now,
            exp: now + TOKEN_TTL_SECS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(Box::new(e)))
    }

    /// The claims of a valid, unexpired HS256 token.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = TOKEN_LEEWAY_SECS;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::Unauthorized("the bearer token is invalid or expired".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_other_keys() {
        let keys = AuthKeys::new(&SecretString::from("a-test-secret-of-some-length"));
        let token = keys.issue("alice").expect("issue");
        assert_eq!(keys.verify(&token).expect("valid").sub, "alice");
        let other = AuthKeys::new(&SecretString::from("another-secret-entirely"));
        assert!(other.verify(&token).is_err());
        assert!(keys.verify("not.a.token").is_err());
    }

    #[test]
    fn expiry_tolerates_at_most_five_seconds() {
        let keys = AuthKeys::new(&SecretString::from("a-test-secret-of-some-length"));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .expect("clock after 1970");
        let token = |exp: u64| {
            let claims = Claims {
                sub: "alice".into(),
                iat: now - 100,
                exp,
            };
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding)
                .expect("encode")
        };
        assert!(keys.verify(&token(now - 2)).is_ok(), "within the leeway");
        assert!(keys.verify(&token(now - 10)).is_err(), "10 s past expiry");
    }
}
