-- Online mode: every prediction the API served when PREDICTION_LOG=on, written asynchronously in batches.
-- One row per scored ride (a /predict/batch call or a V2 infer of N rows writes N rows with the same request_id).
CREATE TABLE online_predictions (
  id          bigserial PRIMARY KEY,
  request_id  text NOT NULL,                        -- X-Request-Id of the call
  row_index   integer NOT NULL,                     -- position of the ride in the call
  route       text NOT NULL,                        -- /predict, /predict/batch, /v2/models/{name}/infer
  model       text NOT NULL,
  version     text NOT NULL,
  features    jsonb NOT NULL,                       -- the ride (or V2 input row) as received
  prediction  double precision NOT NULL,            -- minutes
  latency_ms  double precision NOT NULL,            -- request handling time up to the prediction
  created_at  timestamptz NOT NULL                  -- when the prediction was made (not when the row was written)
);
CREATE INDEX online_predictions_request_idx ON online_predictions (request_id);
CREATE INDEX online_predictions_created_idx ON online_predictions (created_at);
