-- Drift per window of a deployment's batch source against the card's reference profile (recomputing replaces), and
-- the alerts they raised: one per window and kind, whoever computes it again.
CREATE TABLE drift_windows (
  deployment  text NOT NULL,
  version     text NOT NULL,
  window_from text NOT NULL,
  window_to   text NOT NULL,
  result      jsonb NOT NULL,                       -- contracts/monitoring.ts DriftWindow
  computed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment, version, window_from, window_to)
);
CREATE TABLE monitoring_alerts (
  deployment  text NOT NULL,
  kind        text NOT NULL,                        -- drift
  version     text NOT NULL,
  window_from text NOT NULL,
  window_to   text NOT NULL,
  details     jsonb NOT NULL,
  raised_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment, kind, version, window_from, window_to)
);
