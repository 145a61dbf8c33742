//! Sign-in throttling and the bound on password checks, for
//! `POST /v1/auth/login` and the dashboard's login form alike.
//!
//! Three rate buckets (the GCRA arithmetic of `crate::limits::gcra`), each
//! a burst and then a steady rate, so a refusal always says how long to
//! wait and that wait is at most one interval (the backoff is bounded):
//!
//! - **per client address**: every attempt, [`LoginConfig::attempts_per_client_minute`]
//!   a minute. One source cannot spray passwords over many accounts or
//!   burn the server's CPU on Argon2.
//! - **per account and client address**: failures, a burst of
//!   [`LoginConfig::failures_per_account`], then one a minute; a success
//!   resets it. This is the strict per-account limit, and because it is
//!   keyed by the address too, an attacker elsewhere cannot use it to lock
//!   the real user out.
//! - **per account, from anywhere**: failures, ten times that an hour,
//!   never reset by a success (a user signing in must not hand a
//!   distributed guesser a fresh burst). It caps guessing from many
//!   addresses; an attacker who keeps it drained makes the real user wait
//!   at most one interval (six minutes over ten failures: 36 s) per try,
//!   never for good.
//!
//! The email is counted whether or not such a user exists (what the
//! throttle answers says nothing about who has an account).
//!
//! Argon2 runs on the blocking pool, at most [`LoginConfig::concurrent_checks`]
//! at once (a semaphore); a sign-in that finds them all busy is answered
//! 503 at once instead of queueing, so a flood of sign-ins cannot take the
//! CPU the models need. The permit travels into the blocking task, so a
//! client that hangs up mid-check still holds it until the check ends: the
//! bound counts the work really running.
//!
//! Buckets live in this process: with several gateway replicas behind a
//! balancer an attacker gets each replica's allowance (at most N times the
//! rates). Memory is bounded by activity: a bucket that has refilled is
//! the same as none and is swept out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limits::gcra::{Mode, Rate};

/// A map past this many buckets sweeps out the full ones.
const SWEEP_AT: usize = 4096;
/// How many times the per-account-and-address burst the account may fail
/// in an hour from anywhere.
const ACCOUNT_WIDE_FACTOR: u64 = 10;

/// How sign-ins are throttled (`--login-*` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginConfig {
    /// Sign-in attempts one client address may make a minute (a burst of
    /// this many, then evenly spread).
    pub attempts_per_client_minute: u32,
    /// Failed sign-ins one account may have from one address before each
    /// further try waits a minute; ten times as many from all addresses
    /// in an hour.
    pub failures_per_account: u32,
    /// Password checks (Argon2, ~20 MiB and tens of ms of CPU each) run at
    /// once.
    pub concurrent_checks: usize,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            attempts_per_client_minute: 30,
            failures_per_account: 5,
            concurrent_checks: 2,
        }
    }
}

/// A sign-in refused by the throttle: retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: u64,
}

/// Nanoseconds of a monotonic clock, a day past its start (so TAT 0, a
/// bucket never used, is always in the past).
fn now() -> i64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed() + Duration::from_secs(86_400);
    i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX)
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// One kind of bucket: key → theoretical arrival time. One lock for all:
/// sign-ins are rare next to API requests (each costs an Argon2 check),
/// and only integer arithmetic happens under it.
#[derive(Debug)]
struct Buckets {
    rate: Rate,
    tats: Mutex<HashMap<String, i64>>,
}

impl Buckets {
    fn new(limit: u32, period: Duration) -> Self {
        Self {
            rate: Rate {
                limit: u64::from(limit.max(1)),
                period: nanos(period),
            },
            tats: Mutex::new(HashMap::new()),
        }
    }

