//! argon2id password hashing with a fixed number of hashes at once and reused memory.
//!
//! New hashes use m = 12 MiB, t = 3, p = 1: one of the argon2id settings the OWASP password
//! storage guidance rates as equally strong as the crate's default (m = 19 MiB, t = 2), with
//! less memory per hash. Hashing freely on the blocking thread pool let parallel logins allocate
//! a buffer per request, and the allocator kept most of it: RSS grew to gigabytes. Here at most
//! `concurrency` hashes run at once, each on one of `concurrency` buffers allocated once and
//! reused, so hashing holds at most `concurrency × 12 MiB`. A request that finds every slot
//! taken waits up to `wait`, then gets [`HashError::Busy`] (answered 503 with `Retry-After`).
//!
//! Hashes stored with other parameters (the earlier 19 MiB default) still verify; a buffer that
//! had to grow for one is freed afterwards, so the steady state stays at 12 MiB per slot.
//!
//! Unknown accounts are verified against a dummy hash with the same parameters, so a login
//! takes as long whether or not the email is registered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// Memory of a new hash, in KiB.
pub const M_COST: u32 = 12 * 1024;
/// Passes over that memory.
pub const T_COST: u32 = 3;
/// A stored hash asking for more memory than this (KiB) is refused rather than computed, so a
/// tampered row cannot make the backend allocate without bound.
const MAX_M_COST: u32 = 64 * 1024;

/// The parameters of new hashes (and of the dummy hash).
fn params() -> Params {
    Params::new(M_COST, T_COST, 1, Some(Params::DEFAULT_OUTPUT_LEN)).unwrap_or(Params::DEFAULT)
}

/// Why a hash could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("every password-hashing slot is busy")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The hashing slots and their buffers.
pub struct Hasher {
    permits: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
    wait: Duration,
    dummy: String,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("free", &self.permits.available_permits())
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// `concurrency` hashes at once (at least 1); others wait up to `wait` for a slot.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            buffers: Arc::new(Mutex::new(Vec::new())),
            wait,
            dummy: dummy_hash(),
        }
    }

    /// A new argon2id hash of `password` in PHC format.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |blocks| hash_with(password.as_bytes(), blocks))
            .await?
    }

    /// Whether `password` matches `stored`; with `None` (no such account) the password is
    /// checked against a dummy hash that matches nothing, taking the same time.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy.clone());
        let matched = self
            .run(move |blocks| verify_with(password.as_bytes(), &phc, blocks))
            .await?;
        Ok(known && matched)
    }

    /// Runs `work` on a blocking thread with a hashing slot and a buffer. The slot and the
    /// buffer go back when the work ends, even if the request that asked has gone.
    async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> R + Send + 'static,
    ) -> Result<R, HashError> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        let buffers = self.buffers.clone();
        tokio::task::spawn_blocking(move || {
            let mut blocks = take(&buffers);
            let result = work(&mut blocks);
            give_back(&buffers, blocks);
            drop(permit);
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }
}

fn take(buffers: &Mutex<Vec<Vec<Block>>>) -> Vec<Block> {
    buffers
        .lock()
        .map(|mut b| b.pop().unwrap_or_default())
        .unwrap_or_default()
}

/// Returns a buffer to the pool; one that grew beyond the current parameters (for an older,
/// larger hash) is freed instead, and the next use allocates the usual size.
fn give_back(buffers: &Mutex<Vec<Vec<Block>>>, blocks: Vec<Block>) {
    let blocks = if blocks.len() > params().block_count() {
        Vec::new()
    } else {
        blocks
    };
    if let Ok(mut b) = buffers.lock() {
        b.push(blocks);
    }
}

/// Makes `blocks` hold at least `count` blocks (it only ever grows, so it is allocated once).
fn reserve(blocks: &mut Vec<Block>, count: usize) {
    if blocks.len() < count {
        blocks.resize(count, Block::default());
    }
}

fn hash_with(password: &[u8], blocks: &mut Vec<Block>) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError::Failed(e.to_string());
    let params = params();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    reserve(blocks, params.block_count());
    argon
        .hash_password_into_with_memory(password, salt_raw, &mut out, &mut blocks[..])
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Recomputes the stored hash's function with its own parameters and salt, in `blocks`, and
/// compares in constant time. Anything malformed is a mismatch.
fn verify_with(password: &[u8], phc: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST {
        tracing::warn!(
            m_cost = params.m_cost(),
            "stored password hash asks for too much memory"
        );
        return false;
    }
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    reserve(blocks, argon.params().block_count());
    if argon
        .hash_password_into_with_memory(password, salt_raw, &mut out, &mut blocks[..])
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|o| o == expected)
}

/// A well-formed argon2id hash with the parameters of new hashes, a random salt and a random
/// output: verifying against it costs a full hash and matches no password.
fn dummy_hash() -> String {
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    OsRng.fill_bytes(&mut out);
    let salt = SaltString::generate(&mut OsRng);
    let params = params();
    match (ParamsString::try_from(&params), Output::new(&out)) {
        (Ok(params), Ok(output)) => PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        }
        .to_string(),
        // Not reachable with the default parameters; an empty dummy would be a fast mismatch.
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[tokio::test]
    async fn hashes_verify_and_interoperate_with_the_argon2_crate() {
        let hasher = Hasher::new(2, Duration::from_secs(5));
        let hash = hasher.hash("correct horse".into()).await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        // The argon2 crate's own verifier agrees, so stored hashes stay portable.
        let parsed = PasswordHash::new(&hash).expect("PHC");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // And hashes made by the argon2 crate (the earlier format) still verify here.
        let old = argon2::PasswordHasher::hash_password(
            &Argon2::default(),
            b"older",
            &SaltString::generate(&mut OsRng),
        )
        .expect("hash")
        .to_string();
        assert!(
            hasher
                .verify("older".into(), Some(old))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn unknown_accounts_and_malformed_hashes_never_match() {
        let hasher = Hasher::new(1, Duration::from_secs(5));
        assert!(hasher.dummy.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"));
        assert!(
            !hasher
                .verify("anything".into(), None)
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("x".into(), Some("not a hash".into()))
                .await
                .expect("verify")
        );
        let greedy = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(
            !hasher
                .verify("x".into(), Some(greedy.into()))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn a_full_pool_answers_busy_after_the_wait() {
        let hasher = Hasher::new(1, Duration::from_millis(10));
        let held = hasher
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("permit");
        assert!(matches!(
            hasher.hash("password".into()).await,
            Err(HashError::Busy)
        ));
        drop(held);
        assert!(hasher.hash("password".into()).await.is_ok());
        // One buffer was made and is reused.
        assert_eq!(hasher.buffers.lock().expect("lock").len(), 1);
        hasher.hash("again".into()).await.expect("hash");
        assert_eq!(hasher.buffers.lock().expect("lock").len(), 1);
    }
}
