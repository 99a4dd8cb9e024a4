/**
 * The course's stream contract for the ride-duration deployment, mapped onto the generic one: events
 * `{"ride": {...}, "ride_id": 256}` (API body, signals `rideEvent`/`rideEvents`), published predictions
 * `{"model","version","prediction":{"ride_duration","ride_id"}}`. Pure and deterministic: the workflow bundle
 * imports it. The only stream code that knows rides.
 */
import type { Prediction, ResolvedModel } from '../../contracts/scoring.js';
import type {
  EventProblem,
  QueuedEvent,
  StreamAdapter,
  StreamEvent,
  StreamPrediction,
} from '../../contracts/stream.js';

/** One event in the course's format. */
export interface RideEvent {
  ride: Record<string, unknown>;
  ride_id: string | number;
  /** Dedup key; defaults to `ride_id`. */
  event_id?: string;
  received_at?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string | number =>
  (typeof v === 'string' && v.length > 0 && v.length <= 200) || (typeof v === 'number' && Number.isFinite(v));
const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

function problems(raw: unknown): EventProblem[] {
  if (!isRecord(raw)) return [{ field: '(event)', message: 'must be a JSON object' }];
  const found: EventProblem[] = [];
  if (!isRecord(raw.ride)) found.push({ field: 'ride', message: 'must be an object' });
  if (!isId(raw.ride_id))
    found.push({ field: 'ride_id', message: 'must be a non-empty string (≤ 200 chars) or a number' });
  if (raw.event_id !== undefined && !(typeof raw.event_id === 'string' && isId(raw.event_id)))
    found.push({ field: 'event_id', message: 'must be a non-empty string (≤ 200 chars)' });
  if (raw.received_at !== undefined && !isTime(raw.received_at))
    found.push({ field: 'received_at', message: 'must be an ISO 8601 timestamp' });
  return found;
}

function toEvent(raw: object): StreamEvent {
  const e = raw as RideEvent;
  return {
    event_id: String(e.event_id ?? e.ride_id),
    record: e.ride,
    key: e.ride_id,
    ...(e.received_at !== undefined ? { received_at: e.received_at } : {}),
  };
}

function toQueued(raw: unknown, now: string, invalidId: () => string): QueuedEvent {
  if (!isRecord(raw))
    return {
      event_id: invalidId(),
      record: {},
      key: '',
      received_at: now,
      invalid: 'event must be a JSON object',
    };
  const eventId = isId(raw.event_id)
    ? String(raw.event_id)
    : isId(raw.ride_id)
      ? String(raw.ride_id)
      : invalidId();
  const event: QueuedEvent = {
    event_id: eventId,
    record: isRecord(raw.ride) ? raw.ride : {},
    key: isId(raw.ride_id) ? raw.ride_id : '',
    received_at: isTime(raw.received_at) ? raw.received_at : now,
  };
  if (!isRecord(raw.ride))
    event.invalid = 'ride: must be an object with PULocationID, DOLocationID, trip_distance';
  else if (!isId(raw.ride_id)) event.invalid = 'ride_id: must be a non-empty string or a number';
  return event;
}

function output(model: ResolvedModel, event: QueuedEvent, prediction: Prediction): StreamPrediction {
  return {
    model: model.name,
    version: model.version,
    prediction: { ride_duration: prediction.duration, ride_id: event.key ?? event.event_id },
  };
}

export const rideDurationStream: StreamAdapter = {
  deployment: 'ride-duration',
  signals: { one: 'rideEvent', many: 'rideEvents' },
  schemaName: 'RideEvent',
  schema: {
    type: 'object',
    required: ['ride', 'ride_id'],
    properties: {
      ride: {
        type: 'object',
        additionalProperties: {},
        example: { PULocationID: 10, DOLocationID: 50, trip_distance: 40 },
      },
      ride_id: { anyOf: [{ type: 'string' }, { type: 'number' }], example: 256 },
      event_id: { type: 'string' },
      received_at: { type: 'string' },
    },
    additionalProperties: {},
  },
  problems,
  toEvent,
  toQueued,
  replayRecord: (request) => (isRecord(request.ride) ? request.ride : undefined),
  output,
};
