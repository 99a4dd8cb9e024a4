/**
 * Control functions of the streaming mode, shared by the HTTP API and the CLI: send events (signal-with-start),
 * read state, pause/resume/drain, switch model, replay a dead letter, for any deployment's streams. Consumers read `streamPredictions`.
 */
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  drainSignal,
  labelsSignal,
  LABELS_PER_SIGNAL,
  pauseSignal,
  replayDeadLetterUpdate,
  resumeSignal,
  setModelUpdate,
  stateQuery,
  streamWorkflowId,
  type ReplayRequest,
  type ReplayResult,
  type StreamState,
} from '../contracts/stream.js';
import type { LabelInput } from '../contracts/monitoring.js';
import type { FieldRecord } from '../contracts/scoring.js';
import { checkStreamId } from './stream-send.js';

export { streamPredictions, type StreamPredictionEvent } from './stream-source.js';
export { listDeadLetters, type DeadLetterRow } from '../db/queries/stream.js';

export {
  createStreamSender,
  EVENTS_PER_SIGNAL,
  InvalidStreamIdError,
  sendEvents,
  STREAM_ID_PATTERN,
  type SendEventsResult,
  type SendOptions,
  type StreamSender,
} from './stream-send.js';

/** A stream with no workflow to answer (never started, or drained and gone). */
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
 * Re-queues a dead letter at the end of the stream's queue, optionally with a corrected record (or, as `fields`,
 * the correction in a course adapter's words). No pending dead letter with that id: StreamControlError.
 */
export function replayDeadLetter(
  client: Client,
  streamId: string,
  eventId: string,
  record?: FieldRecord,
  fields: Omit<ReplayRequest, 'eventId' | 'record'> = {},
): Promise<ReplayResult> {
  return mapErrors(streamId, () =>
    handle(client, streamId).executeUpdate(replayDeadLetterUpdate, {
      args: [{ ...fields, eventId, ...(record ? { record } : {}) }],
    }),
  );
}

/**
 * Sends late labels to a running stream (the `labels` signal, at most LABELS_PER_SIGNAL per signal, in order): the
 * stream writes them to the labels table by key. A stream with no running workflow: StreamNotFoundError.
 */
export async function sendLabels(
  client: Client,
  streamId: string,
  labels: readonly LabelInput[],
): Promise<number> {
  for (let i = 0; i < labels.length; i += LABELS_PER_SIGNAL) {
    const part = labels.slice(i, i + LABELS_PER_SIGNAL);
    await mapErrors(streamId, () => handle(client, streamId).signal(labelsSignal, part));
  }
  return labels.length;
}
