/**
 * Control functions of the streaming mode, shared by the HTTP API and the CLI: send events (signal-with-start),
 * read state, pause/resume/drain, switch model, replay a dead letter. Consumers read `streamPredictions`.
 */
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { Config } from '../config.js';
import {
  drainSignal,
  pauseSignal,
  replayDeadLetterUpdate,
  resumeSignal,
  rideEventsSignal,
  setModelUpdate,
  STREAM_WORKFLOW,
  stateQuery,
  streamWorkflowId,
  type ReplayResult,
  type RideEvent,
  type StreamOptions,
  type StreamScoringInput,
  type StreamState,
} from '../contracts/stream.js';
import { findEventProblems } from './stream-events.js';

export { streamPredictions, type StreamPredictionEvent } from './stream-source.js';
export { listDeadLetters, type DeadLetterRow } from '../db/queries/stream.js';

/** Stream ids become workflow ids and SQL values: a conservative alphabet keeps both readable. */
export const STREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Events per signal (one signal stays far below Temporal's 2 MB payload limit). */
export const EVENTS_PER_SIGNAL = 500;

export class InvalidStreamIdError extends Error {
  constructor(readonly streamId: string) {
    super(`stream id must match ${String(STREAM_ID_PATTERN)} (got ${JSON.stringify(streamId)})`);
    this.name = 'InvalidStreamIdError';
  }
}

export class StreamNotFoundError extends Error {
  constructor(
    readonly streamId: string,
    options?: ErrorOptions,
  ) {
    super(`stream ${streamId} has no running workflow (send events to start it)`, options);
    this.name = 'StreamNotFoundError';
  }
}

/** A rejected update (unknown model ref, no such dead letter); `message` says why. */
export class StreamControlError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StreamControlError';
  }
}

export interface SendEventsResult {
  streamId: string;
  workflowId: string;
  /** Events signalled to the workflow, in order. */
  accepted: number;
  /** Repeated ids within this request (dropped here; the workflow counts repeats across requests in `state`). */
  duplicates: number;
  /** Structurally invalid events (not signalled): index in the request, field and reason. */
  rejected: { index: number; field: string; message: string }[];
  /** The accepted time stamped on events that had none. */
  receivedAt: string;
}

export interface SendOptions {
  /** Model ref a newly started stream pins (ignored when the stream runs already). */
  model?: string;
  /** Overrides of config.stream for a newly started stream (tests lower the continue-as-new threshold). */
  streamOptions?: Partial<StreamOptions>;
}

function checkStreamId(streamId: string): void {
  if (!STREAM_ID_PATTERN.test(streamId)) throw new InvalidStreamIdError(streamId);
}

/**
 * Stamps `received_at` on each event without one, then signals them in order with signal-with-start (so the
 * first send starts the stream's workflow). Events with a bad shape are returned in `rejected`, not sent.
 */
export async function sendEvents(
  client: Client,
  config: Pick<Config, 'temporal' | 'stream'>,
  streamId: string,
  events: readonly unknown[],
  options: SendOptions = {},
): Promise<SendEventsResult> {
  checkStreamId(streamId);
  const receivedAt = new Date().toISOString();
  const rejected: SendEventsResult['rejected'] = [];
  const seen = new Set<string>();
  const batch: RideEvent[] = [];
  let duplicates = 0;
  events.forEach((raw, index) => {
    const problems = findEventProblems(raw);
    if (problems.length > 0 || typeof raw !== 'object' || raw === null) {
      rejected.push(...problems.map((p) => ({ index, ...p })));
      return;
    }
    const event = raw as RideEvent;
    const id = String(event.event_id ?? event.ride_id);
    if (seen.has(id)) {
      duplicates += 1;
      return;
    }
    seen.add(id);
    batch.push(event.received_at ? event : { ...event, received_at: receivedAt });
  });
  const input: StreamScoringInput = {
    streamId,
    ...(options.model ? { model: options.model } : {}),
    options: { ...config.stream, ...options.streamOptions },
  };
  for (let from = 0; from < batch.length; from += EVENTS_PER_SIGNAL) {
    await client.workflow.signalWithStart(STREAM_WORKFLOW, {
      workflowId: streamWorkflowId(streamId),
      taskQueue: config.temporal.taskQueue,
      args: [input],
      signal: rideEventsSignal,
      signalArgs: [batch.slice(from, from + EVENTS_PER_SIGNAL)],
    });
  }
  return {
    streamId,
    workflowId: streamWorkflowId(streamId),
    accepted: batch.length,
    duplicates,
    rejected,
    receivedAt,
  };
}

function handle(client: Client, streamId: string): WorkflowHandle {
  checkStreamId(streamId);
  return client.workflow.getHandle(streamWorkflowId(streamId));
}

async function mapErrors<T>(streamId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new StreamNotFoundError(streamId, { cause: err });
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause;
      const message =
        cause && 'cause' in cause && cause.cause instanceof Error ? cause.cause.message : cause?.message;
      throw new StreamControlError(message ?? err.message, { cause: err });
    }
    if (err instanceof Error && /workflow execution already completed/i.test(err.message))
      throw new StreamNotFoundError(streamId, { cause: err });
    throw err;
  }
}

/** The `state` query of a stream's current run (works on a drained, completed stream too). */
export function getStreamState(client: Client, streamId: string): Promise<StreamState> {
  return mapErrors(streamId, () => handle(client, streamId).query(stateQuery));
}

/** Stops scoring (events keep queueing) until `resumeStream`. */
export function pauseStream(client: Client, streamId: string): Promise<void> {
  return mapErrors(streamId, () => handle(client, streamId).signal(pauseSignal));
}

export function resumeStream(client: Client, streamId: string): Promise<void> {
  return mapErrors(streamId, () => handle(client, streamId).signal(resumeSignal));
}

/** Scores everything queued (even when paused), then the workflow completes with its final state. */
export function drainStream(client: Client, streamId: string): Promise<void> {
  return mapErrors(streamId, () => handle(client, streamId).signal(drainSignal));
}

/** Pins another model ref for the following events; returns `name@version`. Unknown refs: StreamControlError. */
export function setStreamModel(client: Client, streamId: string, ref: string): Promise<string> {
  return mapErrors(streamId, () => handle(client, streamId).executeUpdate(setModelUpdate, { args: [ref] }));
}

/**
 * Re-queues a dead letter at the end of the stream's queue (optionally with a corrected ride). No pending dead
 * letter with that id: StreamControlError.
 */
export function replayDeadLetter(
  client: Client,
  streamId: string,
  eventId: string,
  ride?: RideEvent['ride'],
): Promise<ReplayResult> {
  return mapErrors(streamId, () =>
    handle(client, streamId).executeUpdate(replayDeadLetterUpdate, {
      args: [{ eventId, ...(ride ? { ride } : {}) }],
    }),
  );
}
