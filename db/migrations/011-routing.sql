-- Rollouts: the routing of each deployment between its champion and a challenger, owned by the deployment's
-- controller workflow (routing-<deployment>) and mirrored here so the API and workers never call Temporal on a hot
-- path. Every change is also a row of routing_history (who, why, when, the state after it), which answers "which
-- version served at time t". Prediction rows in every mode record their role.
CREATE TABLE deployment_routing (
  deployment text PRIMARY KEY,
  revision   bigint NOT NULL,
  state      jsonb NOT NULL,                        -- contracts/routing.ts RoutingState
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE routing_history (
  deployment text NOT NULL,
  revision   bigint NOT NULL,
  changed_at timestamptz NOT NULL,                  -- when the controller applied the change
  actor      text NOT NULL,                         -- api-key:<fingerprint>, cli:<user>, rollout:<id>
  reason     text NOT NULL,
  change     jsonb NOT NULL,                        -- the patch as asked
  state      jsonb NOT NULL,                        -- the routing after it
  PRIMARY KEY (deployment, revision)
);
CREATE INDEX routing_history_time_idx ON routing_history (deployment, changed_at);

-- Rollouts as they progress (the workflow is the source of truth; this is for listing and the dashboard).
CREATE TABLE rollouts (
  deployment text NOT NULL,
  id         text NOT NULL,
  version    text NOT NULL,
  status     text NOT NULL,
  progress   jsonb NOT NULL,                        -- contracts/routing.ts RolloutProgress
  started_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment, id)
);

-- Online: the role of each row; a canary or shadow call that failed is a row with its error; a shadow row keeps the
-- champion's answer and how far the challenger's is from it (|a - b|, or 0/1 for labels).
ALTER TABLE online_predictions
  ADD COLUMN deployment text,
  ADD COLUMN role       text NOT NULL DEFAULT 'champion',
  ADD COLUMN error      text,
  ADD COLUMN champion_output jsonb,
  ADD COLUMN diff       double precision;
CREATE INDEX online_predictions_rollout_idx ON online_predictions (deployment, version, role, created_at);

-- Streaming: the answering row records its role; shadow scores live beside it, one per event and version.
ALTER TABLE stream_predictions ADD COLUMN role text NOT NULL DEFAULT 'champion';
CREATE TABLE stream_shadow_predictions (
  stream_id     text NOT NULL,
  event_id      text NOT NULL,
  deployment    text NOT NULL,
  model         text NOT NULL,
  version       text NOT NULL,
  prediction    jsonb,                              -- null when the challenger failed (error says why)
  primary_value jsonb,
  diff          double precision,
  error         text,
  scored_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (stream_id, event_id, version)
);
CREATE INDEX stream_shadow_time_idx ON stream_shadow_predictions (deployment, version, scored_at);

-- Batch: a shadow run scores a partition with the challenger into the same sink (its own exactly-once keys: the
-- sink's key includes the version); its comparison with the champion on the same rows is kept here.
CREATE TABLE batch_comparisons (
  deployment  text NOT NULL,
  champion    text NOT NULL,
  challenger  text NOT NULL,
  partition_from text NOT NULL,
  partition_to   text NOT NULL,
  summary     jsonb NOT NULL,                       -- contracts/routing.ts BatchComparison
  compared_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment, challenger, champion, partition_from, partition_to)
);
