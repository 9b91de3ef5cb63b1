//! Failed-login limits per account and per client address, and the sign-up limit per client
//! address.
//!
//! Each key has a leaky bucket of failures: a failure adds one, and the level drains by
//! `capacity` per `window`. A login is refused while one more failure would overflow the bucket,
//! and the refusal says when the next attempt is allowed. So at most `capacity` failures fit in
//! a burst, and after that one more per `window / capacity`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::LoginLimits;
use crate::net::rate_key;

/// Keys kept per limiter; beyond it drained buckets are dropped, and when none is drained new
/// keys go uncounted (the other limiter still counts them).
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

/// One limiter: `capacity` failures per `window` for each key; capacity 0 counts nothing.
#[derive(Debug)]
pub struct Limiter<K> {
    capacity: f64,
    window: Duration,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(capacity: u32, window: Duration) -> Self {
        Self {
            capacity: f64::from(capacity),
            window,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Failures drained per second.
    fn rate(&self) -> f64 {
        self.capacity / self.window.as_secs_f64().max(f64::EPSILON)
    }

    fn level(&self, bucket: &Bucket, now: Instant) -> f64 {
        let drained = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate();
        (bucket.level - drained).max(0.0)
    }

    /// `Err(wait)` when one more failure would overflow the key's bucket.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.capacity == 0.0 {
            return Ok(());
        }
        let Ok(buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let Some(bucket) = buckets.get(key) else {
            return Ok(());
        };
        let over = self.level(bucket, now) + 1.0 - self.capacity;
        if over > 0.0 {
            Err(Duration::from_secs_f64(over / self.rate()))
        } else {
            Ok(())
        }
    }

    /// Counts one failure for `key`.
    pub fn fail(&self, key: &K, now: Instant) {
        if self.capacity == 0.0 {
            return;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, b| self.level(b, now) > 0.0);
            if buckets.len() >= MAX_KEYS {
                return;
            }
        }
        let level = buckets.get(key).map_or(0.0, |b| self.level(b, now));
        buckets.insert(
            key.clone(),
            Bucket {
                level: level + 1.0,
                at: now,
            },
        );
    }

