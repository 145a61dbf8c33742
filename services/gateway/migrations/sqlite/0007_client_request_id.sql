-- The caller's own `x-request-id`, kept apart from `request_id` (the
-- gateway's, unique per request): a caller may send any value, the same one
-- twice, or another tenant's. NULL when the caller sent none.
ALTER TABLE usage_events ADD COLUMN client_request_id TEXT;
