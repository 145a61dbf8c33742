-- Per-tenant webhook signing secrets. No secret is stored: a tenant's
-- secret is derived from the server's key (`--webhook-secret`), its id and
-- its generation, so every replica computes the same one and a copy of
-- this table reveals nothing. A tenant without a row is at generation 0.
-- Rotating adds one to the generation; the previous secret keeps signing
-- (a second `v1=`) until `previous_until` (unix ms), so receivers can be
-- switched over without dropping deliveries.
CREATE TABLE speech_webhook_secrets (
    tenant_id TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    previous_until BIGINT
);