    /// Forgets the key's failures (a successful login).
    pub fn clear(&self, key: &K) {
        if let Ok(mut buckets) = self.buckets.lock() {
            buckets.remove(key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or_default()
    }
}

/// The two limits a login goes through.
#[derive(Debug)]
pub struct LoginLimiter {
    accounts: Limiter<String>,
    addresses: Limiter<IpAddr>,
    /// Sign-ups per client address: each costs a hash and may add an account, and a `409` tells
    /// whether an email has one, so they are bounded like failed logins.
    signups: Limiter<IpAddr>,
}

/// Which limit refused, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub per_account: bool,
    pub retry_after: Duration,
}

impl LoginLimiter {
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            accounts: Limiter::new(limits.failures_per_account, limits.failure_window),
            addresses: Limiter::new(limits.failures_per_address, limits.failure_window),
            signups: Limiter::new(limits.signups_per_address, limits.failure_window),
        }
    }

    /// Whether `client` may sign up now (`Err`: the wait before the next attempt). A loopback
    /// client is never limited: that is the operator's own tooling (`cargo xtask verify` signs
    /// up a fresh account on every run through a port-forward, whose connections arrive from
    /// loopback inside the pod; `cargo xtask local`), not a remote visitor.
    pub fn check_signup(&self, client: IpAddr) -> Result<(), Duration> {
        if client.to_canonical().is_loopback() {
            return Ok(());
        }
        self.signups.check(&rate_key(client), Instant::now())
    }

    /// Counts a sign-up from `client` that reached the password hash, whatever its outcome.
    pub fn signed_up(&self, client: IpAddr) {
        if !client.to_canonical().is_loopback() {
            self.signups.fail(&rate_key(client), Instant::now());
        }
    }

    /// Whether `email` may try to log in from `client` now.
    pub fn check(&self, email: &str, client: IpAddr) -> Result<(), Refused> {
        let now = Instant::now();
        self.addresses
            .check(&rate_key(client), now)
            .map_err(|retry_after| Refused {
                per_account: false,
                retry_after,
            })?;
        self.accounts
            .check(&email.to_owned(), now)
            .map_err(|retry_after| Refused {
                per_account: true,
                retry_after,
            })
    }

    pub fn failed(&self, email: &str, client: IpAddr) {
        let now = Instant::now();
        self.addresses.fail(&rate_key(client), now);
        self.accounts.fail(&email.to_owned(), now);
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn succeeded(&self, email: &str) {
        self.accounts.clear(&email.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_capacity_then_one_per_interval() {
        let limiter = Limiter::new(3, Duration::from_secs(30));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(&"k", t0), Ok(()));
            limiter.fail(&"k", t0);
        }
        // Full: the fourth waits one interval (30 s / 3).
        let wait = limiter.check(&"k", t0).expect_err("refused");
        assert!((9.9..=10.1).contains(&wait.as_secs_f64()), "{wait:?}");
        let later = t0 + Duration::from_secs(5);
        let wait = limiter.check(&"k", later).expect_err("still refused");
        assert!((4.9..=5.1).contains(&wait.as_secs_f64()), "{wait:?}");
        assert_eq!(limiter.check(&"k", t0 + Duration::from_secs(10)), Ok(()));
        // Other keys are not affected; clearing forgets.
        assert_eq!(limiter.check(&"other", t0), Ok(()));
        limiter.clear(&"k");
        assert_eq!(limiter.check(&"k", t0), Ok(()));
    }

    #[test]
    fn zero_capacity_turns_the_limit_off() {
        let limiter = Limiter::new(0, Duration::from_secs(30));
        let now = Instant::now();
        for _ in 0..100 {
            limiter.fail(&1, now);
        }
        assert_eq!(limiter.check(&1, now), Ok(()));
        assert_eq!(limiter.len(), 0);
    }

    #[test]
    fn drained_keys_make_room() {
        let limiter = Limiter::new(1, Duration::from_millis(1));
        let t0 = Instant::now();
        for k in 0..MAX_KEYS {
            limiter.fail(&k, t0);
        }
        assert_eq!(limiter.len(), MAX_KEYS);
        // Everything has drained a second later: a new key fits after pruning.
        limiter.fail(&MAX_KEYS, t0 + Duration::from_secs(1));
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn login_limits_count_accounts_and_addresses_apart() {
        let limits = LoginLimits {
            failures_per_account: 2,
            failures_per_address: 3,
            ..LoginLimits::default()
        };
        let limiter = LoginLimiter::new(&limits);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        limiter.failed("x@example.com", a);
        limiter.failed("x@example.com", b);
        let refused = limiter.check("x@example.com", "10.0.0.3".parse().expect("ip"));
        assert!(refused.is_err_and(|r| r.per_account));
        limiter.succeeded("x@example.com");
        assert_eq!(limiter.check("x@example.com", a), Ok(()));
        limiter.failed("y@example.com", a);
        limiter.failed("z@example.com", a);
        let refused = limiter.check("new@example.com", a);
        assert!(refused.is_err_and(|r| !r.per_account));
        assert_eq!(limiter.check("new@example.com", b), Ok(()));
        // Sign-ups are counted apart from failed logins, per address.
        assert_eq!(limiter.check_signup(a), Ok(()));
    }

    #[test]
    fn sign_ups_are_limited_per_address() {
        let limits = LoginLimits {
            signups_per_address: 2,
            ..LoginLimits::default()
        };
        let limiter = LoginLimiter::new(&limits);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        for _ in 0..2 {
            assert_eq!(limiter.check_signup(a), Ok(()));
            limiter.signed_up(a);
        }
        assert!(limiter.check_signup(a).is_err());
        assert_eq!(limiter.check_signup(b), Ok(()));
        // Loopback (the operator's tools through a port-forward) is not limited.
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            let local: IpAddr = local.parse().expect("ip");
            for _ in 0..5 {
                limiter.signed_up(local);
            }
            assert_eq!(limiter.check_signup(local), Ok(()), "{local}");
        }
        // They do not lock log-ins from that address.
        assert_eq!(limiter.check("x@example.com", a), Ok(()));
    }
}
