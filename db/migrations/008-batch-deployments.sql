-- Batch runs of any deployment (deployments/<name>.json): the deployment a run scored and its metrics by name
-- (regression rmse/mae, classification accuracy). rmse and mae keep their own columns for existing readers.
-- A run of a source without event time scores the whole table: its partition is '-infinity'..'infinity'.
ALTER TABLE batch_runs ADD COLUMN IF NOT EXISTS deployment text;
ALTER TABLE batch_runs ADD COLUMN IF NOT EXISTS metrics jsonb;
CREATE INDEX IF NOT EXISTS batch_runs_deployment_idx ON batch_runs (deployment, started_at DESC);
