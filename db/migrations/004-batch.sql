-- Batch scoring (workflows/batch-scoring.ts). One prediction per ride and model version: a retried or re-run chunk
-- upserts the same keys, so results are exactly-once whatever Temporal retries. run_id = '<workflow id>/<first run id>'.
CREATE TABLE predictions (
  ride_id            text NOT NULL,
  model_name         text NOT NULL,
  model_version      text NOT NULL,
  predicted_duration double precision NOT NULL,
  actual_duration    double precision,            -- copied from rides at scoring time
  diff               double precision,            -- predicted - actual (null when actual is unknown)
  run_id             text NOT NULL,
  scored_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (ride_id, model_name, model_version)
);
CREATE INDEX predictions_run_idx ON predictions (run_id);

-- Rows the scorer refused (bad zone, distance ...). Same key as predictions: a re-run updates, never duplicates.
CREATE TABLE rejected_rows (
  ride_id       text NOT NULL,
  model_name    text NOT NULL,
  model_version text NOT NULL,
  run_id        text NOT NULL,
  field         text NOT NULL,
  reason        text NOT NULL,
  rejected_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (ride_id, model_name, model_version)
);
CREATE INDEX rejected_rows_run_idx ON rejected_rows (run_id);

-- One row per batch run (and per day child of a multi-day run), written at start and at the end.
CREATE TABLE batch_runs (
  run_id           text PRIMARY KEY,
  workflow_id      text NOT NULL,
  parent_run_id    text,
  partition_key    text NOT NULL,
  partition_from   timestamp NOT NULL,
  partition_to     timestamp NOT NULL,
  model_name       text NOT NULL,
  model_version    text NOT NULL,
  status           text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  rows_scored      bigint NOT NULL DEFAULT 0,
  rows_rejected    bigint NOT NULL DEFAULT 0,
  rows_compared    bigint NOT NULL DEFAULT 0,
  rmse             double precision,
  mae              double precision,
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz,
  error            text,
  webhook_status   text,                          -- null: not sent; 'delivered 200'; 'failed: <reason>'
  webhook_attempts integer,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batch_runs_partition_idx ON batch_runs (partition_key, started_at DESC);
