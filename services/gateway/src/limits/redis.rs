//! The Redis backend: rate buckets shared by every gateway replica.
//!
//! Every check is ONE Lua script ([`SCRIPT`]) over all the buckets of a
//! request (the key's and the tenant's, requests and units). Redis runs a
//! script atomically, so two gateways checking the same tenant at the same
//! moment are serialised: N gateways spend exactly one budget. The script
//! reads the time from the Redis server (`TIME`), not from the gateways, so
//! their clocks need not agree.
//!
//! The arithmetic is `gcra.rs`'s, in Lua. Lua numbers are doubles, which
//! hold integers exactly up to 2^53, so time is counted in 100 ns ticks
//! since 2025-01-01 (2^53 ticks last 28 years), and limits stop at
//! `MAX_LIMIT` per minute so one unit's interval is a whole number of
//! ticks. Each bucket is one string key (its TAT) that expires when the
//! bucket would be full again, so idle tenants cost no memory.
//!
//! One script touches keys of one tenant; under Redis Cluster they would
//! need a hash tag in the prefix (`{stratus}:limits`) to share a slot.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::Op;
use super::gcra::{Decision, Mode};

/// How long a check may wait for Redis before it counts as unreachable.
const TIMEOUT: Duration = Duration::from_millis(250);

/// Ticks of the Redis clock (100 ns) in `d`.
pub fn ticks(d: Duration) -> i64 {
    i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX)
}

/// KEYS: one per bucket. ARGV: per bucket `limit, period, cost, mode`
/// (`take`, `peek`, `debit`). Returns per bucket
/// `allowed, remaining, reset_after, retry_after` (ticks). Takes are
/// written only if nothing was refused; debits always.
pub const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = (tonumber(t[1]) - 1735689600) * 10000000 + tonumber(t[2]) * 10
local n = #KEYS
local refused = false
local tats = {}
local out = {}
for i = 1, n do
  local limit = tonumber(ARGV[4 * i - 3])
  local period = tonumber(ARGV[4 * i - 2])
  local cost = tonumber(ARGV[4 * i - 1])
  local mode = ARGV[4 * i]
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  local base = math.max(tat, now)
  local unit = math.floor(period / limit)
  local allowed = 1
  local retry = 0
  local new_tat = tat
  if mode == 'take' then
    local cand = base + math.floor(period * cost / limit)
    local allow_at = cand - period
    if now >= allow_at then new_tat = cand else allowed = 0; retry = allow_at - now end
  elseif mode == 'peek' then
    local allow_at = base + unit - period
    if now < allow_at then allowed = 0; retry = allow_at - now end
  else
    new_tat = math.min(base + math.floor(period * cost / limit), now + period * 60)
  end
  if allowed == 0 then refused = true end
  tats[i] = new_tat
  local eff = math.max(new_tat, now)
  local headroom = now + period - eff
  local remaining = 0
  if headroom > 0 then remaining = math.min(math.floor(headroom / math.max(unit, 1)), limit) end
  out[4 * i - 3] = allowed
  out[4 * i - 2] = remaining
  out[4 * i - 1] = eff - now
  out[4 * i] = retry
end
for i = 1, n do
  local mode = ARGV[4 * i]
  if (mode == 'debit' or (mode == 'take' and not refused)) and tats[i] > now then
    local ms = math.ceil((tats[i] - now) / 10000) + 1000
    redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', ms)
  end
end
return out
";

/// Buckets in one Redis; cheap to clone.
#[derive(Clone)]
pub struct RedisBuckets {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
}

impl std::fmt::Debug for RedisBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBuckets")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Redis did not answer, or answered something else than the script's
/// result.
#[derive(Debug, thiserror::Error)]
pub enum RedisLimitError {
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the rate-limit script returned {0} numbers for {1} buckets")]
    Shape(usize, usize),
}

impl RedisBuckets {
    /// Connect to `url` (`redis://host:port/db`); keys are `prefix:bucket`.
    /// The connection reconnects by itself after Redis comes back.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisBuckets, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let connection = client.get_connection_manager().await?;
        Ok(RedisBuckets {
            connection,
            script: redis::Script::new(SCRIPT),
            prefix: prefix.trim_end_matches(':').to_owned(),
        })
    }

    /// Apply `ops` in one script (see [`SCRIPT`]).
    pub async fn apply(&self, ops: &[Op]) -> Result<Vec<Decision>, RedisLimitError> {
        let mut invocation = self.script.prepare_invoke();
        for op in ops {
            invocation
                .key(format!("{}:{}", self.prefix, op.bucket))
                .arg(op.rate.limit)
                .arg(op.rate.period)
                .arg(op.cost)
                .arg(match op.mode {
                    Mode::Take => "take",
                    Mode::Peek => "peek",
                    Mode::Debit => "debit",
                });
        }
        let mut connection = self.connection.clone();
        let numbers: Vec<i64> =
            tokio::time::timeout(TIMEOUT, invocation.invoke_async(&mut connection))
                .await
                .map_err(|_| RedisLimitError::Timeout(TIMEOUT))??;
        if numbers.len() != ops.len() * 4 {
            return Err(RedisLimitError::Shape(numbers.len(), ops.len()));
        }
        Ok(numbers
            .chunks_exact(4)
            .map(|n| Decision {
                allowed: n[0] == 1,
                tat: 0,
                remaining: u64::try_from(n[1]).unwrap_or(0),
                reset_after: n[2],
                retry_after: n[3],
            })
            .collect())
    }
}
