-- Rate and concurrency limits set by an operator, per tenant and per API
-- key (see the gateway's limits module). One row per subject: `scope` is
-- 'tenant' or 'key', `subject_id` the tenant's or the key's id. A NULL
-- limit means "the server-wide default" (--default-tenant-limits /
-- --default-key-limits), so an override names only what it changes.
CREATE TABLE limits (
    scope TEXT NOT NULL CHECK (scope IN ('tenant', 'key')),
    subject_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    requests_per_minute BIGINT,
    tokens_per_minute BIGINT,
    audio_seconds_per_minute BIGINT,
    concurrent_requests BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope, subject_id)
);
CREATE INDEX limits_tenant ON limits (tenant_id);
