/** Activities of the streaming workflow: score + persist + notify a run of events in one call, dead letters. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ResolvedModel, RideInput, Scorer } from '../contracts/scoring.js';
import type { QueuedEvent, StreamRolloverNotice } from '../contracts/stream.js';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import {
  findPersisted,
  insertDeadLetters,
  insertPredictions,
  notifyPredictions,
  notifyRollover,
  readSpilled,
  deleteSpilled,
  spillEvents,
  takeDeadLetter,
  type PredictionRow,
} from '../db/queries/stream.js';
import { ModelNotFoundError } from '../scoring/errors.js';

export interface ScoreStreamEventsInput {
  streamId: string;
  model: ResolvedModel;
  events: QueuedEvent[];
}

export interface ScoreStreamEventsResult {
  /** Persisted (by this attempt or an earlier attempt of the same call), in queue order. */
  scored: { eventId: string; rideId: string | number; rideDuration: number }[];
  /** Already in the table from another delivery of the same id (outside the dedup window). */
  duplicates: string[];
  deadLettered: { eventId: string; error: string }[];
  attempt: number;
}

/** The model reads the pickup time; an event without one is scored at the time it was accepted. */
function toRide(event: QueuedEvent): RideInput {
  const ride = event.ride as RideInput;
  return ride.pickup_datetime === undefined ? { ...ride, pickup_datetime: event.received_at } : ride;
}

function attemptNumber(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (unit use)
  }
}

/**
 * Scores queued events in order and persists predictions (ON CONFLICT DO NOTHING), dead-letters rejected events
 * and NOTIFYs consumers, all on `db` (the caller's transaction). Rows an earlier attempt wrote are recognised by
 * their `received_at` and reported as scored, not scored again.
 */
async function scoreInto(
  db: PoolClient,
  scorer: Scorer,
  input: ScoreStreamEventsInput,
  attempt: number,
): Promise<ScoreStreamEventsResult> {
  const { streamId, model, events } = input;
  const persisted = await findPersisted(
    db,
    streamId,
    events.map((e) => e.event_id),
  );
  const result: ScoreStreamEventsResult = { scored: [], duplicates: [], deadLettered: [], attempt };
  const toScore: QueuedEvent[] = [];
  const letters: { event: QueuedEvent; error: string; attempts: number }[] = [];
  const outcome = new Map<string, 'scored' | 'duplicate' | 'dead'>();
  for (const event of events) {
    const existing = persisted.get(event.event_id);
    if (existing) {
      const ours = existing.receivedAt === Date.parse(event.received_at);
      outcome.set(event.event_id, ours ? 'scored' : 'duplicate');
    } else if (event.invalid) {
      letters.push({ event, error: event.invalid, attempts: attempt });
    } else {
      toScore.push(event);
    }
  }

  const rows: PredictionRow[] = [];
  if (toScore.length > 0) {
    const out = await scorer.score(model, toScore.map(toRide));
    for (const rejection of out.rejections) {
      const event = toScore[rejection.index];
      if (event) letters.push({ event, error: `${rejection.field}: ${rejection.reason}`, attempts: attempt });
    }
    toScore.forEach((event, i) => {
      const duration = out.predictions[i];
      if (duration === null || duration === undefined) return;
      rows.push({
        eventId: event.event_id,
        rideId: event.ride_id,
        model: out.model.name,
        version: out.model.version,
        rideDuration: duration,
        attempts: attempt,
        receivedAt: event.received_at,
      });
    });
  }

  const inserted = new Set(await insertPredictions(db, streamId, rows));
  await insertDeadLetters(db, streamId, letters);
  if (inserted.size > 0) await notifyPredictions(db, streamId);
  // Another delivery of the same id may have won the insert between our read and write.
  for (const row of rows) outcome.set(row.eventId, inserted.has(row.eventId) ? 'scored' : 'duplicate');
  for (const l of letters) outcome.set(l.event.event_id, 'dead');

  const byId = new Map(rows.map((r) => [r.eventId, r.rideDuration]));
  const errors = new Map(letters.map((l) => [l.event.event_id, l.error]));
  for (const event of events) {
    const kind = outcome.get(event.event_id);
    if (kind === 'duplicate') result.duplicates.push(event.event_id);
    else if (kind === 'dead') {
      result.deadLettered.push({ eventId: event.event_id, error: errors.get(event.event_id) ?? 'rejected' });
    } else if (kind === 'scored') {
      const rideDuration = byId.get(event.event_id) ?? persisted.get(event.event_id)?.rideDuration ?? 0;
      result.scored.push({ eventId: event.event_id, rideId: event.ride_id, rideDuration });
    }
  }
  return result;
}

