/**
 * Scoring a stream's next slice of events: spilled ones first (they are older than anything in memory), then the
 * in-memory queue; a slice whose retries run out is retried event by event and what still fails is dead-lettered,
 * so one poison event never stops the stream.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import type { QueuedEvent } from '../contracts/stream.js';
import { control, scoringActivities } from './stream-activities.js';
import type { SliceOutcome, StreamManager } from './stream-manager.js';

// Local-activity calls in one workflow task (no idle wait between them) before a regular activity closes the task.
const MAX_LOCAL_STREAK = 10;

// A regular activity fails with ActivityFailure; a local activity may surface its cause directly.
export const isActivityError = (err: unknown): err is ActivityFailure | ApplicationFailure | TimeoutFailure =>
  err instanceof ActivityFailure || err instanceof ApplicationFailure || err instanceof TimeoutFailure;

export function createSliceScorer(stream: StreamManager) {
  const { options, streamId } = stream;
  const proxies = scoringActivities(options);
  let localStreak = 0;
  // Local activities while the stream keeps up (latency); a regular one when it is backlogged or after a streak
  // of local ones, so one workflow task never accumulates an unbounded series of local-activity markers.
  const scorer = (backlogged: boolean) => {
    const local = options.localActivities && !backlogged && localStreak < MAX_LOCAL_STREAK;
    localStreak = local ? localStreak + 1 : 0;
    return local ? proxies.local : proxies.remote;
  };
  const pinned = () => {
    const { model, deployment, routed } = stream;
    if (!model || deployment === undefined) throw new Error('a stream scores only after it started');
    return routed ? { model, deployment, routed } : { model, deployment };
  };

  /** Scores a slice in one activity; when its retries run out, retries event by event and dead-letters the rest. */
  async function scoreWithFallback(slice: QueuedEvent[], target = pinned()): Promise<SliceOutcome> {
    try {
      const r = await scorer(stream.queue.length > 0).scoreStreamEvents({
        streamId,
        ...target,
        events: slice,
      });
      return { scored: r.scored, deadLettered: r.deadLettered.length, duplicates: r.duplicates.length };
    } catch (err) {
      if (!isActivityError(err)) throw err;
      if (slice.length > 1) {
        const merged: SliceOutcome = { scored: [], deadLettered: 0, duplicates: 0 };
        for (const event of slice) {
          const one = await scoreWithFallback([event], target);
          merged.scored.push(...one.scored);
          merged.deadLettered += one.deadLettered;
          merged.duplicates += one.duplicates;
        }
        return merged;
      }
      const error = err.cause?.message ?? err.message;
      await control.deadLetterStreamEvents({
        streamId,
        events: slice,
        error: `retries exhausted after ${options.maxAttempts} attempts: ${error}`,
        attempts: options.maxAttempts,
      });
      return { scored: [], deadLettered: slice.length, duplicates: 0 };
    }
  }

  async function scoreSpilled(): Promise<void> {
    const target = pinned();
    stream.inFlight = Math.min(stream.spilled, options.maxRun);
    try {
      const r = await scorer(true).scoreSpilledEvents({ streamId, ...target, limit: options.maxRun });
      stream.spilled = r.remaining;
      stream.apply({
        scored: r.scored,
        deadLettered: r.deadLettered.length,
        duplicates: r.duplicates.length,
        lastEventId: r.lastEventId,
      });
    } catch (err) {
      if (!isActivityError(err)) throw err;
      // Scoring them in place keeps failing: take them back and go event by event.
      const back = await control.unspillStreamEvents({ streamId, limit: options.maxRun });
      stream.spilled = back.remaining;
      const outcome = await scoreWithFallback(back.events, target);
      stream.apply({ ...outcome, lastEventId: back.events.at(-1)?.event_id });
    } finally {
      stream.inFlight = 0;
    }
  }

  return {
    /** The workflow went idle: its task completed, so the local-activity markers so far are in history. */
    idle: () => void (localStreak = 0),
    /** Scores the next slice and counts its outcome on the stream. */
    async scoreNext(): Promise<void> {
      if (stream.spilled > 0) return scoreSpilled();
      const slice = stream.nextSlice();
      stream.inFlight = slice.length;
      try {
        const outcome = await scoreWithFallback(slice);
        stream.apply({ ...outcome, lastEventId: slice.at(-1)?.event_id });
      } finally {
        stream.inFlight = 0;
      }
    },
  };
}
