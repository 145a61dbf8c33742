-- Per-key budgets: an API key's own monthly hard limit, under its
-- tenant's (the tenant's budget still applies to every key).
--
-- A budget is kept per *account*: a tenant, or one API key. A key's month
-- and its reservations live in `budget_months` and `budget_reservations`
-- beside its tenant's, under the key's id (`key_<hex>`, which no tenant id
-- can be) in their `tenant_id` column. The column keeps its name so that a
-- gateway of the previous version, during a rolling upgrade, reads and
-- writes the same rows as before; it never looks up a key's.
--
-- No row: the key has no budget of its own.
CREATE TABLE key_budgets (
    key_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    hard_limit_nanos BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX key_budgets_tenant ON key_budgets (tenant_id);
