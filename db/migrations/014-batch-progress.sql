-- Live progress of running batch runs (the dashboard's batch page): one row per chunk, written in the same
-- transaction as the chunk's committed batch (rows done so far is the checkpointed count, so a retry rewrites it
-- rather than adding to it). The run's final ledger write removes its rows.
CREATE TABLE batch_run_progress (
  run_id       text NOT NULL,
  chunk        integer NOT NULL,
  rows_done    bigint NOT NULL,                     -- scored + rejected rows of this chunk, committed
  done         boolean NOT NULL DEFAULT false,
  chunks_total integer,                             -- the run's, as planned when the chunk started
  rows_total   bigint,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, chunk)
);
