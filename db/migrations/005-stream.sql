-- Streaming mode: every persisted prediction of every stream (the durable record consumers resume from by id),
-- and the events that could not be scored. UNIQUE (stream_id, event_id) is the final dedup guard.
CREATE TABLE stream_predictions (
  id            bigserial PRIMARY KEY,              -- SSE event id: strictly increasing in persist order
  stream_id     text NOT NULL,
  event_id      text NOT NULL,
  ride_id       text NOT NULL,
  model         text NOT NULL,
  version       text NOT NULL,
  ride_duration double precision NOT NULL,          -- minutes
  payload       jsonb NOT NULL,                     -- {"model", "version", "prediction": {"ride_duration", "ride_id"}}
  attempts      integer NOT NULL DEFAULT 1,         -- activity attempt that persisted it
  received_at   timestamptz NOT NULL,               -- accepted by the API (or the workflow for raw signals)
  scored_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (stream_id, event_id)
);
CREATE INDEX stream_predictions_stream_idx ON stream_predictions (stream_id, id);

CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  stream_id   text NOT NULL,
  event_id    text NOT NULL,
  payload     jsonb NOT NULL,                       -- the event as queued: {event_id, ride_id, ride, received_at}
  error       text NOT NULL,                        -- names the field for invalid features
  attempts    integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz,                          -- set when re-queued; cleared if it fails again
  UNIQUE (stream_id, event_id)
);

-- Overflow of a stream's in-workflow queue: when a run must continue-as-new with more queued events than its input
-- can carry, they wait here (in arrival order, by seq) and are scored from here before newer events.
CREATE TABLE stream_queue (
  seq       bigserial PRIMARY KEY,
  stream_id text NOT NULL,
  event     jsonb NOT NULL
);
CREATE INDEX stream_queue_stream_idx ON stream_queue (stream_id, seq);
