/** Activities of the streaming workflow: score + persist + notify a run of events in one call, dead letters. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ResolvedModel, RideInput, Scorer } from '../contracts/scoring.js';
import type { QueuedEvent } from '../contracts/stream.js';
import { withTransaction, type Pool } from '../db/pool.js';
import {
  findPersisted,
  insertDeadLetters,
  insertPredictions,
  notifyPredictions,
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
    async scoreStreamEvents(input: ScoreStreamEventsInput): Promise<ScoreStreamEventsResult> {
      const { streamId, model, events } = input;
      const attempt = attemptNumber();
      const persisted = await findPersisted(
        deps.pool,
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
        const out = await deps.scorer.score(model, toScore.map(toRide));
        for (const rejection of out.rejections) {
          const event = toScore[rejection.index];
          if (event)
            letters.push({ event, error: `${rejection.field}: ${rejection.reason}`, attempts: attempt });
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

      const inserted = await withTransaction(deps.pool, async (client) => {
        const ids = new Set(await insertPredictions(client, streamId, rows));
        await insertDeadLetters(client, streamId, letters);
        if (ids.size > 0) await notifyPredictions(client, streamId);
        return ids;
      });
      // Another delivery of the same id may have won the insert between our read and write.
      for (const row of rows) outcome.set(row.eventId, inserted.has(row.eventId) ? 'scored' : 'duplicate');
      for (const l of letters) outcome.set(l.event.event_id, 'dead');

      const byId = new Map(rows.map((r) => [r.eventId, r.rideDuration]));
      for (const event of events) {
        const kind = outcome.get(event.event_id);
        if (kind === 'duplicate') result.duplicates.push(event.event_id);
        else if (kind === 'dead') {
          const letter = letters.find((l) => l.event.event_id === event.event_id);
          result.deadLettered.push({ eventId: event.event_id, error: letter?.error ?? 'rejected' });
        } else if (kind === 'scored') {
          const rideDuration = byId.get(event.event_id) ?? persisted.get(event.event_id)?.rideDuration ?? 0;
          result.scored.push({ eventId: event.event_id, rideId: event.ride_id, rideDuration });
        }
      }
      return result;
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
