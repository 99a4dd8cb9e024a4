-- A batch run's drift histograms, counted while its pages are scored (the rows are in memory then): one row per
-- scored page, written in the page's own transaction, keyed by the page's first key so a page scored again after a
-- retry replaces its row instead of adding to the count. The run's drift window merges them instead of scanning
-- the partition again; a window whose tallies do not add up to the run's rows is computed in SQL as before.
CREATE TABLE batch_drift_tallies (
  run_id     text NOT NULL,
  first_key  text NOT NULL,
  rows       integer NOT NULL,                      -- source rows the page read (scored and rejected)
  counts     jsonb NOT NULL,                        -- {field: {bin: count}}, bins as the SQL histograms name them
  performance jsonb,                                -- the page's labelled rows: sums (regression) or per class
  PRIMARY KEY (run_id, first_key)
);
