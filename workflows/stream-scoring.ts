import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { DEFAULT_MODEL_REF } from '../contracts/scoring.js';
import {
  drainSignal,
  pauseSignal,
  replayDeadLetterUpdate,
  resumeSignal,
  rideEventSignal,
  rideEventsSignal,
  setModelUpdate,
  stateQuery,
  type QueuedEvent,
  type StreamCarry,
  type StreamOptions,
  type StreamPrediction,
  type StreamScoringInput,
  type StreamState,
} from '../contracts/stream.js';
import { DedupWindow } from './stream-dedup.js';
import { toQueuedEvent } from './stream-event.js';
import { PredictionStats } from './stream-stats.js';

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  canAfterEvents: 5_000,
  dedupWindow: 10_000,
  maxRun: 200,
  localActivities: false,
  maxAttempts: 5,
  retryInitialMs: 200,
};

// The server refuses signals past 10,000 per execution: continue-as-new well before, whatever the queue holds.
const HARD_SIGNAL_LIMIT = 8_000;
// A larger queue waits (keeps scoring) before continue-as-new, so the carried input stays far below 2 MB.
const MAX_CARRIED_QUEUE = 2_000;

function scoringActivities(options: StreamOptions) {
  const retry = {
    initialInterval: options.retryInitialMs,
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: options.maxAttempts,
    nonRetryableErrorTypes: ['ModelNotFoundError'],
  };
  return options.localActivities
    ? proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds', retry })
    : proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', retry });
}

