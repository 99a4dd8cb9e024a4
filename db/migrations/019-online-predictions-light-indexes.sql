-- The online prediction log takes a row for every canary and shadow call (and every call with PREDICTION_LOG=on), and
-- each of its indexes added to what a row cost Postgres. Every query of the table asks for a time window or for one key,
-- so (bench:log against the indexes before this migration: 11.0 against 13.5 µs of Postgres CPU a row):
-- - created_at: a BRIN index. Rows are written in the order they were made, give or take one flush, so their heap
--   pages form a few block ranges per window; the gate, drift and monitoring queries read just those.
-- - (deployment, version, role, created_at): dropped. Those queries filter inside the window BRIN gives them.
-- - request_id and record_key: hash indexes. They are only looked up by equality (which version answered request X;
--   the late-label joins, which also match the deployment), and a hash insert touches one bucket page where a btree
--   descends to a random leaf of text keys.
-- Building the indexes reads the table once; writes to it wait until this migration commits.
DROP INDEX IF EXISTS online_predictions_created_idx;
DROP INDEX IF EXISTS online_predictions_rollout_idx;
DROP INDEX IF EXISTS online_predictions_request_idx;
DROP INDEX IF EXISTS online_predictions_key_idx;
CREATE INDEX online_predictions_created_brin ON online_predictions USING brin (created_at) WITH (autosummarize = on);
CREATE INDEX online_predictions_request_hash ON online_predictions USING hash (request_id);
CREATE INDEX online_predictions_key_hash ON online_predictions USING hash (record_key);
