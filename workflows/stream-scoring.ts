import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  TimeoutFailure,
  continueAsNew,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
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
import { control, DEFAULT_STREAM_OPTIONS, rollover, scoringActivities } from './stream-activities.js';
import { DedupWindow } from './stream-dedup.js';
import { toQueuedEvent } from './stream-event.js';
import { PredictionStats } from './stream-stats.js';
import { assertStreamInput } from './stream-input.js';

// The server refuses signals past 10,000 per execution: continue-as-new well before, whatever the queue holds.
const HARD_SIGNAL_LIMIT = 8_000;
// Continue-as-new carries at most `maxCarriedQueue` queued events in its input (default far below the 2 MB payload
// limit); the rest is spilled to Postgres (stream_queue) in chunks of this size and scored from there first.
const SPILL_CHUNK = 500;
// Marks the runs whose continue-as-new announces itself to producers (history written before it has no marker).
const ROLLOVER_PATCH = 'stream-rollover-announce';
// Local-activity runs in one workflow task (no idle wait between them) before a regular activity closes the task.
const MAX_LOCAL_STREAK = 10;

// A regular activity fails with ActivityFailure; a local activity may surface its cause directly.
const isActivityError = (err: unknown): err is ActivityFailure | ApplicationFailure | TimeoutFailure =>
  err instanceof ActivityFailure || err instanceof ApplicationFailure || err instanceof TimeoutFailure;

