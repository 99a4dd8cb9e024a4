/**
 * Streaming scoring contract: one `streamScoring` workflow per stream (`stream-<streamId>`), fed by signals.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RideInput } from './scoring.js';

export const STREAM_WORKFLOW = 'streamScoring';
export const streamWorkflowId = (streamId: string) => `stream-${streamId}`;
/** Stream ids become workflow ids and SQL values: a conservative alphabet keeps both readable. */
export const STREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const RIDE_EVENT_SIGNAL = 'rideEvent';
export const RIDE_EVENTS_SIGNAL = 'rideEvents';
export const STREAM_STATE_QUERY = 'state';

/** One event in the course's format: `{"ride": {...}, "ride_id": 256}`. */
export interface RideEvent {
  ride: Partial<RideInput> & Record<string, unknown>;
  ride_id: string | number;
  /** Dedup key; defaults to `ride_id`. */
  event_id?: string;
  /** Stamped when the event is accepted (before it enters the workflow) if the producer sent none. */
  received_at?: string;
}

/** The course's output shape, as persisted in `stream_predictions` and published to consumers. */
export interface StreamPrediction {
  model: string;
  version: string;
  prediction: { ride_duration: number; ride_id: string | number };
}

/** Tunables a stream run starts with (defaults from config: STREAM_*); carried across continue-as-new. */
export interface StreamOptions {
  /** Continue-as-new after this many events were received by one run (also on `continueAsNewSuggested`). */
  canAfterEvents: number;
  /** Recent event ids remembered for dedup; the table's unique key guards beyond it. */
  dedupWindow: number;
  /** Most queued events scored by one activity call (per-event order, dedup and dead letters are kept). */
  maxRun: number;
  /** Score with a local activity (fewer history events, lower latency). */
  localActivities: boolean;
  /** Attempts per scoring activity (exponential backoff) before its events go to `dead_letters`. */
  maxAttempts: number;
  /** First retry delay in ms (doubles per attempt). */
  retryInitialMs: number;
  /**
   * Continue-as-new once the run's history has this many events: a short history replays fast, which keeps the
   * window in which a signal racing the continue-as-new task forces a retry (and delays that signal) short.
   */
  canAfterHistory: number;
  /** Most queued events continue-as-new carries in its input; older ones wait in `stream_queue`. */
  maxCarriedQueue: number;
  /**
   * Before continuing as new, the run announces it on `stream_rollover` and waits this long (ms) for signals
   * already on their way; producers that listen (the API's StreamSender) hold their next signals until the new
   * run announces itself. 0 turns the announcement off. See `STREAM_ROLLOVER_CHANNEL`.
   */
  rolloverGraceMs: number;
}

/**
 * Postgres NOTIFY channel on which a stream announces a continue-as-new: `closing` when its run is about to hand
 * over, `open` when the next run has started. Why: a signal that reaches the server while the closing task is in
 * flight makes the server reject that task; the worker then replays the whole run from its history (seconds for a
 * long run) and the server refuses every signal to the stream meanwhile ("workflow is closing"). Producers that
 * pause between the two notices avoid that race.
 */
export const STREAM_ROLLOVER_CHANNEL = 'stream_rollover';

export interface StreamRolloverNotice {
  streamId: string;
  phase: 'closing' | 'open';
}

/** An event as it waits in the workflow's queue: dedup key and accepted time always set. */
export interface QueuedEvent {
  event_id: string;
  ride_id: string | number;
  ride: RideEvent['ride'];
  received_at: string;
  /** Set when the event itself is malformed (e.g. no `ride` object): it goes straight to dead letters. */
  invalid?: string;
  /** A replayed dead letter bypasses the dedup window. */
  replay?: boolean;
}

export interface StreamCounters {
  /** Events that reached the workflow (duplicates included). */
  received: number;
  /** Predictions persisted. */
  processed: number;
  /** Events sent to `dead_letters`. */
  failed: number;
  /** Events skipped because their id was already seen (window or table). */
  duplicates: number;
  replayed: number;
}

/** What the `state` query returns. */
export interface StreamState extends StreamCounters {
  streamId: string;
  /** Events waiting (in the workflow and spilled). */
  queueLength: number;
  /** Of those, events waiting in Postgres (`stream_queue`) after a continue-as-new with a long queue. */
  spilled: number;
  /** Events inside the scoring activity right now. */
  inFlight: number;
  lastEventId: string | null;
  lastPrediction: StreamPrediction | null;
  /** Over every prediction of the stream (all runs): mean exact, p50/p90 from a 0.25-minute histogram. */
  predictions: { count: number; mean: number | null; p50: number | null; p90: number | null };
  /** The pinned model, e.g. `ride-duration@2`; null until the first run resolved it. */
  model: string | null;
  paused: boolean;
  draining: boolean;
  /** When the stream's first run started (kept across continue-as-new). */
  startedAt: string;
  runStartedAt: string;
  /** Continue-as-new count so far. */
  runs: number;
  options: StreamOptions;
}

/** The carried state a run hands to the next one on continue-as-new. */
export interface StreamCarry {
  queue: QueuedEvent[];
  /** Older events waiting in `stream_queue` (scored before `queue`). */
  spilled?: number;
  recentIds: string[];
  counters: StreamCounters;
  histogram: Record<string, number>;
  sum: number;
  lastEventId: string | null;
  lastPrediction: StreamPrediction | null;
  model: { name: string; version: string };
  paused: boolean;
  draining: boolean;
  startedAt: string;
  runs: number;
  /** The closing run announced the hand-over: the next run announces `open` as it starts. */
  announced?: boolean;
}

export interface StreamScoringInput {
  streamId: string;
  /** Model reference resolved once and pinned (default `ride-duration@production`). */
  model?: string;
  options?: Partial<StreamOptions>;
  /** Set only by continue-as-new. */
  carried?: StreamCarry;
}

export interface ReplayRequest {
  eventId: string;
  /** A corrected ride replaces the stored one (e.g. after fixing a bad field). */
  ride?: RideEvent['ride'];
}

export interface ReplayResult {
  eventId: string;
  queueLength: number;
}

export const PAUSE_SIGNAL = 'pause';
export const RESUME_SIGNAL = 'resume';
export const DRAIN_SIGNAL = 'drain';
export const SET_MODEL_UPDATE = 'setModel';
export const REPLAY_DEAD_LETTER_UPDATE = 'replayDeadLetter';
/** The Postgres NOTIFY channel; payload `{"stream_id": "..."}` (consumers re-read the table after their last id). */
export const STREAM_PREDICTIONS_CHANNEL = 'stream_predictions';

export const rideEventSignal = defineSignal<[RideEvent]>(RIDE_EVENT_SIGNAL);
export const rideEventsSignal = defineSignal<[RideEvent[]]>(RIDE_EVENTS_SIGNAL);
export const stateQuery = defineQuery<StreamState>(STREAM_STATE_QUERY);
export const pauseSignal = defineSignal(PAUSE_SIGNAL);
export const resumeSignal = defineSignal(RESUME_SIGNAL);
/** Finish the queue, then complete (returns the final state). */
export const drainSignal = defineSignal(DRAIN_SIGNAL);
/** Pins another model ref for the next events; validated by resolving it. Returns `name@version`. */
export const setModelUpdate = defineUpdate<string, [string]>(SET_MODEL_UPDATE);
/** Re-queues a dead letter (optionally with a corrected ride). */
export const replayDeadLetterUpdate = defineUpdate<ReplayResult, [ReplayRequest]>(REPLAY_DEAD_LETTER_UPDATE);
