-- Identity and access: tenants (organisations) own API keys and dashboard
-- users. Times are Unix seconds (UTC) on both backends, so "expired" and
-- "revoked" are the same integer comparison everywhere.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- An API key: its public id is in the key itself (`sk_<id>_<secret>`); only
-- an HMAC-SHA256 of the secret part is kept, so a leaked table leaks no key.
-- `scopes` is a comma-separated list (see auth::scopes).
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- A dashboard user: email (unique across tenants, so login needs no tenant
-- name), an Argon2id PHC string, and a role in its tenant.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member', 'viewer')),
    created_at BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id);
