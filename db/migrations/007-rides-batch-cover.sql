-- Batch scoring pages through a partition in (pickup_datetime, ride_id) order and reads only these columns
-- (db/queries/batch.ts, readRidePage). With them stored in the index a page is an index-only scan instead of one
-- heap visit per row: the rows of a day lie all over the heap, so that was ~20 000 buffer visits per 25 000 rows.
-- It replaces rides_pickup_idx: same key and order, so every plan that used it (planKeys, range counts) still can.
-- Index-only scans need the visibility map, which autovacuum sets after a load (the bench VACUUMs explicitly).
-- Building it locks rides against writes for the build (migrations run in a transaction): on a big table, create
-- it CONCURRENTLY by hand first; IF NOT EXISTS then makes this migration a no-op for that step.
CREATE INDEX IF NOT EXISTS rides_pickup_cover_idx ON rides (pickup_datetime, ride_id)
  INCLUDE (pu_location_id, do_location_id, trip_distance, actual_duration);
DROP INDEX IF EXISTS rides_pickup_idx;
