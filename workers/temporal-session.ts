/**
 * Keeps a worker process attached to Temporal through outages: it waits for the server at start, and when a
 * running worker fails (the SDK fails `Worker.run()` once its polls have failed for about a minute, as when the
 * server restarts or stays down), it closes that connection and builds a new connection and worker, with
 * exponential backoff and a log line per attempt. It returns when the worker stops after SIGINT/SIGTERM, and
 * throws only after an outage longer than `outageMs`.
 */
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from '../logger.js';

/** Ten minutes: long enough for a server restart or upgrade, short enough that a wrong address is noticed. */
export const TEMPORAL_OUTAGE_MS = 10 * 60_000;
/** A worker that polled this long before failing was healthy: the next failure starts a new outage. */
const HEALTHY_RUN_MS = 60_000;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 10_000;

export interface SessionOptions {
  address: string;
  logger?: Logger;
  outageMs?: number;
  /** Aborted on SIGINT/SIGTERM: a wait in progress ends at once and nothing new is started. */
  signal?: AbortSignal;
}

/** Thrown when Temporal stayed unreachable for longer than the outage bound. */
export class TemporalUnreachableError extends Error {
  constructor(address: string, ms: number, cause: unknown) {
    super(`Temporal at ${address} unreachable for ${Math.round(ms / 1000)} s; giving up`, { cause });
    this.name = 'TemporalUnreachableError';
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** An AbortSignal that fires on the first SIGINT or SIGTERM (the SDK's runtime drains the worker itself). */
export function stopSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    },
  };
}

/**
 * Connects to Temporal, retrying with backoff (250 ms doubling to 10 s) until `deadline` (epoch ms); one warn
 * line per failed attempt. Undefined when stopped by the signal first.
 */
export async function connectTemporal(
  options: SessionOptions & { deadline?: number },
): Promise<NativeConnection | undefined> {
  const { address, logger, signal } = options;
  const started = Date.now();
  const deadline = options.deadline ?? started + (options.outageMs ?? TEMPORAL_OUTAGE_MS);
  for (let attempt = 1, delay = FIRST_DELAY_MS; ; attempt++, delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    if (signal?.aborted) return undefined;
    try {
      return await NativeConnection.connect({ address });
    } catch (err) {
      if (Date.now() + delay > deadline)
        throw new TemporalUnreachableError(address, Date.now() - started, err);
      logger?.warn({ address, attempt, err: message(err), retryInMs: delay }, 'waiting for Temporal');
      await pause(delay, signal);
    }
  }
}

/**
 * Runs a worker until it is told to stop, rebuilding connection and worker after each failure. `setup` runs once
 * per process after the first connection (schedules, search attributes) and is retried like a connection.
 */
export async function runWorkerSession(
  options: SessionOptions & {
    create: (connection: NativeConnection) => Promise<Worker>;
    setup?: () => Promise<void>;
  },
): Promise<void> {
  const { address, logger, signal } = options;
  const outageMs = options.outageMs ?? TEMPORAL_OUTAGE_MS;
  let outageSince = Date.now();
  let delay = FIRST_DELAY_MS;
  let setupDone = options.setup === undefined;
  for (let attempt = 1; ; attempt++) {
    const connection = await connectTemporal({ ...options, deadline: outageSince + outageMs });
    if (!connection) return;
    let ranMs = 0;
    try {
      if (!setupDone) {
        await options.setup?.();
        setupDone = true;
      }
      if (signal?.aborted) return;
      const worker = await options.create(connection);
      logger?.info({ address, attempt }, attempt === 1 ? 'worker started' : 'worker started again');
      const began = Date.now();
      try {
        // Resolves after SIGINT/SIGTERM: the SDK stops polling and lets running tasks finish.
        await worker.run();
        return;
      } finally {
        ranMs = Date.now() - began;
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (ranMs >= HEALTHY_RUN_MS) {
        outageSince = Date.now();
        delay = FIRST_DELAY_MS;
      }
      if (Date.now() + delay > outageSince + outageMs)
        throw new TemporalUnreachableError(address, Date.now() - outageSince, err);
      logger?.error(
        { address, attempt, err: message(err), retryInMs: delay },
        'worker lost Temporal; reconnecting',
      );
      await pause(delay, signal);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
}
