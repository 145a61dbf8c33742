//! The short-lived cache of identity rows (API keys, sessions) that keeps
//! the store off the hot path: a row is believed for [`CACHE_TTL`], so a
//! revocation made on another replica takes effect within it; one made
//! here invalidates the entry at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a looked-up row is believed.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
/// Most rows cached; past it the cache starts over (a flood of made-up ids
/// cannot grow memory without bound).
const CACHE_CAPACITY: usize = 10_000;

/// Rows by id (`None`: no such row), each with when it was fetched.
#[derive(Debug)]
pub struct RowCache<T> {
    rows: Mutex<HashMap<String, (Instant, Option<T>)>>,
}

impl<T> Default for RowCache<T> {
    fn default() -> Self {
        Self {
            rows: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> RowCache<T> {
    /// The cached row for `id` if fresh enough.
    pub fn get(&self, id: &str) -> Option<Option<T>> {
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        rows.get(id)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, row)| row.clone())
    }

    pub fn put(&self, id: &str, row: Option<T>) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        if rows.len() >= CACHE_CAPACITY {
            rows.clear();
        }
        rows.insert(id.to_string(), (Instant::now(), row));
    }

    pub fn invalidate(&self, id: &str) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        rows.remove(id);
    }

    /// Forget everything (e.g. all sessions of one user were revoked and
    /// the cache is not indexed by user).
    pub fn clear(&self) {
        self.rows.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
