/**
 * Producer side of a stream: edge checks, `received_at` stamping and signal-with-start. `createStreamSender` also
 * coalesces concurrent sends to one stream into as few signals as possible (one in flight per stream), which keeps
 * arrival order and cuts per-event signals under load without adding latency when idle.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import {
  eventsSignal,
  STREAM_ID_PATTERN,
  STREAM_WORKFLOW,
  streamWorkflowId,
  type StreamEvent,
  type StreamOptions,
  type StreamScoringInput,
} from '../contracts/stream.js';
import { toStreamEvent } from './stream-events.js';
import type { RolloverWatch } from './stream-rollover.js';

type SendConfig = Pick<Config, 'temporal' | 'stream'>;

export { STREAM_ID_PATTERN };
/** Events per signal (one signal stays far below Temporal's 2 MB payload limit). */
export const EVENTS_PER_SIGNAL = 500;

export class InvalidStreamIdError extends Error {
  constructor(readonly streamId: string) {
    super(`stream id must match ${String(STREAM_ID_PATTERN)} (got ${JSON.stringify(streamId)})`);
    this.name = 'InvalidStreamIdError';
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
  /**
   * The deployment a newly started stream scores for (default: the deployments' default one); events are generic
   * `{event_id, record}` or in the shape of that deployment's course adapter (any adapter's when none is named).
   */
  deployment?: string;
  /** Model ref a newly started stream pins (ignored when the stream runs already). */
  model?: string;
  /** Overrides of config.stream for a newly started stream (tests lower the continue-as-new threshold). */
  streamOptions?: Partial<StreamOptions>;
}

export function checkStreamId(streamId: string): void {
  if (!STREAM_ID_PATTERN.test(streamId)) throw new InvalidStreamIdError(streamId);
}

interface Prepared {
  batch: StreamEvent[];
  result: SendEventsResult;
}

/** Edge checks of one request: shape, repeats within it, `received_at` stamped now on events without one. */
function prepare(streamId: string, events: readonly unknown[], deployment: string | undefined): Prepared {
  checkStreamId(streamId);
  const receivedAt = new Date().toISOString();
  const rejected: SendEventsResult['rejected'] = [];
  const seen = new Set<string>();
  const batch: StreamEvent[] = [];
  let duplicates = 0;
  events.forEach((raw, index) => {
    const mapped = toStreamEvent(raw, deployment);
    if (!('event' in mapped)) {
      rejected.push(...mapped.problems.map((p) => ({ index, ...p })));
      return;
    }
    const { event } = mapped;
    const id = String(event.event_id);
    if (seen.has(id)) {
      duplicates += 1;
      return;
    }
    seen.add(id);
    batch.push(event.received_at ? event : { ...event, received_at: receivedAt });
  });
  const result = {
    streamId,
    workflowId: streamWorkflowId(streamId),
    accepted: batch.length,
    duplicates,
    rejected,
    receivedAt,
  };
  return { batch, result };
}

async function signal(
  client: Client,
  config: SendConfig,
  streamId: string,
  batch: StreamEvent[],
  options: SendOptions,
): Promise<void> {
  const input: StreamScoringInput = {
    streamId,
    ...(options.deployment ? { deployment: options.deployment } : {}),
    ...(options.model ? { model: options.model } : {}),
    options: { ...config.stream, ...options.streamOptions },
  };
  for (let from = 0; from < batch.length; from += EVENTS_PER_SIGNAL) {
    await client.workflow.signalWithStart(STREAM_WORKFLOW, {
      workflowId: streamWorkflowId(streamId),
      taskQueue: config.temporal.taskQueue,
      args: [input],
      signal: eventsSignal,
      signalArgs: [batch.slice(from, from + EVENTS_PER_SIGNAL)],
    });
  }
}

/**
 * Stamps `received_at` on each event without one, then signals them in order with signal-with-start (so the
 * first send starts the stream's workflow). Events with a bad shape are returned in `rejected`, not sent.
 */
export async function sendEvents(
  client: Client,
  config: SendConfig,
  streamId: string,
  events: readonly unknown[],
  options: SendOptions = {},
): Promise<SendEventsResult> {
  const { batch, result } = prepare(streamId, events, options.deployment);
  await signal(client, config, streamId, batch, options);
  return result;
}

export interface StreamSender {
  /** Like `sendEvents`; resolves once the signal carrying these events was accepted by Temporal. */
  send(streamId: string, events: readonly unknown[], options?: SendOptions): Promise<SendEventsResult>;
}

interface Lane {
  pending: { batch: StreamEvent[]; options: SendOptions; done: (err?: Error) => void }[];
  busy: boolean;
}

/**
 * One per API process: while a signal to a stream is in flight, later sends to that stream wait and then go
 * together in the next signal (in arrival order). An idle stream's send goes out at once. With a `rollover`
 * watch, sends to a stream whose run is handing over wait for the next run (see control/stream-rollover.ts).
 */
export function createStreamSender(
  client: Client,
  config: SendConfig,
  options: { rollover?: RolloverWatch } = {},
): StreamSender {
  const lanes = new Map<string, Lane>();
  const drain = async (streamId: string, lane: Lane) => {
    lane.busy = true;
    while (lane.pending.length > 0) {
      const held = options.rollover?.ready(streamId);
      if (held) await held;
      const group = lane.pending.splice(0, lane.pending.length);
      try {
        const first = group[0];
        await signal(
          client,
          config,
          streamId,
          group.flatMap((g) => g.batch),
          first?.options ?? {},
        );
        for (const g of group) g.done();
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const g of group) g.done(error);
      }
    }
    lane.busy = false;
    lanes.delete(streamId);
  };
  return {
    async send(streamId, events, options = {}) {
      const { batch, result } = prepare(streamId, events, options.deployment);
      if (batch.length === 0) return result;
      const lane = lanes.get(streamId) ?? { pending: [], busy: false };
      lanes.set(streamId, lane);
      await new Promise<void>((resolve, reject) => {
        lane.pending.push({ batch, options, done: (err) => (err === undefined ? resolve() : reject(err)) });
        if (!lane.busy) void drain(streamId, lane);
      });
      return result;
    },
  };
}
