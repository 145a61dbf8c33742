//! Usage events in the store: batched idempotent inserts, reading a
//! tenant's events after a cursor, bucketed sums, and the export cursors.
//! The same statements run on SQLite and PostgreSQL (written with `?`,
//! numbered for PostgreSQL by [`numbered`]); what the dialects would order
//! differently (text collation, NULLs) is ordered in Rust instead.

use sqlx::Row;

use super::{Store, StoreError};
use crate::metering::event::{Units, UsageEvent};

/// Rows per INSERT statement: 17 columns each stays far below SQLite's
/// and PostgreSQL's bind-parameter limits.
const INSERT_CHUNK: usize = 1000;

/// The key of the PostgreSQL advisory lock that serialises usage inserts,
/// so `seq` follows commit order (an arbitrary constant: "stratus usage").
const INSERT_LOCK: i64 = 0x5354_5241_5455_5345;

const COLUMNS: &str = "id, request_id, client_request_id, tenant_id, key_id, user_id, service, \
    endpoint, model, status, latency_ms, occurred_at_ms, requests, audio_ms, input_tokens, \
    characters, documents";

/// `sql` with its `?` placeholders numbered `$1, $2, …` (PostgreSQL). The
/// statements here have no `?` inside literals.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! insert_builder {
    ($db:ty, $events:expr) => {{
        let mut builder =
            sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO usage_events ({COLUMNS}) "));
        builder.push_values($events, |mut row, e: &UsageEvent| {
            row.push_bind(e.id.to_string())
                .push_bind(e.request_id.clone())
                .push_bind(e.client_request_id.clone())
                .push_bind(e.tenant_id.clone())
                .push_bind(e.key_id.clone())
                .push_bind(e.user_id.clone())
                .push_bind(e.service.clone())
                .push_bind(e.endpoint.clone())
                .push_bind(e.model.clone())
                .push_bind(i32::from(e.status))
                .push_bind(e.latency_ms)
                .push_bind(e.time_ms)
                .push_bind(e.units.requests)
                .push_bind(e.units.audio_ms)
                .push_bind(e.units.input_tokens)
                .push_bind(e.units.characters)
                .push_bind(e.units.documents);
        });
        builder.push(" ON CONFLICT (id) DO NOTHING");
        builder
    }};
}

/// A usage event as stored, with its commit-ordered sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: UsageEvent,
}

fn decode_event<R: Row>(row: &R) -> Result<StoredEvent, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: String = row.try_get("id")?;
    let status: i32 = row.try_get("status")?;
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        event: UsageEvent {
            id: uuid::Uuid::parse_str(&id)
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?,
            request_id: row.try_get("request_id")?,
            client_request_id: row.try_get("client_request_id")?,
            tenant_id: row.try_get("tenant_id")?,
            key_id: row.try_get("key_id")?,
            user_id: row.try_get("user_id")?,
            service: row.try_get("service")?,
            endpoint: row.try_get("endpoint")?,
            model: row.try_get("model")?,
            status: u16::try_from(status).unwrap_or(0),
            latency_ms: row.try_get("latency_ms")?,
            time_ms: row.try_get("occurred_at_ms")?,
            units: decode_units(row)?,
        },
    })
}

fn decode_units<R: Row>(row: &R) -> Result<Units, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Units {
        requests: row.try_get("requests")?,
        audio_ms: row.try_get("audio_ms")?,
        input_tokens: row.try_get("input_tokens")?,
        characters: row.try_get("characters")?,
        documents: row.try_get("documents")?,
    })
}

/// Which events [`Store::usage_events`] returns.
#[derive(Debug, Clone)]
pub struct EventFilter {
    /// One tenant's events; `None` for every tenant (the exporter).
    pub tenant_id: Option<String>,
    /// Only events with a greater `seq` (the cursor; 0 from the start).
    pub after_seq: i64,
    /// Events that happened in `[from_ms, to_ms)`.
    pub from_ms: i64,
    pub to_ms: i64,
    pub limit: u32,
}

/// Which of one tenant's events [`Store::recent_usage_events`] returns:
/// the same `seq` cursor as [`EventFilter`], walked backwards.
#[derive(Debug, Clone)]
pub struct RecentFilter {
    pub tenant_id: String,
    /// Only events with a smaller `seq` (the previous page's last one);
    /// `None` from the newest.
    pub before_seq: Option<i64>,
    /// Only statuses in `[min, max)` (`200..300` for 2xx); `0..1000` for
    /// all.
    pub status: (u16, u16),
    pub limit: u32,
}

