-- Monitoring: ground truth that arrives after the prediction (a ride's duration is known at drop-off). One label
-- per deployment and record key, the latest kept (idempotent by key); joined to predictions by key in every mode:
-- online rows carry the record's key field (or the request id), stream rows their record key, batch rows the
-- source key.
CREATE TABLE labels (
  deployment  text NOT NULL,
  record_key  text NOT NULL,
  label       jsonb NOT NULL,                       -- a number (regression) or a class label
  source      text NOT NULL,                        -- api, stream
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment, record_key)
);

ALTER TABLE online_predictions ADD COLUMN record_key text;
CREATE INDEX online_predictions_key_idx ON online_predictions (deployment, record_key);
CREATE INDEX stream_predictions_key_idx ON stream_predictions (deployment, record_key);
