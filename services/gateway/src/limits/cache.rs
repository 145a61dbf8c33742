//! The cache of limits rows, so the check on every request costs no
//! database query.
//!
//! A row is fetched on first use and kept for [`TTL`]. After that the
//! cached value still answers while one background task fetches the row
//! again (stale-while-revalidate), so no request waits for the database
//! once a subject is known, and a change made on another replica or by
//! the CLI is in force here within about [`TTL`] plus one query. A write
//! through this gateway's admin API invalidates at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::local::{SHARDS, Sharded};
use super::{LimitSpec, scope_tag};
use crate::store::limits::{LimitRow, LimitScope};
use crate::store::{Store, StoreError};

/// How long a fetched row is used before it is fetched again.
pub const TTL: Duration = Duration::from_secs(1);
/// Most subjects cached; past it the cache starts over (a flood of
/// made-up ids cannot grow memory without bound; only valid keys reach
/// the limiter, but tenants and keys may be many).
const CAPACITY: usize = 100_000;

#[derive(Debug, Clone)]
struct Entry {
    fetched: Instant,
    spec: Option<LimitSpec>,
    refreshing: bool,
}

/// Limits rows by subject (`k:<key id>`, `t:<tenant id>`), in shards like
/// the buckets (no lock shared by every request); clones share it.
#[derive(Debug, Default, Clone)]
pub struct LimitCache {
    entries: Arc<Sharded<Entry>>,
}

fn subject(scope: LimitScope, id: &str) -> String {
    format!("{}:{id}", scope_tag(scope))
}

/// A stored row as a spec (negative or absurd numbers, which the API
/// never writes, are read as "no limit here").
pub fn spec_of(row: &LimitRow) -> LimitSpec {
    let field = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).filter(|v| *v > 0);
    LimitSpec {
        requests_per_minute: field(row.requests_per_minute),
        tokens_per_minute: field(row.tokens_per_minute),
        audio_seconds_per_minute: field(row.audio_seconds_per_minute),
        concurrent_requests: field(row.concurrent_requests),
    }
}

impl LimitCache {
    /// The subject's own limits (`None`: no row), from the cache when
    /// present.
    pub async fn get(
        &self,
        store: &Store,
        scope: LimitScope,
        id: &str,
    ) -> Result<Option<LimitSpec>, StoreError> {
        let key = subject(scope, id);
        let refresh = {
            let mut entries = self.entries.shard(&key);
            match entries.get_mut(&key) {
                Some(entry) if entry.fetched.elapsed() < TTL => return Ok(entry.spec),
                Some(entry) => {
                    let spec = entry.spec;
                    if !entry.refreshing {
                        entry.refreshing = true;
                        let cache = self.clone();
                        let store = store.clone();
                        let key = key.clone();
                        let id = id.to_owned();
                        tokio::spawn(async move { cache.fetch(&store, scope, id, key).await });
                    }
                    Some(spec)
                }
                None => None,
            }
        };
        match refresh {
            Some(stale) => Ok(stale),
            None => self.fetch(store, scope, id.to_owned(), key).await,
        }
    }

    async fn fetch(
        &self,
        store: &Store,
        scope: LimitScope,
        id: String,
        key: String,
    ) -> Result<Option<LimitSpec>, StoreError> {
        match store.limits_of(scope, &id).await {
            Ok(row) => {
                let spec = row.as_ref().map(spec_of);
                let mut entries = self.entries.shard(&key);
                if entries.len() >= CAPACITY / SHARDS {
                    entries.clear();
                }
                entries.insert(
                    key,
                    Entry {
                        fetched: Instant::now(),
                        spec,
                        refreshing: false,
                    },
                );
                Ok(spec)
            }
            Err(e) => {
                // Let the next request try again.
                if let Some(entry) = self.entries.shard(&key).get_mut(&key) {
                    entry.refreshing = false;
                }
                Err(e)
            }
        }
    }

    /// The cached limits of a subject, however old, without a query.
    pub fn peek(&self, scope: LimitScope, id: &str) -> Option<LimitSpec> {
        let key = subject(scope, id);
        self.entries
            .shard(&key)
            .get(&key)
            .and_then(|entry| entry.spec)
    }

    pub fn invalidate(&self, scope: LimitScope, id: &str) {
        let key = subject(scope, id);
        self.entries.shard(&key).remove(&key);
    }
}
