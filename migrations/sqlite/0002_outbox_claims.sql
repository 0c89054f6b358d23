-- A process delivering a queued email claims it first, so that two processes
-- (a bulk invite and the cron job's `outbox send`, say) never send it twice.
-- A claim whose process has died, or that is older than the claim lifetime,
-- may be taken over.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
