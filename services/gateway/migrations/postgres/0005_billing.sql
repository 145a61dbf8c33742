-- Billing: each tenant's plan and monthly budget, the running month's
-- spend and open reservations (budget enforcement), and closed invoices.
-- Money is BIGINT billionths of the catalog's currency (never floats);
-- months are `YYYY-MM` (UTC); times are Unix milliseconds.

-- A tenant's plan (NULL: the catalog's default plan) and budget overrides
-- (NULL: the plan's default budget).
CREATE TABLE billing_tenants (
    tenant_id TEXT PRIMARY KEY NOT NULL,
    plan TEXT,
    soft_limit_nanos BIGINT,
    hard_limit_nanos BIGINT,
    updated_at_ms BIGINT NOT NULL
);

-- One row per tenant and month: settled spend, what running requests hold
-- reserved, and when each once-a-month alert went out. Reservations are a
-- conditional UPDATE of this row (see store/billing.rs).
CREATE TABLE budget_months (
    tenant_id TEXT NOT NULL,
    month TEXT NOT NULL,
    spent_nanos BIGINT NOT NULL DEFAULT 0,
    reserved_nanos BIGINT NOT NULL DEFAULT 0,
    soft_alerted_at_ms BIGINT,
    hard_alerted_at_ms BIGINT,
    PRIMARY KEY (tenant_id, month)
);

-- Open reservations: deleted when settled or released; ones left behind by
-- a gateway that died are released once expired.
CREATE TABLE budget_reservations (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    month TEXT NOT NULL,
    amount_nanos BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX budget_reservations_expiry ON budget_reservations (expires_at_ms);

-- Closed months' invoices, written once and never changed (the line items
-- as JSON, priced with the catalog of the day they were closed).
CREATE TABLE invoices (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    month TEXT NOT NULL,
    currency TEXT NOT NULL,
    plan TEXT NOT NULL,
    subtotal_nanos BIGINT NOT NULL,
    lines TEXT NOT NULL,
    closed_at_ms BIGINT NOT NULL,
    UNIQUE (tenant_id, month)
);
