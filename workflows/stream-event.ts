/**
 * Turns whatever a signal carried into a queued event: the dedup key (`event_id`, else `ride_id`) and the accepted
 * time (`received_at`, else the workflow time when the handler ran, which replays identically) are always set.
 * Pure, sandbox-safe; never throws (a throwing signal handler would stall the workflow).
 */
import type { QueuedEvent } from '../contracts/stream.js';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string | number =>
  (typeof v === 'string' && v.length > 0 && v.length <= 200) || (typeof v === 'number' && Number.isFinite(v));

export function toQueuedEvent(raw: unknown, now: string, invalidId: () => string): QueuedEvent {
  if (!isRecord(raw)) {
    return {
      event_id: invalidId(),
      ride_id: '',
      ride: {},
      received_at: now,
      invalid: 'event must be a JSON object',
    };
  }
  const eventId = isId(raw.event_id)
    ? String(raw.event_id)
    : isId(raw.ride_id)
      ? String(raw.ride_id)
      : invalidId();
  const rideId = isId(raw.ride_id) ? raw.ride_id : '';
  const receivedAt =
    typeof raw.received_at === 'string' && !Number.isNaN(Date.parse(raw.received_at)) ? raw.received_at : now;
  const event: QueuedEvent = {
    event_id: eventId,
    ride_id: rideId,
    ride: isRecord(raw.ride) ? raw.ride : {},
    received_at: receivedAt,
  };
  if (!isRecord(raw.ride))
    event.invalid = 'ride: must be an object with PULocationID, DOLocationID, trip_distance';
  else if (!isId(raw.ride_id)) event.invalid = 'ride_id: must be a non-empty string or a number';
  return event;
}
