//! The generic cell rate algorithm (GCRA): the arithmetic of one rate
//! bucket, and nothing else (no clock, no storage).
//!
//! A bucket of `limit` units per `period` is one number, its theoretical
//! arrival time (TAT): the moment the bucket would be full again if nothing
//! more were spent. Spending `cost` moves the TAT forward by
//! `cost × period / limit`; a spend is allowed while the TAT stays within
//! one `period` of now. A fresh bucket therefore allows a burst of the
//! whole `limit` at once and then exactly one unit per `period / limit`:
//! "60 requests per minute" is 60 at once, then one a second.
//!
//! Times are plain `i64` ticks so one implementation serves the
//! in-process limiter (nanoseconds of a monotonic clock). The Redis
//! limiter runs the same arithmetic in Lua (see `redis.rs`), in
//! microseconds of the Redis server's clock; the tests of this file pin the
//! behaviour both must have.

/// A rate: `limit` units per `period` ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u64,
    pub period: i64,
}

/// What a bucket operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Spend `cost` if it fits, else refuse and change nothing (requests).
    Take,
    /// Allowed while at least one unit is left; spends nothing. Units
    /// (tokens, audio) are only known after the response, so a request is
    /// let in while its bucket is not exhausted and the real amount is
    /// debited afterwards.
    Peek,
    /// Spend `cost` whatever the bucket holds (the debit after a response):
    /// going into debt makes later requests wait until it is paid off.
    Debit,
}

/// The outcome of one operation on one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The bucket's TAT after the operation (unchanged when refused).
    pub tat: i64,
    /// Whole units that could still be spent now.
    pub remaining: u64,
    /// Ticks until the bucket is full again.
    pub reset_after: i64,
    /// Ticks until the refused operation would be allowed (0 if allowed).
    pub retry_after: i64,
}

/// Most periods of debt a bucket may run up: a service reporting an
/// absurd amount must not lock a tenant out for years.
const MAX_DEBT_PERIODS: i64 = 60;

impl Rate {
    /// Ticks that `cost` units move the TAT (exact to a tick: the product
    /// is taken before the division, in 128 bits).
    pub fn interval(&self, cost: u64) -> i64 {
        if self.limit == 0 {
            return i64::MAX;
        }
        let ticks = i128::from(self.period) * i128::from(cost) / i128::from(self.limit);
        i64::try_from(ticks).unwrap_or(i64::MAX)
    }

