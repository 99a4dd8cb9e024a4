-- A run's predictions are found by run_id through a BRIN index instead of a btree. Every row of a run carries the
-- same run_id, so the btree took each insert on its rightmost leaf: two chunks writing at once contended for that
-- one page (bench:batch: the btree cost the run's Postgres about 1.5 CPU-s per million rows with two chunks in
-- flight, the BRIN index next to nothing). A run's rows are written together, so their heap pages form a few block
-- ranges and the lookups (a shadow run's comparison, per-run counts) read just those. Building it reads the table
-- once; the old index goes in the same transaction.
DROP INDEX IF EXISTS predictions_run_idx;
CREATE INDEX predictions_run_brin ON predictions USING brin (run_id) WITH (autosummarize = on);
