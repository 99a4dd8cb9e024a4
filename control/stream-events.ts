/**
 * Shape checks of one incoming event at the edge, and its mapping to the generic format; feature values are the
 * scorer's job (dead letters). An event with a `record` is generic; any other is read by a course adapter: the
 * named deployment's, or (no deployment named, the plain stream API) the first adapter's.
 */
import { streamAdapterFor, streamAdapters } from '../adapters/streams.js';
import type { EventProblem, StreamEvent } from '../contracts/stream.js';
import { findEventProblems } from '../workflows/stream-event.js';

export type { EventProblem };

const isGeneric = (raw: unknown) => typeof raw === 'object' && raw !== null && 'record' in raw;

/** The event in the generic format, or every problem of it (naming the field). */
export function toStreamEvent(
  raw: unknown,
  deployment?: string,
): { event: StreamEvent } | { problems: EventProblem[] } {
  const adapter = deployment === undefined ? streamAdapters()[0] : streamAdapterFor(deployment);
  if (!adapter || isGeneric(raw)) {
    const problems = findEventProblems(raw);
    return problems.length > 0 ? { problems } : { event: raw as StreamEvent };
  }
  const problems = adapter.problems(raw);
  return problems.length > 0 || typeof raw !== 'object' || raw === null
    ? { problems }
    : { event: adapter.toEvent(raw) };
}
