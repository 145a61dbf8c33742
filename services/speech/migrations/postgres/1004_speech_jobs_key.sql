-- The API key a job was submitted with (NULL: a dashboard session, or a
-- job queued before this column existed), so its audio is charged to that
-- key's budget and shows in the key's spend.
ALTER TABLE speech_jobs ADD COLUMN key_id TEXT;
