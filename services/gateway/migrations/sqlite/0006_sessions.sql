-- Server-side sessions and the user lifecycle (issue 18): a session token
-- (a JWT) names its row here by `id`, and every request checks that row and
-- its user (cached for at most a second), so signing out, disabling or
-- deleting a user, or changing their password ends their sessions at once
-- instead of when the token expires. Times are Unix seconds.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- No foreign key to users: deleting a user deletes its sessions in the
-- same transaction, and the check joins the user anyway (no user, no
-- session).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);
-- Expired rows are swept at sign-in.
CREATE INDEX sessions_expires ON sessions (expires_at);
