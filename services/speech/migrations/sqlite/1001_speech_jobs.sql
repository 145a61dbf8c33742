-- Asynchronous transcription jobs (speech service). Versions from 1001 keep
-- clear of the gateway's migrations, which share this database.
--
-- Times are unix milliseconds from the application clock, the same on both
-- backends. The uploaded audio is kept until the job ends, then dropped.
CREATE TABLE speech_jobs (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    status TEXT NOT NULL,
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    language TEXT,
    prompt TEXT,
    response_format TEXT NOT NULL,
    segment_granularity BOOLEAN NOT NULL,
    filename TEXT,
    content_type TEXT,
    audio BLOB,
    webhook_url TEXT,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    result TEXT,
    error_code TEXT,
    error_message TEXT,
    audio_seconds DOUBLE PRECISION,
    webhook_status TEXT
);

-- A tenant's jobs, newest first (ids are UUIDv7: time-ordered).
CREATE INDEX speech_jobs_by_tenant ON speech_jobs (tenant_id, id);
-- Workers look for queued jobs and expired leases.
CREATE INDEX speech_jobs_by_status ON speech_jobs (status, id);