    /// Apply `mode` with `cost` to a bucket whose TAT is `tat` (0 for a
    /// bucket never used), at time `now`.
    pub fn decide(&self, tat: i64, now: i64, cost: u64, mode: Mode) -> Decision {
        let base = tat.max(now);
        let (allowed, new_tat, retry_after) = match mode {
            Mode::Take => {
                let candidate = base.saturating_add(self.interval(cost));
                let allow_at = candidate.saturating_sub(self.period);
                if now >= allow_at {
                    (true, candidate, 0)
                } else {
                    (false, tat, allow_at - now)
                }
            }
            Mode::Peek => {
                let allow_at = base
                    .saturating_add(self.interval(1))
                    .saturating_sub(self.period);
                if now >= allow_at {
                    (true, tat, 0)
                } else {
                    (false, tat, allow_at - now)
                }
            }
            Mode::Debit => {
                let ceiling = now.saturating_add(self.period.saturating_mul(MAX_DEBT_PERIODS));
                let candidate = base.saturating_add(self.interval(cost)).min(ceiling);
                (true, candidate, 0)
            }
        };
        let effective = new_tat.max(now);
        let headroom = now.saturating_add(self.period).saturating_sub(effective);
        let per_unit = self.interval(1).max(1);
        let remaining = if headroom <= 0 {
            0
        } else {
            u64::try_from(headroom / per_unit)
                .unwrap_or(0)
                .min(self.limit)
        };
        Decision {
            allowed,
            tat: new_tat,
            remaining,
            reset_after: effective - now,
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000_000_000;

    fn per_minute(limit: u64) -> Rate {
        Rate {
            limit,
            period: MINUTE,
        }
    }

    #[test]
    fn a_fresh_bucket_allows_exactly_its_limit_at_once() {
        for limit in [1, 7, 60, 1000, 12_345] {
            let rate = per_minute(limit);
            let (mut tat, now) = (0, 5 * MINUTE);
            let mut taken = 0;
            loop {
                let d = rate.decide(tat, now, 1, Mode::Take);
                if !d.allowed {
                    assert_eq!(d.tat, tat, "a refusal changes nothing");
                    assert_eq!(d.remaining, 0);
                    break;
                }
                taken += 1;
                assert_eq!(d.remaining, limit - taken, "limit {limit}");
                tat = d.tat;
            }
            assert_eq!(taken, limit, "limit {limit}");
        }
    }

    #[test]
    fn after_the_burst_the_steady_rate_is_one_per_interval() {
        let rate = per_minute(60); // one a second
        let mut tat = 0;
        let start = MINUTE;
        for _ in 0..60 {
            tat = rate.decide(tat, start, 1, Mode::Take).tat;
        }
        // Exhausted: the next one is allowed in exactly a second.
        let refused = rate.decide(tat, start, 1, Mode::Take);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, 1_000_000_000);
        assert_eq!(refused.reset_after, MINUTE);
        // Half a second later still refused, with half a second to wait.
        let half = rate.decide(tat, start + 500_000_000, 1, Mode::Take);
        assert!(!half.allowed);
        assert_eq!(half.retry_after, 500_000_000);
        // Over ten seconds, exactly ten more get in.
        let mut allowed = 0;
        for ms in (0..10_000).step_by(10) {
            let now = start + ms * 1_000_000 + 1_000_000_000 - 1;
            let d = rate.decide(tat, now, 1, Mode::Take);
            if d.allowed {
                allowed += 1;
                tat = d.tat;
            }
        }
        assert_eq!(allowed, 10);
        // A bucket left alone for a whole period is full again.
        let later = rate.decide(tat, start + 2 * MINUTE, 1, Mode::Take);
        assert_eq!(later.remaining, 59);
    }

    #[test]
    fn a_cost_larger_than_what_is_left_is_refused_with_the_wait_for_it() {
        let rate = per_minute(100);
        let d = rate.decide(0, MINUTE, 80, Mode::Take);
        assert!(d.allowed);
        assert_eq!(d.remaining, 20);
        let refused = rate.decide(d.tat, MINUTE, 30, Mode::Take);
        assert!(!refused.allowed);
        // 10 units short at 0.6 s a unit.
        assert_eq!(refused.retry_after, 6_000_000_000);
        assert!(rate.decide(d.tat, MINUTE, 20, Mode::Take).allowed);
    }

    #[test]
    fn peek_allows_until_exhausted_and_debit_runs_into_debt() {
        let rate = per_minute(1000); // tokens a minute
        let now = MINUTE;
        let peek = rate.decide(0, now, 1, Mode::Peek);
        assert!(peek.allowed);
        assert_eq!((peek.tat, peek.remaining), (0, 1000));
        // A response reported 1500 tokens: the bucket is half a minute in debt.
        let debit = rate.decide(0, now, 1500, Mode::Debit);
        assert!(debit.allowed);
        assert_eq!(debit.remaining, 0);
        assert_eq!(debit.reset_after, MINUTE * 3 / 2);
        let refused = rate.decide(debit.tat, now, 1, Mode::Peek);
        assert!(!refused.allowed);
        // Paid off after 30 s, and one token's worth (60 ms) more.
        assert_eq!(refused.retry_after, MINUTE / 2 + 60_000_000);
        assert!(
            rate.decide(debit.tat, now + refused.retry_after, 1, Mode::Peek)
                .allowed
        );
        // Absurd amounts are capped at MAX_DEBT_PERIODS of debt.
        let absurd = rate.decide(0, now, u64::MAX, Mode::Debit);
        assert_eq!(absurd.reset_after, MINUTE * MAX_DEBT_PERIODS);
    }
}
