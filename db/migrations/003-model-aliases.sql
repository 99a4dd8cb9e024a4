-- Model aliases (ride-duration@production -> 2). Every API process and worker reads this table and LISTENs on
-- channel `model_aliases`; the scorer NOTIFYs there after each change.
CREATE TABLE model_aliases (
  model_name text NOT NULL,
  alias      text NOT NULL CHECK (alias ~ '^[a-z][a-z0-9_-]*$'),
  version    text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_name, alias)
);

INSERT INTO model_aliases (model_name, alias, version) VALUES
  ('ride-duration', 'production', '2'),
  ('ride-duration', 'staging', '1')
ON CONFLICT (model_name, alias) DO NOTHING;