/** One stream's scorer: consumes signalled ride events one by one in arrival order, forever or until drained. */
export async function streamScoring(input: StreamScoringInput): Promise<StreamState> {
  assertStreamInput(input);
  const options: StreamOptions = { ...DEFAULT_STREAM_OPTIONS, ...input.options };
  const carried = input.carried;
  const proxies = scoringActivities(options);
  let localStreak = 0;
  // Local activities while the stream keeps up (latency); a regular one when it is backlogged or after a streak
  // of local ones, so one workflow task never accumulates an unbounded run of local-activity markers.
  const scorer = (backlogged: boolean) => {
    const local = options.localActivities && !backlogged && localStreak < MAX_LOCAL_STREAK;
    localStreak = local ? localStreak + 1 : 0;
    return local ? proxies.local : proxies.remote;
  };
  const queue: QueuedEvent[] = carried?.queue ?? [];
  const recent = new DedupWindow(options.dedupWindow, carried?.recentIds ?? []);
  const stats = new PredictionStats(
    carried ? { histogram: carried.histogram, sum: carried.sum, count: 0 } : undefined,
  );
  const counters = carried?.counters ?? { received: 0, processed: 0, failed: 0, duplicates: 0, replayed: 0 };
  const runStartedAt = new Date().toISOString();
  const startedAt = carried?.startedAt ?? runStartedAt;
  let model = carried?.model;
  let spilled = carried?.spilled ?? 0;
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
    queueLength: queue.length + spilled,
    spilled,
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

  /** Tells producers about a hand-over; false when the announcement could not be made (they then are not waiting). */
  const announce = async (phase: 'closing' | 'open'): Promise<boolean> => {
    try {
      const notice = { streamId: input.streamId, phase };
      await (phase === 'open' ? rollover.open(notice) : rollover.closing(notice, options.rolloverGraceMs));
      return true;
    } catch (err) {
      if (!isActivityError(err)) throw err;
      log.warn('stream rollover announcement failed', {
        streamId: input.streamId,
        phase,
        error: err.message,
      });
      return false;
    }
  };
  // The previous run told producers to hold their signals: the first thing this run does is release them.
  if (carried?.announced) await announce('open');

  model ??= await control.resolveStreamModel(input.model ?? DEFAULT_MODEL_REF);

  const waiting = () => queue.length + spilled;
  const suggested = () =>
    eventsThisRun >= options.canAfterEvents ||
    signalsThisRun >= HARD_SIGNAL_LIMIT ||
    workflowInfo().historyLength >= options.canAfterHistory ||
    workflowInfo().continueAsNewSuggested;
  const canScore = () => waiting() > 0 && (!paused || draining);

  for (;;) {
    const ready = () => canScore() || (draining && waiting() === 0) || suggested();
    if (!ready()) {
      await condition(ready);
      localStreak = 0; // the workflow went idle: its task completed, local markers so far are in history
    }
    if (draining && waiting() === 0) {
      await condition(allHandlersFinished);
      if (waiting() === 0) return state();
      continue;
    }
    if (suggested()) {
      // Producers that listen hold their next signals now; the grace lets the ones already sent land in this run,
      // so the continue-as-new task does not race a signal (see STREAM_ROLLOVER_CHANNEL for why that matters).
      let announced = false;
      if (options.rolloverGraceMs > 0 && patched(ROLLOVER_PATCH)) announced = await announce('closing');
      // What the next run's input cannot carry waits in Postgres, behind anything spilled before (order holds).
      while (queue.length > options.maxCarriedQueue) {
        const chunk = queue.splice(0, Math.min(SPILL_CHUNK, queue.length - options.maxCarriedQueue));
        spilled += await control.spillStreamEvents({ streamId: input.streamId, events: chunk });
      }
      await condition(allHandlersFinished);
      const carry: StreamCarry = {
        queue,
        spilled,
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
        announced,
      };
      return continueAsNew<typeof streamScoring>({
        streamId: input.streamId,
        model: input.model,
        options,
        carried: carry,
      });
    }
    if (!canScore()) continue;

    const pinned = model;
    if (spilled > 0) {
      // Spilled events are older than everything in memory: they go first.
      inFlight = Math.min(spilled, options.maxRun);
      try {
        const r = await scorer(true).scoreSpilledEvents({
          streamId: input.streamId,
          model: pinned,
          limit: options.maxRun,
        });
        spilled = r.remaining;
        apply(pinned, r.scored, r.deadLettered.length, r.duplicates.length, r.lastEventId);
      } catch (err) {
        if (!isActivityError(err)) throw err;
        // Scoring them in place keeps failing: take them back and go event by event.
        const back = await control.unspillStreamEvents({ streamId: input.streamId, limit: options.maxRun });
        spilled = back.remaining;
        const outcome = await scoreWithFallback(back.events, pinned);
        apply(pinned, outcome.scored, outcome.deadLettered, outcome.duplicates, back.events.at(-1)?.event_id);
      } finally {
        inFlight = 0;
      }
      continue;
    }

    const run = queue.splice(0, options.maxRun);
    inFlight = run.length;
    try {
      const outcome = await scoreWithFallback(run, pinned);
      apply(pinned, outcome.scored, outcome.deadLettered, outcome.duplicates, run.at(-1)?.event_id);
    } finally {
      inFlight = 0;
    }
  }

  function apply(
    pinned: { name: string; version: string },
    scored: { rideId: string | number; rideDuration: number }[],
    deadLettered: number,
    duplicates: number,
    last: string | null | undefined,
  ) {
    for (const s of scored) {
      stats.add(s.rideDuration);
      lastPrediction = {
        model: pinned.name,
        version: pinned.version,
        prediction: { ride_duration: s.rideDuration, ride_id: s.rideId },
      };
    }
    counters.processed += scored.length;
    counters.failed += deadLettered;
    counters.duplicates += duplicates;
    lastEventId = last ?? lastEventId;
  }

  /** Scores a run in one activity; when its retries run out, retries event by event and dead-letters the rest. */
  async function scoreWithFallback(run: QueuedEvent[], pinned: { name: string; version: string }) {
    try {
      const r = await scorer(queue.length > 0).scoreStreamEvents({
        streamId: input.streamId,
        model: pinned,
        events: run,
      });
      return { scored: r.scored, deadLettered: r.deadLettered.length, duplicates: r.duplicates.length };
    } catch (err) {
      if (!isActivityError(err)) throw err;
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
