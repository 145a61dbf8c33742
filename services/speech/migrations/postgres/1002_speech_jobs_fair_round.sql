-- Fair claiming across tenants (start-time fair queuing with unit cost).
-- A job's round is where it stands in its tenant's line, counted from the
-- round being served when it was queued: workers claim the lowest round
-- first (then the oldest id), so one job of each waiting tenant goes before
-- any tenant's second. Jobs queued before this migration are round 0.
ALTER TABLE speech_jobs ADD COLUMN fair_round BIGINT NOT NULL DEFAULT 0;

-- The claim: claimable jobs by round, then age.
CREATE INDEX speech_jobs_by_round ON speech_jobs (status, fair_round, id);
-- The insert: a tenant's queued/running jobs (its last round, its count).
CREATE INDEX speech_jobs_active_by_tenant ON speech_jobs (status, tenant_id, fair_round);
