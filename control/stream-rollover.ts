/**
 * Producer side of a stream's continue-as-new hand-over (contracts/stream.ts, STREAM_ROLLOVER_CHANNEL): between a
 * run's `closing` notice and the next run's `open` notice, `ready(streamId)` returns a promise a StreamSender
 * awaits before its next signal to that stream. A hold never outlives `maxHoldMs`, so a lost `open` notice (a
 * worker killed mid-hand-over, a dropped LISTEN connection) only costs that long once.
 */
import { STREAM_ROLLOVER_CHANNEL, type StreamRolloverNotice } from '../contracts/stream.js';
import { listenChannel } from '../db/listen.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';

export interface RolloverWatch {
  /** Undefined when `streamId` may be signalled now; else a promise that resolves when it may. */
  ready(streamId: string): Promise<void> | undefined;
  /** Holds seen so far and how they ended (tests and diagnostics). */
  stats(): { holds: number; released: number; timedOut: number };
  close(): Promise<void>;
}

export interface RolloverHolds extends Omit<RolloverWatch, 'close'> {
  /** Applies one notice (what the LISTEN connection delivers). */
  apply(notice: StreamRolloverNotice): void;
  /** Ends every hold (on close, or when notices may have been missed). */
  releaseAll(): void;
}

interface Hold {
  promise: Promise<void>;
  release: () => void;
  timer: NodeJS.Timeout;
}

/** The hold bookkeeping alone, fed by `apply`: no connection (unit-testable). */
export function createRolloverHolds(maxHoldMs: number): RolloverHolds {
  const holds = new Map<string, Hold>();
  const counts = { holds: 0, released: 0, timedOut: 0 };
  const end = (streamId: string, how: 'released' | 'timedOut') => {
    const hold = holds.get(streamId);
    if (!hold) return;
    holds.delete(streamId);
    clearTimeout(hold.timer);
    counts[how] += 1;
    hold.release();
  };
  return {
    ready: (streamId) => holds.get(streamId)?.promise,
    stats: () => ({ ...counts }),
    apply(notice) {
      if (notice.phase === 'open') return end(notice.streamId, 'released');
      if (holds.has(notice.streamId)) return;
      let release = () => {};
      const promise = new Promise<void>((resolve) => (release = resolve));
      const timer = setTimeout(() => end(notice.streamId, 'timedOut'), maxHoldMs);
      timer.unref();
      holds.set(notice.streamId, { promise, release, timer });
      counts.holds += 1;
    },
    releaseAll() {
      for (const streamId of [...holds.keys()]) end(streamId, 'released');
    },
  };
}

const isNotice = (v: unknown): v is StreamRolloverNotice =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as StreamRolloverNotice).streamId === 'string' &&
  ((v as StreamRolloverNotice).phase === 'closing' || (v as StreamRolloverNotice).phase === 'open');

/** LISTENs on `stream_rollover` with its own connection (one per producer process). */
export async function watchStreamRollovers(options: {
  pool: Pool;
  logger?: Logger;
  /** Longest a stream is held, ms; default 2000 (a hand-over takes tens of ms). */
  maxHoldMs?: number;
}): Promise<RolloverWatch> {
  const holds = createRolloverHolds(options.maxHoldMs ?? 2000);
  const listener = await listenChannel({
    pool: options.pool,
    channel: STREAM_ROLLOVER_CHANNEL,
    logger: options.logger,
    onNotify(payload) {
      try {
        const notice: unknown = JSON.parse(payload);
        if (isNotice(notice)) holds.apply(notice);
      } catch {
        options.logger?.warn({ payload }, 'malformed stream_rollover notice ignored');
      }
    },
    // An `open` may have been missed while disconnected: never keep a stream waiting on one.
    onReconnect: () => holds.releaseAll(),
  });
  return {
    ready: holds.ready,
    stats: holds.stats,
    async close() {
      await listener.close();
      holds.releaseAll();
    },
  };
}
