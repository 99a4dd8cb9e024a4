/**
 * Turns whatever a generic `events` signal carried into a queued event: the dedup key (`event_id`) and the accepted
 * time (`received_at`, else the workflow time when the handler ran, which replays identically) are always set.
 * Pure, sandbox-safe; never throws (a throwing signal handler would stall the workflow).
 */
import type { EventKey, EventProblem, QueuedEvent } from '../contracts/stream.js';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isEventKey = (v: unknown): v is EventKey =>
  (typeof v === 'string' && v.length > 0 && v.length <= 200) || (typeof v === 'number' && Number.isFinite(v));
const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

const KEY_MESSAGE = 'must be a non-empty string (≤ 200 chars) or a number';

/** Every shape problem of a generic event (empty when it can be signalled); feature values are the scorer's. */
export function findEventProblems(raw: unknown): EventProblem[] {
  if (!isRecord(raw)) return [{ field: '(event)', message: 'must be a JSON object' }];
  const problems: EventProblem[] = [];
  if (!isEventKey(raw.event_id)) problems.push({ field: 'event_id', message: KEY_MESSAGE });
  if (!isRecord(raw.record)) problems.push({ field: 'record', message: 'must be an object' });
  if (raw.key !== undefined && !isEventKey(raw.key)) problems.push({ field: 'key', message: KEY_MESSAGE });
  if (raw.received_at !== undefined && !isTime(raw.received_at))
    problems.push({ field: 'received_at', message: 'must be an ISO 8601 timestamp' });
  return problems;
}

export function toQueuedEvent(raw: unknown, now: string, invalidId: () => string): QueuedEvent {
  if (!isRecord(raw))
    return { event_id: invalidId(), record: {}, received_at: now, invalid: 'event must be a JSON object' };
  const event: QueuedEvent = {
    event_id: isEventKey(raw.event_id) ? String(raw.event_id) : invalidId(),
    record: isRecord(raw.record) ? raw.record : {},
    ...(isEventKey(raw.key) ? { key: raw.key } : {}),
    received_at: isTime(raw.received_at) ? raw.received_at : now,
  };
  if (!isEventKey(raw.event_id)) event.invalid = `event_id: ${KEY_MESSAGE}`;
  else if (!isRecord(raw.record)) event.invalid = 'record: must be an object';
  return event;
}
