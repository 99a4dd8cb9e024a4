-- Monitoring of every mode: drift windows and their alerts are kept per mode (batch, online, streaming) as well as
-- per deployment, version and window; a stream prediction keeps the record it scored (online rows already keep
-- theirs in `features`), so its window's drift is computed in SQL. An alert carries the key its deliveries are
-- deduplicated by (the webhook's Idempotency-Key) and how its webhook delivery ended.
ALTER TABLE stream_predictions ADD COLUMN features jsonb;    -- the record as scored (streaming defaults filled in)
CREATE INDEX stream_predictions_time_idx ON stream_predictions (deployment, version, scored_at);

ALTER TABLE drift_windows ADD COLUMN mode text NOT NULL DEFAULT 'batch';
ALTER TABLE drift_windows DROP CONSTRAINT drift_windows_pkey;
ALTER TABLE drift_windows ADD PRIMARY KEY (deployment, mode, version, window_from, window_to);

ALTER TABLE monitoring_alerts ADD COLUMN mode text NOT NULL DEFAULT 'batch';
ALTER TABLE monitoring_alerts DROP CONSTRAINT monitoring_alerts_pkey;
ALTER TABLE monitoring_alerts ADD PRIMARY KEY (deployment, kind, mode, version, window_from, window_to);
ALTER TABLE monitoring_alerts
  ADD COLUMN dedup_key        text,
  ADD COLUMN webhook_status   text,                 -- delivered <status>, skipped, failed: <reason>; null: not yet
  ADD COLUMN webhook_attempts integer,
  ADD COLUMN delivered_at     timestamptz;
UPDATE monitoring_alerts
   SET dedup_key = kind || ':' || deployment || ':' || mode || ':' || version || ':' || window_from || '..' || window_to;
ALTER TABLE monitoring_alerts ALTER COLUMN dedup_key SET NOT NULL;
ALTER TABLE monitoring_alerts ADD CONSTRAINT monitoring_alerts_dedup_key UNIQUE (dedup_key);