/// What usage is grouped by in [`Store::usage_summary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    None,
    Model,
    Endpoint,
    Key,
    Service,
}

impl GroupBy {
    fn column(self) -> &'static str {
        match self {
            GroupBy::None => "CAST(NULL AS TEXT)",
            GroupBy::Model => "model",
            GroupBy::Endpoint => "endpoint",
            GroupBy::Key => "key_id",
            GroupBy::Service => "service",
        }
    }
}

/// A tenant's usage in one time bucket and group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// The bucket's start, Unix milliseconds.
    pub bucket_ms: i64,
    /// The group's value (`None`: no model / no key, or not grouped).
    pub group: Option<String>,
    pub units: Units,
}

impl Store {
    /// Store `events`; those whose id is already stored are left alone.
    /// Returns how many were new.
    pub async fn insert_usage_events(&self, events: &[UsageEvent]) -> Result<u64, StoreError> {
        let mut inserted = 0;
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in events.chunks(INSERT_CHUNK) {
                    let mut builder = insert_builder!(sqlx::Sqlite, chunk);
                    inserted += builder.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(INSERT_LOCK)
                    .execute(&mut *tx)
                    .await?;
                for chunk in events.chunks(INSERT_CHUNK) {
                    let mut builder = insert_builder!(sqlx::Postgres, chunk);
                    inserted += builder.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
            }
        }
        Ok(inserted)
    }