    /// Spend one unit of `key`'s bucket if it has one; otherwise the
    /// nanoseconds until it will.
    fn take(&self, key: &str, now: i64) -> Result<(), i64> {
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        let tat = tats.get(key).copied().unwrap_or(0);
        let decision = self.rate.decide(tat, now, 1, Mode::Take);
        if !decision.allowed {
            return Err(decision.retry_after.max(1));
        }
        if tats.len() >= SWEEP_AT {
            tats.retain(|_, t| *t > now);
        }
        tats.insert(key.to_string(), decision.tat);
        Ok(())
    }

    /// Give back one unit [`Self::take`] spent.
    fn give_back(&self, key: &str) {
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tat) = tats.get_mut(key) {
            *tat = tat.saturating_sub(self.rate.interval(1));
        }
    }

    /// Forget `key`: a full bucket again.
    fn reset(&self, key: &str) {
        self.tats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// The throttle and the password-check bound; one per [`super::Auth`].
#[derive(Debug)]
pub struct LoginThrottle {
    client: Buckets,
    pair: Buckets,
    account: Buckets,
    checks: Arc<Semaphore>,
}

impl LoginThrottle {
    pub fn new(config: LoginConfig) -> Self {
        let failures = config.failures_per_account.max(1);
        Self {
            client: Buckets::new(config.attempts_per_client_minute, Duration::from_secs(60)),
            // A burst of `failures`, then one a minute.
            pair: Buckets::new(failures, Duration::from_secs(60 * u64::from(failures))),
            account: Buckets::new(
                u32::try_from(u64::from(failures) * ACCOUNT_WIDE_FACTOR).unwrap_or(u32::MAX),
                Duration::from_secs(3600),
            ),
            checks: Arc::new(Semaphore::new(
                config.concurrent_checks.clamp(1, Semaphore::MAX_PERMITS),
            )),
        }
    }

    /// Count a sign-in attempt for `email` (normalised) from `client`;
    /// refused when any of its buckets is empty. The client's bucket
    /// counts every attempt it lets through, even one the account's
    /// buckets then refuse (hammering a throttled account uses up the
    /// address's allowance too); the account's buckets spend nothing on a
    /// refusal.
    pub fn begin(&self, email: &str, client: Option<IpAddr>) -> Result<Attempt<'_>, Throttled> {
        let now = now();
        let client_key = client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        let pair_key = format!("{email}\u{0}{client_key}");
        let mut wait = 0;
        if let Err(ns) = self.client.take(&client_key, now) {
            wait = wait.max(ns);
        }
        let pair = self.pair.take(&pair_key, now);
        let account = self.account.take(email, now);
        match (pair, account) {
            (Ok(()), Ok(())) if wait == 0 => {
                return Ok(Attempt {
                    throttle: self,
                    pair_key,
                    account_key: email.to_string(),
                });
            }
            (Ok(()), Ok(())) => {
                self.pair.give_back(&pair_key);
                self.account.give_back(email);
            }
            (Ok(()), Err(ns)) => {
                self.pair.give_back(&pair_key);
                wait = wait.max(ns);
            }
            (Err(ns), Ok(())) => {
                self.account.give_back(email);
                wait = wait.max(ns);
            }
            (Err(a), Err(b)) => wait = wait.max(a).max(b),
        }
        Err(Throttled {
            retry_after_secs: u64::try_from(wait)
                .unwrap_or(0)
                .div_ceil(1_000_000_000)
                .max(1),
        })
    }

    /// A slot to check a password in, if one is free now.
    pub fn check_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.checks.clone().try_acquire_owned().ok()
    }
}

/// A counted sign-in attempt: say how it ended. Dropped without a word, it
/// stays counted as a failure.
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    pair_key: String,
    account_key: String,
}

