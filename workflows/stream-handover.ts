/**
 * The continue-as-new hand-over of a stream: announce it to producers, spill what the next run's input cannot
 * carry, wait for running handlers, continue as new with the carried state; and the next run's `open` notice.
 */
import { allHandlersFinished, condition, continueAsNew, log, patched } from '@temporalio/workflow';
import type { StreamRolloverNotice, StreamScoringInput } from '../contracts/stream.js';
import { control, rollover } from './stream-activities.js';
import type { StreamManager } from './stream-manager.js';
import { isActivityError } from './stream-slices.js';

// Continue-as-new carries at most `maxCarriedQueue` queued events in its input (default far below the 2 MB payload
// limit); the rest is spilled to Postgres (stream_queue) in chunks of this size and scored from there first.
const SPILL_CHUNK = 500;
// Marks the runs whose continue-as-new announces itself to producers (history written before it has no marker).
const ROLLOVER_PATCH = 'stream-rollover-announce';

/** Tells producers about a hand-over; false when the announcement could not be made (they then are not waiting). */
export async function announce(
  stream: StreamManager,
  phase: StreamRolloverNotice['phase'],
): Promise<boolean> {
  try {
    const notice = { streamId: stream.streamId, phase };
    await (phase === 'open'
      ? rollover.open(notice)
      : rollover.closing(notice, stream.options.rolloverGraceMs));
    return true;
  } catch (err) {
    if (!isActivityError(err)) throw err;
    log.warn('stream rollover announcement failed', { streamId: stream.streamId, phase, error: err.message });
    return false;
  }
}

/** Ends this run by continuing as new with the stream's state (never returns). */
export async function handOver(stream: StreamManager, input: StreamScoringInput): Promise<never> {
  // Producers that listen hold their next signals now; the grace lets the ones already sent land in this run,
  // so the continue-as-new task does not race a signal (see STREAM_ROLLOVER_CHANNEL for why that matters).
  let announced = false;
  if (stream.options.rolloverGraceMs > 0 && patched(ROLLOVER_PATCH))
    announced = await announce(stream, 'closing');
  // What the next run's input cannot carry waits in Postgres, behind anything spilled before (order holds).
  const { queue, options } = stream;
  while (queue.length > options.maxCarriedQueue) {
    const chunk = queue.splice(0, Math.min(SPILL_CHUNK, queue.length - options.maxCarriedQueue));
    stream.spilled += await control.spillStreamEvents({ streamId: stream.streamId, events: chunk });
  }
  await condition(allHandlersFinished);
  return continueAsNew<(input: StreamScoringInput) => Promise<unknown>>({
    streamId: input.streamId,
    ...(input.deployment !== undefined ? { deployment: input.deployment } : {}),
    ...(input.model !== undefined ? { model: input.model } : {}),
    options,
    carried: stream.carry(announced),
  });
}
