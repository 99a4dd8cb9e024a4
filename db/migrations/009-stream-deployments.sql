-- Streams serve any deployment. A prediction row now records its deployment, the record's key and the generic
-- prediction (scoring/predictions.ts predictionAt) with its primary value; `payload` stays what consumers read (the
-- generic shape, or a course adapter's). The course columns ride_id/ride_duration become read-only projections of
-- the ride-duration payload ({"prediction": {"ride_duration", "ride_id"}}), null for other deployments, so no code
-- writes them and every existing reader keeps working.
ALTER TABLE stream_predictions
  ADD COLUMN deployment    text,
  ADD COLUMN record_key    text,
  ADD COLUMN prediction    jsonb,
  ADD COLUMN primary_value jsonb;                    -- regression value or class label

UPDATE stream_predictions
   SET deployment = 'ride-duration',
       record_key = ride_id,
       prediction = jsonb_build_object('duration', ride_duration),
       primary_value = to_jsonb(ride_duration);

ALTER TABLE stream_predictions
  ALTER COLUMN deployment SET NOT NULL,
  ALTER COLUMN prediction SET NOT NULL,
  DROP COLUMN ride_id,
  DROP COLUMN ride_duration,
  ADD COLUMN ride_id text GENERATED ALWAYS AS (payload -> 'prediction' ->> 'ride_id') STORED,
  ADD COLUMN ride_duration double precision
    GENERATED ALWAYS AS ((payload -> 'prediction' ->> 'ride_duration')::double precision) STORED;

-- Queued events and dead letters move to the generic shape {event_id, record, key, received_at}.
UPDATE dead_letters
   SET payload = (payload - 'ride' - 'ride_id')
                 || jsonb_build_object('record', payload -> 'ride', 'key', payload -> 'ride_id')
 WHERE payload ? 'ride';
UPDATE stream_queue
   SET event = (event - 'ride' - 'ride_id')
               || jsonb_build_object('record', event -> 'ride', 'key', event -> 'ride_id')
 WHERE event ? 'ride';
