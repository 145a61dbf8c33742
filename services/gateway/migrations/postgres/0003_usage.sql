-- Usage events: one row per request that reached a service (metering).
-- `seq` orders rows by commit: inserts take a transaction-scoped advisory
-- lock before drawing from the identity, so a reader that has seen seq N
-- never later finds a row below N (export cursors rely on it). `id`
-- (UUIDv7) makes every write idempotent. Times are Unix milliseconds and
-- audio whole milliseconds, so bucketing and sums are the same integer
-- arithmetic here and on SQLite.
CREATE TABLE usage_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    request_id TEXT,
    tenant_id TEXT NOT NULL,
    key_id TEXT,
    user_id TEXT,
    service TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT,
    status INTEGER NOT NULL,
    latency_ms BIGINT NOT NULL,
    occurred_at_ms BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    audio_ms BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    characters BIGINT NOT NULL,
    documents BIGINT NOT NULL
);

-- `GET /v1/usage` (a tenant's time range) and `GET /v1/usage/events` (a
-- tenant's rows after a cursor).
CREATE INDEX usage_events_tenant_time ON usage_events (tenant_id, occurred_at_ms);
CREATE INDEX usage_events_tenant_seq ON usage_events (tenant_id, seq);

-- How far each push-export sink has acknowledged (at-least-once delivery).
CREATE TABLE usage_export_cursors (
    sink TEXT PRIMARY KEY NOT NULL,
    delivered_seq BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