    /// Events after a cursor, oldest `seq` first.
    pub async fn usage_events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>, StoreError> {
        let tenant = if filter.tenant_id.is_some() {
            "tenant_id = ? AND "
        } else {
            ""
        };
        let sql = format!(
            "SELECT seq, {COLUMNS} FROM usage_events WHERE {tenant}seq > ? \
             AND occurred_at_ms >= ? AND occurred_at_ms < ? ORDER BY seq LIMIT ?"
        );
        let limit = i64::from(filter.limit);
        match self {
            Store::Sqlite(pool) => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                if let Some(tenant) = &filter.tenant_id {
                    query = query.bind(tenant);
                }
                let rows = query
                    .bind(filter.after_seq)
                    .bind(filter.from_ms)
                    .bind(filter.to_ms)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(decode_event).collect()
            }
            Store::Postgres(pool) => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(numbered(&sql)));
                if let Some(tenant) = &filter.tenant_id {
                    query = query.bind(tenant);
                }
                let rows = query
                    .bind(filter.after_seq)
                    .bind(filter.from_ms)
                    .bind(filter.to_ms)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(decode_event).collect()
            }
        }
    }

    /// One tenant's events, newest `seq` first, before a cursor (the
    /// dashboard's request log).
    pub async fn recent_usage_events(
        &self,
        filter: &RecentFilter,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT seq, {COLUMNS} FROM usage_events WHERE tenant_id = ? AND seq < ? \
             AND status >= ? AND status < ? ORDER BY seq DESC LIMIT ?"
        );
        macro_rules! run {
            ($pool:expr, $sql:expr) => {{
                let rows = sqlx::query(sqlx::AssertSqlSafe($sql))
                    .bind(&filter.tenant_id)
                    .bind(filter.before_seq.unwrap_or(i64::MAX))
                    .bind(i32::from(filter.status.0))
                    .bind(i32::from(filter.status.1))
                    .bind(i64::from(filter.limit))
                    .fetch_all($pool)
                    .await?;
                rows.iter().map(decode_event).collect()
            }};
        }
        match self {
            Store::Sqlite(pool) => run!(pool, sql),
            Store::Postgres(pool) => run!(pool, numbered(&sql)),
        }
    }

    /// Every tenant's usage in `[from_ms, to_ms)`, summed per tenant
    /// (the operators' view), ordered by tenant id.
    pub async fn usage_by_tenant(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(String, Units)>, StoreError> {
        let sql = "SELECT tenant_id, \
             CAST(SUM(requests) AS BIGINT) AS requests, CAST(SUM(audio_ms) AS BIGINT) AS audio_ms, \
             CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(characters) AS BIGINT) AS characters, \
             CAST(SUM(documents) AS BIGINT) AS documents \
             FROM usage_events WHERE occurred_at_ms >= ? AND occurred_at_ms < ? \
             GROUP BY tenant_id";
        macro_rules! run {
            ($pool:expr, $sql:expr) => {{
                let rows = sqlx::query(sqlx::AssertSqlSafe($sql))
                    .bind(from_ms)
                    .bind(to_ms)
                    .fetch_all($pool)
                    .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get::<String, _>("tenant_id")?, decode_units(row)?)))
                    .collect::<Result<Vec<_>, StoreError>>()?
            }};
        }
        let mut rows = match self {
            Store::Sqlite(pool) => run!(pool, sql.to_string()),
            Store::Postgres(pool) => run!(pool, numbered(sql)),
        };
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(rows)
    }

    /// A tenant's usage in `[from_ms, to_ms)`, summed per bucket of
    /// `bucket_ms` (buckets start at multiples of it since the epoch, so
    /// hours and UTC days) and per group; ordered by bucket, then group.
    pub async fn usage_summary(
        &self,
        tenant_id: &str,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
        group_by: GroupBy,
    ) -> Result<Vec<SummaryRow>, StoreError> {
        let bucket_ms = bucket_ms.max(1);
        let sql = format!(
            "SELECT (occurred_at_ms / ?) * ? AS bucket, {group} AS grp, \
             CAST(SUM(requests) AS BIGINT) AS requests, CAST(SUM(audio_ms) AS BIGINT) AS audio_ms, \
             CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(characters) AS BIGINT) AS characters, \
             CAST(SUM(documents) AS BIGINT) AS documents \
             FROM usage_events WHERE tenant_id = ? AND occurred_at_ms >= ? AND occurred_at_ms < ? \
             GROUP BY 1, 2",
            group = group_by.column()
        );
        macro_rules! run {
            ($pool:expr, $sql:expr) => {{
                let rows = sqlx::query(sqlx::AssertSqlSafe($sql))
                    .bind(bucket_ms)
                    .bind(bucket_ms)
                    .bind(tenant_id)
                    .bind(from_ms)
                    .bind(to_ms)
                    .fetch_all($pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(SummaryRow {
                            bucket_ms: row.try_get("bucket")?,
                            group: row.try_get("grp")?,
                            units: decode_units(row)?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?
            }};
        }
        let mut rows = match self {
            Store::Sqlite(pool) => run!(pool, sql),
            Store::Postgres(pool) => run!(pool, numbered(&sql)),
        };
        rows.sort_by(|a, b| (a.bucket_ms, &a.group).cmp(&(b.bucket_ms, &b.group)));
        Ok(rows)
    }

    /// The last `seq` that `sink` has acknowledged (0: none yet).
    pub async fn export_cursor(&self, sink: &str) -> Result<i64, StoreError> {
        let sql = "SELECT delivered_seq FROM usage_export_cursors WHERE sink = ?";
        let seq: Option<i64> = match self {
            Store::Sqlite(pool) => {
                sqlx::query_scalar(sql)
                    .bind(sink)
                    .fetch_optional(pool)
                    .await?
            }
            Store::Postgres(pool) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(numbered(sql)))
                    .bind(sink)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(seq.unwrap_or(0))
    }

    /// Record that `sink` acknowledged everything up to `seq`. The cursor
    /// only moves forward, so two exporters cannot move it back.
    pub async fn set_export_cursor(&self, sink: &str, seq: i64) -> Result<(), StoreError> {
        let sql = "INSERT INTO usage_export_cursors (sink, delivered_seq, updated_at_ms) \
                   VALUES (?, ?, ?) ON CONFLICT (sink) DO UPDATE SET \
                   delivered_seq = excluded.delivered_seq, updated_at_ms = excluded.updated_at_ms \
                   WHERE usage_export_cursors.delivered_seq < excluded.delivered_seq";
        let now = crate::metering::event::now_ms();
        match self {
            Store::Sqlite(pool) => {
                sqlx::query(sql)
                    .bind(sink)
                    .bind(seq)
                    .bind(now)
                    .execute(pool)
                    .await?;
            }
            Store::Postgres(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(numbered(sql)))
                    .bind(sink)
                    .bind(seq)
                    .bind(now)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            numbered("a = ? AND b < ? LIMIT ?"),
            "a = $1 AND b < $2 LIMIT $3"
        );
    }
}