export function createStreamActivities(deps: { pool: Pool; scorer: Scorer }) {
  return {
    /** Resolves a model ref to the exact version a stream pins; an unknown ref fails without retries. */
    async resolveStreamModel(ref: string): Promise<ResolvedModel> {
      try {
        return await deps.scorer.resolve(ref);
      } catch (err) {
        if (err instanceof ModelNotFoundError)
          throw ApplicationFailure.create({
            type: 'ModelNotFoundError',
            message: err.message,
            nonRetryable: true,
          });
        throw err;
      }
    },

    /**
     * Scores queued events in order and, in one transaction, persists predictions (ON CONFLICT DO NOTHING),
     * dead-letters rejected events, and NOTIFYs consumers. Safe to retry: rows an earlier attempt wrote are
     * recognised by their `received_at` and reported as scored, not scored again.
     */
    /** Scores a run of queued events and, in one transaction, persists, dead-letters and notifies. */
    async scoreStreamEvents(input: ScoreStreamEventsInput): Promise<ScoreStreamEventsResult> {
      const attempt = attemptNumber();
      return withTransaction(deps.pool, (client) => scoreInto(client, deps.scorer, input, attempt));
    },

    /** Scores the oldest spilled events of a stream (the overflow queue) and deletes them in the same transaction. */
    async scoreSpilledEvents(input: {
      streamId: string;
      model: ResolvedModel;
      limit: number;
    }): Promise<
      ScoreStreamEventsResult & { consumed: number; remaining: number; lastEventId: string | null }
    > {
      const attempt = attemptNumber();
      return withTransaction(deps.pool, async (client) => {
        const spilled = await readSpilled(client, input.streamId, input.limit);
        const events = spilled.map((s) => s.event);
        const result = await scoreInto(client, deps.scorer, { ...input, events }, attempt);
        const remaining = await deleteSpilled(
          client,
          input.streamId,
          spilled.map((s) => s.seq),
        );
        return {
          ...result,
          consumed: events.length,
          remaining,
          lastEventId: events.at(-1)?.event_id ?? null,
        };
      });
    },

    /**
     * Announces a continue-as-new to the stream's producers (see STREAM_ROLLOVER_CHANNEL), then waits `graceMs`
     * so that signals sent before they paused reach the workflow before this activity's result does.
     */
    async announceStreamRollover(notice: StreamRolloverNotice, graceMs = 0): Promise<void> {
      await notifyRollover(deps.pool, notice);
      if (graceMs > 0) await new Promise((resolve) => setTimeout(resolve, graceMs));
    },

    /** Moves events out of the workflow into the stream's overflow queue (before continue-as-new). */
    async spillStreamEvents(input: { streamId: string; events: QueuedEvent[] }): Promise<number> {
      await spillEvents(deps.pool, input.streamId, input.events);
      return input.events.length;
    },

    /** Takes the oldest spilled events back into the workflow (when scoring them in place keeps failing). */
    async unspillStreamEvents(input: {
      streamId: string;
      limit: number;
    }): Promise<{ events: QueuedEvent[]; remaining: number }> {
      return withTransaction(deps.pool, async (client) => {
        const spilled = await readSpilled(client, input.streamId, input.limit);
        const remaining = await deleteSpilled(
          client,
          input.streamId,
          spilled.map((s) => s.seq),
        );
        return { events: spilled.map((s) => s.event), remaining };
      });
    },

    /** Records events whose scoring failed every attempt; the stream then moves on. */
    async deadLetterStreamEvents(input: {
      streamId: string;
      events: QueuedEvent[];
      error: string;
      attempts: number;
    }): Promise<void> {
      await insertDeadLetters(
        deps.pool,
        input.streamId,
        input.events.map((event) => ({ event, error: input.error, attempts: input.attempts })),
      );
    },

    /** Marks a dead letter replayed and returns its event (with a corrected ride if given) for re-queueing. */
    async takeDeadLetter(input: {
      streamId: string;
      eventId: string;
      ride?: QueuedEvent['ride'];
    }): Promise<QueuedEvent> {
      const event = await takeDeadLetter(deps.pool, input.streamId, input.eventId);
      if (!event)
        throw ApplicationFailure.create({
          type: 'DeadLetterNotFound',
          message: `stream ${input.streamId} has no pending dead letter for event ${input.eventId}`,
          nonRetryable: true,
        });
      const { invalid: _invalid, ...rest } = event;
      return input.ride ? { ...rest, ride: input.ride } : rest;
    },
  };
}