const control = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** One stream's scorer: consumes signalled ride events one by one in arrival order, forever or until drained. */
export async function streamScoring(input: StreamScoringInput): Promise<StreamState> {
  const options: StreamOptions = { ...DEFAULT_STREAM_OPTIONS, ...input.options };
  const carried = input.carried;
  const scoring = scoringActivities(options);
  const queue: QueuedEvent[] = carried?.queue ?? [];
  const recent = new DedupWindow(options.dedupWindow, carried?.recentIds ?? []);
  const stats = new PredictionStats(
    carried ? { histogram: carried.histogram, sum: carried.sum, count: 0 } : undefined,
  );
  const counters = carried?.counters ?? { received: 0, processed: 0, failed: 0, duplicates: 0, replayed: 0 };
  const runStartedAt = new Date().toISOString();
  const startedAt = carried?.startedAt ?? runStartedAt;
  let model = carried?.model;
  let paused = carried?.paused ?? false;
  let draining = carried?.draining ?? false;
  let lastEventId = carried?.lastEventId ?? null;
  let lastPrediction: StreamPrediction | null = carried?.lastPrediction ?? null;
  let inFlight = 0;
  let signalsThisRun = 0;
  let eventsThisRun = 0;
  let invalidSeq = 0;

  // Signal handlers never throw (that would stall the workflow): a malformed event is queued as invalid instead.
  const accept = (raw: unknown) => {
    counters.received += 1;
    eventsThisRun += 1;
    const event = toQueuedEvent(
      raw,
      new Date().toISOString(),
      () => `invalid-${workflowInfo().runId}-${invalidSeq++}`,
    );
    if (!recent.add(event.event_id)) {
      counters.duplicates += 1;
      return;
    }
    queue.push(event);
  };
  setHandler(rideEventSignal, (event) => {
    signalsThisRun += 1;
    accept(event);
  });
  setHandler(rideEventsSignal, (events) => {
    signalsThisRun += 1;
    if (Array.isArray(events)) for (const e of events) accept(e);
    else accept(events);
  });
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  setHandler(drainSignal, () => void (draining = true));

  const modelRef = () => (model ? `${model.name}@${model.version}` : null);
  const state = (): StreamState => ({
    streamId: input.streamId,
    ...counters,
    queueLength: queue.length,
    inFlight,
    lastEventId,
    lastPrediction,
    predictions: {
      count: stats.count,
      mean: stats.mean(),
      p50: stats.quantile(0.5),
      p90: stats.quantile(0.9),
    },
    model: modelRef(),
    paused,
    draining,
    startedAt,
    runStartedAt,
    runs: carried?.runs ?? 0,
    options,
  });
  setHandler(stateQuery, state);

  setHandler(
    setModelUpdate,
    async (ref) => {
      model = await control.resolveStreamModel(ref);
      log.info('stream model changed', { streamId: input.streamId, model: modelRef() });
      return modelRef() ?? ref;
    },
    {
      validator: (ref) => {
        if (typeof ref !== 'string' || !/^[a-z0-9][a-z0-9._-]*(@[A-Za-z0-9._-]+)?$/.test(ref))
          throw new Error(
            `model ref must look like name, name@version or name@alias (got ${JSON.stringify(ref)})`,
          );
      },
    },
  );
  setHandler(replayDeadLetterUpdate, async (request) => {
    const event = await control.takeDeadLetter({
      streamId: input.streamId,
      eventId: request.eventId,
      ride: request.ride,
    });
    recent.add(event.event_id);
    queue.push({ ...event, replay: true });
    counters.replayed += 1;
    return { eventId: event.event_id, queueLength: queue.length };
  });

  model ??= await control.resolveStreamModel(input.model ?? DEFAULT_MODEL_REF);

  const suggested = () =>
    eventsThisRun >= options.canAfterEvents ||
    signalsThisRun >= HARD_SIGNAL_LIMIT ||
    workflowInfo().continueAsNewSuggested;
  const canCarry = () => queue.length <= MAX_CARRIED_QUEUE || paused || signalsThisRun >= HARD_SIGNAL_LIMIT;
  const canScore = () => queue.length > 0 && (!paused || draining);

  for (;;) {
    await condition(() => canScore() || (draining && queue.length === 0) || (suggested() && canCarry()));
    if (draining && queue.length === 0) {
      await condition(allHandlersFinished);
      if (queue.length === 0) return state();
      continue;
    }
    if (suggested() && canCarry()) {
      await condition(allHandlersFinished);
      const carry: StreamCarry = {
        queue,
        recentIds: recent.toArray(),
        counters,
        ...stats.snapshot(),
        lastEventId,
        lastPrediction,
        model,
        paused,
        draining,
        startedAt,
        runs: (carried?.runs ?? 0) + 1,
      };
      return continueAsNew<typeof streamScoring>({
        streamId: input.streamId,
        model: input.model,
        options,
        carried: carry,
      });
    }
    if (!canScore()) continue;

    const run = queue.splice(0, options.maxRun);
    inFlight = run.length;
    const pinned = model;
    try {
      const outcome = await scoreWithFallback(run, pinned);
      for (const s of outcome.scored) {
        stats.add(s.rideDuration);
        lastPrediction = {
          model: pinned.name,
          version: pinned.version,
          prediction: { ride_duration: s.rideDuration, ride_id: s.rideId },
        };
      }
      counters.processed += outcome.scored.length;
      counters.failed += outcome.deadLettered;
      counters.duplicates += outcome.duplicates;
      lastEventId = run[run.length - 1]?.event_id ?? lastEventId;
    } finally {
      inFlight = 0;
    }
  }

  /** Scores a run in one activity; when its retries run out, retries event by event and dead-letters the rest. */
  async function scoreWithFallback(run: QueuedEvent[], pinned: { name: string; version: string }) {
    try {
      const r = await scoring.scoreStreamEvents({ streamId: input.streamId, model: pinned, events: run });
      return { scored: r.scored, deadLettered: r.deadLettered.length, duplicates: r.duplicates.length };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      if (run.length > 1) {
        const merged = {
          scored: [] as { rideId: string | number; rideDuration: number }[],
          deadLettered: 0,
          duplicates: 0,
        };
        for (const event of run) {
          const one = await scoreWithFallback([event], pinned);
          merged.scored.push(...one.scored);
          merged.deadLettered += one.deadLettered;
          merged.duplicates += one.duplicates;
        }
        return merged;
      }
      const error = err.cause?.message ?? err.message;
      await control.deadLetterStreamEvents({
        streamId: input.streamId,
        events: run,
        error: `retries exhausted after ${options.maxAttempts} attempts: ${error}`,
        attempts: options.maxAttempts,
      });
      return { scored: [], deadLettered: run.length, duplicates: 0 };
    }
  }
}
