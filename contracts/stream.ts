/**
 * Streaming scoring contract: one `streamScoring` workflow per stream (`stream-<streamId>`), fed by signals. A stream
 * belongs to one deployment (deployments/<name>.json); its events are `{"event_id": ..., "record": {...}}`. A
 * deployment whose course contract has another shape maps it through its adapter (adapters/, StreamAdapter).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { LabelInput } from './monitoring.js';
import type { FieldRecord, Prediction, ResolvedModel } from './scoring.js';

export const STREAM_WORKFLOW = 'streamScoring';
export const streamWorkflowId = (streamId: string) => `stream-${streamId}`;
/** Stream ids become workflow ids and SQL values: a conservative alphabet keeps both readable. */
export const STREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The generic event signal: one StreamEvent or an array of them, in order. */
export const EVENTS_SIGNAL = 'events';
export const STREAM_STATE_QUERY = 'state';

/** An event id or record key: a non-empty string (≤ 200 chars) or a finite number. */
export type EventKey = string | number;

/** One event in the generic format: `{"event_id": "e-1", "record": {...}}`. */
export interface StreamEvent {
  /** Dedup key of the event. */
  event_id: EventKey;
  /** The record to score: fields of the deployment's model signature (extra fields are ignored). */
  record: FieldRecord;
  /** The record's key in the published prediction; defaults to `record[key_field]` of the deployment. */
  key?: EventKey;
  /** Stamped when the event is accepted (before it enters the workflow) if the producer sent none. */
  received_at?: string;
}

/**
 * What a stream persists in `stream_predictions.payload` and publishes (SSE, NOTIFY readers). Generic:
 * `{"model","version","event_id","key"?,"prediction": {...}}` (prediction as scoring/predictions.ts predictionAt);
 * a deployment with a course adapter publishes its own shape, with `model` and `version`.
 */
export interface StreamPrediction {
  model: string;
  version: string;
  prediction: Readonly<Record<string, unknown>>;
  [field: string]: unknown;
}

/** A shape problem of one incoming event, found at the edge (before signalling). */
export interface EventProblem {
  field: string;
  message: string;
}

/** An event as it waits in the workflow's queue: dedup key and accepted time always set. */
export interface QueuedEvent {
  event_id: string;
  record: FieldRecord;
  key?: EventKey;
  received_at: string;
  /** Set when the event itself is malformed (e.g. no `record` object): it goes straight to dead letters. */
  invalid?: string;
  /** A replayed dead letter bypasses the dedup window. */
  replay?: boolean;
}

/**
 * A course contract of one deployment's streams: its event shape, signal names and published payload, mapped onto
 * the generic contract. Pure and deterministic (the workflow bundle imports it). Registered in adapters/streams.ts.
 */
export interface StreamAdapter {
  /** The deployment whose streams speak this contract (its plain stream API takes this shape). */
  deployment: string;
  /** Signals carrying one event and an array of events in this shape (`temporal workflow signal --name ...`). */
  signals: { one: string; many: string };
  /** The event's OpenAPI schema (JSON Schema), registered under `schemaName`. */
  schemaName: string;
  schema: Readonly<Record<string, unknown>>;
  /** Every shape problem of `raw` (empty when it can be signalled). */
  problems(raw: unknown): EventProblem[];
  /** A well-formed event (no problems) in the generic format. */
  toEvent(raw: object): StreamEvent;
  /** Whatever a course signal carried, as a queued event; never throws (see workflows/stream-event.ts). */
  toQueued(raw: unknown, now: string, invalidId: () => string): QueuedEvent;
  /** The corrected record a replay request carries in the course's words, if any. */
  replayRecord(request: Readonly<Record<string, unknown>>): FieldRecord | undefined;
  /** The payload persisted and published for a scored event. */
  output(model: ResolvedModel, event: QueuedEvent, prediction: Prediction): StreamPrediction;
}

/** Tunables a stream run starts with (producers pass config.stream); carried across continue-as-new. */
export interface StreamOptions {
  /** Continue-as-new after this many events were received by one run (also on `continueAsNewSuggested`). */
  canAfterEvents: number;
  /** Recent event ids remembered for dedup; the table's unique key guards beyond it. */
  dedupWindow: number;
  /**
   * Most queued events scored by one activity call, a "slice" (per-event order, dedup and dead letters are kept).
   * The name follows its variable, STREAM_MAX_RUN.
   */
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
 * Every option's default, written once: config.ts reads these for its STREAM_* variables (producers pass
 * config.stream in the input), and a stream started by hand without options gets them here.
 */
