-- The online prediction log is written on every canary and shadow call and read by a few window queries, so what a
-- row costs to insert counts more than what it costs to read (bench:log against migration 019's table: Postgres CPU a
-- row, see bench/README.md):
-- - features, output and champion_output become json: Postgres checks the text and stores it as it came, where jsonb
--   parses it into its binary form on every insert. The readers extract one field at a time (drift casts that value
--   to jsonb, retraining the whole row) over a window of rows, which the extra parse costs little.
-- - the bigserial id goes: no query reads it, and every row drew a sequence value and a btree entry for it. Rows are
--   found by request_id or record_key (hash indexes) or by their time window (BRIN on created_at).
-- The type change rewrites the table once; writes to it wait until this migration commits.
ALTER TABLE online_predictions
  ALTER COLUMN features TYPE json,
  ALTER COLUMN output TYPE json,
  ALTER COLUMN champion_output TYPE json,
  DROP COLUMN id;
