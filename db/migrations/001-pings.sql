-- End-to-end checks: the ping workflow writes one row per run through an activity.
CREATE TABLE pings (
  id         text PRIMARY KEY,
  message    text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
