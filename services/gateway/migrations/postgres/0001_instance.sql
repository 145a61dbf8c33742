-- The deployment's identity: one row, created by the first start. Replicas
-- sharing a store report the same instance id, which is how an operator tells
-- which store a process is attached to.
CREATE TABLE stratus_instance (
    id TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