export const STREAM_OPTION_DEFAULTS: Readonly<StreamOptions> = {
  canAfterEvents: 5_000,
  dedupWindow: 10_000,
  maxRun: 200,
  localActivities: true,
  maxAttempts: 5,
  retryInitialMs: 200,
  canAfterHistory: 10_000,
  maxCarriedQueue: 500,
  rolloverGraceMs: 50,
};

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
  /** Labels received by the `labels` signal (late ground truth, written to the labels table by key). */
  labels?: number;
}

/** Summary of a stream's primary values (all runs): numbers (regression) or counts by label (classification). */
export interface PredictionSummary {
  count: number;
  /** Over numeric values: mean exact, p50/p90 from a histogram of 0.25-wide bins (see stream-stats.ts). */
  mean: number | null;
  p50: number | null;
  p90: number | null;
  /** Predictions per class label (classification only). */
  labels?: Record<string, number>;
}

/** What the `state` query returns. */
export interface StreamState extends StreamCounters {
  streamId: string;
  /** The deployment the stream scores for; null until the first run resolved it. */
  deployment: string | null;
  /** Events waiting (in the workflow and spilled). */
  queueLength: number;
  /** Of those, events waiting in Postgres (`stream_queue`) after a continue-as-new with a long queue. */
  spilled: number;
  /** Events inside the scoring activity right now. */
  inFlight: number;
  lastEventId: string | null;
  lastPrediction: StreamPrediction | null;
  predictions: PredictionSummary;
  /** The pinned model, e.g. `penguin-species@1`; null until the first run resolved it. */
  model: string | null;
  /** Follows the deployment's routing (canary by event key, shadow) instead of one pinned version. */
  routed?: boolean;
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
  deployment: string;
  queue: QueuedEvent[];
  /** Older events waiting in `stream_queue` (scored before `queue`). */
  spilled?: number;
  recentIds: string[];
  counters: StreamCounters;
  histogram: Record<string, number>;
  sum: number;
  labels?: Record<string, number>;
  lastEventId: string | null;
  lastPrediction: StreamPrediction | null;
  model: ResolvedModel;
  routed?: boolean;
  paused: boolean;
  draining: boolean;
  startedAt: string;
  runs: number;
  /** The closing run announced the hand-over: the next run announces `open` as it starts. */
  announced?: boolean;
  /** Labels received and not written yet. */
  pendingLabels?: LabelInput[];
}

export interface StreamScoringInput {
  streamId: string;
  /** The deployment whose model, defaults and key the stream uses (default: the deployments' default one). */
  deployment?: string;
  /** Model reference resolved once and pinned (default: the deployment's model). */
  model?: string;
  /** Producers pass config.stream; missing options take STREAM_OPTION_DEFAULTS. */
  options?: Partial<StreamOptions>;
  /** Set only by continue-as-new. */
  carried?: StreamCarry;
}

/** What the workflow learns about its deployment when it starts. */
export interface StreamDeploymentInfo {
  deployment: string;
  model: ResolvedModel;
  /**
   * The stream follows its deployment's routing (it named no model): each event goes to the champion or, by its
   * key, to the canary, and the shadow share is scored by the challenger too. A pinned stream scores `model` only.
   */
  routed?: boolean;
}

export interface ReplayRequest {
  eventId: string;
  /** A corrected record replaces the stored one (e.g. after fixing a bad field). */
  record?: FieldRecord;
  /** A course adapter may read its own field names here (StreamAdapter.replayRecord). */
  [field: string]: unknown;
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

/**
 * Late labels for the stream's predictions, `{key, label}` or an array of them (the key the prediction carried):
 * written to the labels table by key (a key sent again takes the new label), through an activity, in order with
 * the events. A label that does not fit the model's task is counted and dropped.
 */
export const LABELS_SIGNAL = 'labels';
/** Most labels one `labels` signal should carry (control/streams.ts sendLabels splits longer lists). */
export const LABELS_PER_SIGNAL = 1000;
export const labelsSignal = defineSignal<[LabelInput[] | LabelInput]>(LABELS_SIGNAL);
export const eventsSignal = defineSignal<[StreamEvent[] | StreamEvent]>(EVENTS_SIGNAL);
export const stateQuery = defineQuery<StreamState>(STREAM_STATE_QUERY);
export const pauseSignal = defineSignal(PAUSE_SIGNAL);
export const resumeSignal = defineSignal(RESUME_SIGNAL);
/** Finish the queue, then complete (returns the final state). */
export const drainSignal = defineSignal(DRAIN_SIGNAL);
/** Pins another model ref for the next events; validated by resolving it. Returns `name@version`. */
export const setModelUpdate = defineUpdate<string, [string]>(SET_MODEL_UPDATE);
/** Re-queues a dead letter (optionally with a corrected record). */
export const replayDeadLetterUpdate = defineUpdate<ReplayResult, [ReplayRequest]>(REPLAY_DEAD_LETTER_UPDATE);
