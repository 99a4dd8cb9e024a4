/** Shape checks of one incoming ride event at the edge; feature values are the scorer's job (dead letters). */

export interface EventProblem {
  field: string;
  message: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown) =>
  (typeof v === 'string' && v.length > 0 && v.length <= 200) || (typeof v === 'number' && Number.isFinite(v));

/** Every problem of `raw` (empty when it can be signalled): `{"ride": {...}, "ride_id": 256}` plus optional fields. */
export function findEventProblems(raw: unknown): EventProblem[] {
  if (!isRecord(raw)) return [{ field: '(event)', message: 'must be a JSON object' }];
  const problems: EventProblem[] = [];
  if (!isRecord(raw.ride)) problems.push({ field: 'ride', message: 'must be an object' });
  if (!isId(raw.ride_id))
    problems.push({ field: 'ride_id', message: 'must be a non-empty string (≤ 200 chars) or a number' });
  if (raw.event_id !== undefined && !(typeof raw.event_id === 'string' && isId(raw.event_id)))
    problems.push({ field: 'event_id', message: 'must be a non-empty string (≤ 200 chars)' });
  if (
    raw.received_at !== undefined &&
    (typeof raw.received_at !== 'string' || Number.isNaN(Date.parse(raw.received_at)))
  )
    problems.push({ field: 'received_at', message: 'must be an ISO 8601 timestamp' });
  return problems;
}
