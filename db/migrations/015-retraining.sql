-- Retraining runs (workflows/retraining.ts): one row per run, kept whatever the outcome. A run trains with the
-- deployment file's command into a staging folder, compares the candidate with the champion on the latest labelled
-- window, and registers it only when it is better; a refused or failed run records why and changes nothing else.
CREATE TABLE retraining_runs (
  run_id      text PRIMARY KEY,                     -- the workflow run id
  deployment  text NOT NULL,
  model       text NOT NULL,
  version     text,                                 -- the candidate's version (registered only when status = registered)
  champion    text,                                 -- the version it was compared with
  trigger     text NOT NULL,                        -- api, schedule, alert
  reason      text NOT NULL,                        -- why it was started
  command     jsonb NOT NULL,                       -- argv as run (placeholders filled in)
  status      text NOT NULL,                        -- training, evaluating, registering, registered, refused, failed, cancelled
  outcome     text,                                 -- why it ended as it did
  figures     jsonb,                                -- contracts/retraining.ts RetrainingFigures
  rollout     text,                                 -- the rollout a registered version started
  attempts    integer NOT NULL DEFAULT 0,           -- training attempts (a killed worker's attempt counts)
  started_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz
);
CREATE INDEX retraining_runs_deployment_idx ON retraining_runs (deployment, started_at DESC);