impl Attempt<'_> {
    /// The password was right: the account's count from this address
    /// starts over, and this attempt does not count against the account's
    /// allowance from anywhere (only failures do).
    pub fn succeeded(self) {
        self.throttle.pair.reset(&self.pair_key);
        self.throttle.account.give_back(&self.account_key);
    }

    /// Wrong email or password: stays counted.
    pub fn failed(self) {}

    /// No password was checked (no slot, the store down): nothing the
    /// account did, so nothing counted against it.
    pub fn not_checked(self) {
        self.throttle.pair.give_back(&self.pair_key);
        self.throttle.account.give_back(&self.account_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn config(client: u32, failures: u32) -> LoginConfig {
        LoginConfig {
            attempts_per_client_minute: client,
            failures_per_account: failures,
            concurrent_checks: 1,
        }
    }

    #[test]
    fn failures_are_throttled_per_account_and_address_and_a_success_resets() {
        let throttle = LoginThrottle::new(config(1000, 3));
        for _ in 0..3 {
            throttle.begin("a@x", ip("1.1.1.1")).unwrap().failed();
        }
        let refused = throttle.begin("a@x", ip("1.1.1.1")).unwrap_err();
        // One a minute after the burst: the wait is bounded by a minute.
        assert!((1..=60).contains(&refused.retry_after_secs), "{refused:?}");
        // Another account from the same address, and the same account from
        // another address, are not affected.
        throttle.begin("b@x", ip("1.1.1.1")).unwrap().failed();
        throttle.begin("a@x", ip("2.2.2.2")).unwrap().succeeded();
        // A success resets that address's count for the account.
        let other = LoginThrottle::new(config(1000, 3));
        for _ in 0..2 {
            other.begin("a@x", ip("1.1.1.1")).unwrap().failed();
        }
        other.begin("a@x", ip("1.1.1.1")).unwrap().succeeded();
        for _ in 0..3 {
            other.begin("a@x", ip("1.1.1.1")).unwrap().failed();
        }
        assert!(other.begin("a@x", ip("1.1.1.1")).is_err());
    }

    #[test]
    fn an_account_is_capped_across_addresses_but_never_for_long() {
        let throttle = LoginThrottle::new(config(1000, 1));
        // Ten failures an hour from anywhere (1 × ACCOUNT_WIDE_FACTOR).
        for n in 0..10 {
            throttle
                .begin("a@x", ip(&format!("10.0.0.{n}")))
                .unwrap()
                .failed();
        }
        let refused = throttle.begin("a@x", ip("10.0.1.1")).unwrap_err();
        // One interval at most: an hour over ten.
        assert!((1..=360).contains(&refused.retry_after_secs), "{refused:?}");
        // Unchecked attempts and successes do not drain it.
        let fresh = LoginThrottle::new(config(1000, 1));
        for n in 0..30 {
            let who = ip(&format!("10.0.0.{n}"));
            fresh.begin("a@x", who).unwrap().not_checked();
            fresh.begin("a@x", who).unwrap().succeeded();
        }
        assert!(fresh.begin("a@x", ip("10.0.9.9")).is_ok());
    }

    #[test]
    fn a_client_address_is_capped_over_every_account() {
        let throttle = LoginThrottle::new(config(5, 100));
        for n in 0..5 {
            throttle
                .begin(&format!("u{n}@x"), ip("3.3.3.3"))
                .unwrap()
                .failed();
        }
        let refused = throttle.begin("u9@x", ip("3.3.3.3")).unwrap_err();
        assert!((1..=12).contains(&refused.retry_after_secs), "{refused:?}");
        // A refusal spent nothing of the account's allowance.
        assert!(throttle.begin("u9@x", ip("4.4.4.4")).is_ok());
    }

    #[test]
    fn password_checks_are_bounded_and_a_busy_bound_answers_at_once() {
        let throttle = LoginThrottle::new(LoginConfig {
            concurrent_checks: 2,
            ..LoginConfig::default()
        });
        let first = throttle.check_slot().unwrap();
        let second = throttle.check_slot().unwrap();
        assert!(throttle.check_slot().is_none());
        drop(first);
        let third = throttle.check_slot().unwrap();
        assert!(throttle.check_slot().is_none());
        drop((second, third));
    }
}
