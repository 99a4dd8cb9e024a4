-- TLC trip records as ingested (green and yellow share these columns). Timestamps are naive local New York time,
-- exactly as in the source files. ride_id = 'YYYY/MM_<row index in the source file>', so re-ingest is idempotent.
CREATE TABLE rides (
  ride_id          text PRIMARY KEY,
  vendor_id        smallint,
  pickup_datetime  timestamp NOT NULL,
  dropoff_datetime timestamp NOT NULL,
  pu_location_id   integer,
  do_location_id   integer,
  passenger_count  smallint,
  trip_distance    double precision,
  fare_amount      double precision,
  total_amount     double precision,
  actual_duration  double precision,            -- minutes, dropoff - pickup
  source_file      text NOT NULL,
  ingested_at      timestamptz NOT NULL DEFAULT now()
);

-- The batch workflow selects partitions by pickup time, then orders chunks by (pickup_datetime, ride_id).
CREATE INDEX rides_pickup_idx ON rides (pickup_datetime, ride_id);
CREATE INDEX rides_source_file_idx ON rides (source_file);
