//! The in-process backend: rate buckets and concurrency counters in
//! sharded maps.
//!
//! Every request touches a few buckets of one key and one tenant. A single
//! map behind one lock would make every request of every tenant queue on
//! that lock; here a bucket's id picks one of [`SHARDS`] maps, each behind
//! its own `std::sync::Mutex` (never held across an await: only integer
//! arithmetic happens under it), so requests of different tenants almost
//! never meet.
//!
//! Memory stays bounded by activity: a bucket whose TAT has passed is the
//! same as no bucket, so such entries are swept out of a shard when it
//! grows, and a concurrency counter is removed when it drops to zero.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::Op;
use super::gcra::{Decision, Mode};

/// Maps per structure: a power of two, well above the core count.
pub(super) const SHARDS: usize = 64;
/// A shard past this many buckets sweeps out the full ones.
const SWEEP_AT: usize = 4096;

/// Ticks of the in-process clock (nanoseconds) in `d`.
pub fn ticks(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Nanoseconds of a monotonic clock (since the first call in this process,
/// plus a day, so that "a bucket never used" — TAT 0 — is always in the
/// past).
fn now() -> i64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = EPOCH.get_or_init(Instant::now);
    ticks(epoch.elapsed()) + ticks(Duration::from_secs(86_400))
}

/// `SHARDS` maps, chosen by the hash of the key.
#[derive(Debug)]
pub(super) struct Sharded<V> {
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<String, V>>>,
}

impl<V> Default for Sharded<V> {
    fn default() -> Self {
        Self {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl<V> Sharded<V> {
    pub(super) fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, HashMap<String, V>> {
        let index = (self.hasher.hash_one(key) % SHARDS as u64) as usize;
        // A panic while holding a shard cannot leave a half-written integer:
        // the data is still right, so a poisoned lock is used as it is.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Rate buckets: bucket id → TAT.
#[derive(Debug, Default)]
pub struct Buckets {
    tats: Sharded<i64>,
}

impl Buckets {
    /// Apply `ops` as one check: if any `Take` or `Peek` is refused, the
    /// `Take`s already applied are given back, so a refused request spends
    /// nothing. (Between the two, a concurrent request may see the bucket
    /// a unit fuller than it ends up; it is refused or admitted as if it
    /// had come a moment earlier.)
    pub fn apply(&self, ops: Vec<Op>) -> Vec<(Decision, Op)> {
        let now = now();
        let mut out = Vec::with_capacity(ops.len());
        let mut refused = false;
        for op in ops {
            let mut shard = self.tats.shard(&op.bucket);
            let tat = shard.get(&op.bucket).copied().unwrap_or(0);
            let decision = op.rate.decide(tat, now, op.cost, op.mode);
            if decision.allowed && decision.tat != tat {
                if shard.len() >= SWEEP_AT {
                    shard.retain(|_, t| *t > now);
                }
                shard.insert(op.bucket.clone(), decision.tat);
            }
            drop(shard);
            refused |= !decision.allowed;
            out.push((decision, op));
        }
        if refused {
            for (decision, op) in &out {
                if decision.allowed && op.mode == Mode::Take {
                    self.refund(op);
                }
            }
        }
        out
    }

    /// Give back what `op` (a `Take`) spent.
    pub fn refund(&self, op: &Op) {
        let mut shard = self.tats.shard(&op.bucket);
        if let Some(tat) = shard.get_mut(&op.bucket) {
            *tat = tat.saturating_sub(op.rate.interval(op.cost));
        }
    }
}

/// Concurrency counters: subject → requests in progress.
#[derive(Debug, Default)]
pub struct Counters {
    counts: Arc<Sharded<u64>>,
}

impl Counters {
    /// A slot of `subject` if fewer than `limit` are taken.
    pub fn acquire(&self, subject: &str, limit: u64) -> Option<Slot> {
        let mut shard = self.counts.shard(subject);
        let count = shard.entry(subject.to_owned()).or_insert(0);
        if *count >= limit {
            if *count == 0 {
                shard.remove(subject);
            }
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: self.counts.clone(),
            subject: subject.to_owned(),
        })
    }

    /// Requests of `subject` in progress.
    pub fn current(&self, subject: &str) -> u64 {
        self.counts
            .shard(subject)
            .get(subject)
            .copied()
            .unwrap_or(0)
    }
}

/// One request's concurrency slot, given back when dropped (when its
/// response body has finished, see `GuardedBody`).
#[derive(Debug)]
pub struct Slot {
    counts: Arc<Sharded<u64>>,
    subject: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut shard = self.counts.shard(&self.subject);
        if let Some(count) = shard.get_mut(&self.subject) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                shard.remove(&self.subject);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::gcra::Rate;
    use super::*;

    fn op(bucket: &str, limit: u64, mode: Mode) -> Op {
        Op {
            bucket: bucket.into(),
            rate: Rate {
                limit,
                period: ticks(Duration::from_secs(60)),
            },
            cost: 1,
            mode,
        }
    }

    #[test]
    fn a_refusal_by_one_bucket_spends_nothing_in_the_others() {
        let buckets = Buckets::default();
        // The tenant allows 2, the key 5: the key's bucket must not lose
        // the units of the requests the tenant refused.
        for _ in 0..2 {
            let out = buckets.apply(vec![op("k", 5, Mode::Take), op("t", 2, Mode::Take)]);
            assert!(out.iter().all(|(d, _)| d.allowed));
        }
        for _ in 0..3 {
            let out = buckets.apply(vec![op("k", 5, Mode::Take), op("t", 2, Mode::Take)]);
            assert!(!out[1].0.allowed);
        }
        let alone = buckets.apply(vec![op("k", 5, Mode::Take)]);
        assert_eq!(alone[0].0.remaining, 2, "3 of 5 left before this one");
    }

    #[test]
    fn concurrency_slots_are_counted_and_given_back() {
        let counters = Counters::default();
        let a = counters.acquire("k:1", 2).unwrap();
        let b = counters.acquire("k:1", 2).unwrap();
        assert!(counters.acquire("k:1", 2).is_none());
        assert!(counters.acquire("k:2", 2).is_some(), "another subject");
        drop(a);
        assert_eq!(counters.current("k:1"), 1);
        let c = counters.acquire("k:1", 2).unwrap();
        drop((b, c));
        assert_eq!(counters.current("k:1"), 0);
    }
}
