/**
 * The online prediction log (PREDICTION_LOG=on): `record` only appends to memory, so a response never waits for
 * Postgres; a background flush writes the buffer in one COPY every `flushIntervalMs` or once
 * `batchSize` rows are waiting. `close()` stops accepting, then flushes everything left (clean shutdown drops
 * nothing). Only when Postgres is unreachable for long does the buffer cap (`maxBuffered`) drop the oldest rows,
 * counted in `dropped()`, rather than grow without bound. A write Postgres cannot reach is tried again; a row it
 * refuses for its values is set apart from its batch and dropped (`refused()`), so it never blocks the rest; so is
 * a row JSON cannot encode (a BigInt or a cycle in its features). Rows are encoded when their batch is written;
 * rows that could not be written wait as their COPY lines.
 */
import type { Pool } from '../db/pool.js';
import {
  copyPredictions,
  isDataError,
  predictionLine,
  requestIdOf,
  type PredictionRecord,
} from '../db/queries/online-predictions.js';
import type { Logger } from '../logger.js';

export type { PredictionRecord } from '../db/queries/online-predictions.js';

export interface PredictionLog {
  record(rows: readonly PredictionRecord[]): void;
  /** Writes everything buffered now; resolves when it is in the table. */
  flush(): Promise<void>;
  /** Flushes and stops; later `record` calls are ignored (counted as dropped). */
  close(): Promise<void>;
  pending(): number;
  written(): number;
  /** Rows not written: over the buffer cap, recorded after close(), or refused (see `refused`). */
  dropped(): number;
  /**
   * Rows refused for their values, within `dropped`: by Postgres (written again they would fail again), or by JSON
   * before that.
   */
  refused(): number;
}

export interface PredictionLogOptions {
  pool: Pool;
  logger?: Logger;
  batchSize?: number;
  flushIntervalMs?: number;
  maxBuffered?: number;
}

export function createPredictionLog(options: PredictionLogOptions): PredictionLog {
  const { pool, logger, batchSize = 1000, flushIntervalMs = 200, maxBuffered = 200_000 } = options;
  // A row, or its COPY line once a write of it has failed.
  let buffer: (PredictionRecord | string)[] = [];
  let writing: Promise<void> = Promise.resolve();
  let written = 0;
  let dropped = 0;
  let closed = false;

  let refused = 0;
  const refuse = (requestId: string | undefined, err: unknown) => {
    refused++;
    dropped++;
    const message = err instanceof Error ? err.message : String(err);
    logger?.warn({ requestId, err: message }, 'prediction log row refused; dropped');
  };

  /** The COPY lines of `rows`, less those JSON cannot encode (refused). */
  const encode = (rows: readonly (PredictionRecord | string)[]): string[] => {
    const lines: string[] = [];
    for (const row of rows) {
      if (typeof row === 'string') lines.push(row);
      else
        try {
          lines.push(predictionLine(row));
        } catch (err) {
          refuse(row.requestId, err);
        }
    }
    return lines;
  };

  /**
   * Writes `rows`. When Postgres refuses a value, the halves are written apart, down to the rows that fail alone,
   * which are dropped (counted, their request ids logged): one bad row never holds the log or takes its neighbours.
   * Any other failure ends the write: it answers the rows not written yet (in order) and the error.
   */
  const write = async (rows: string[]): Promise<{ left: string[]; err?: unknown }> => {
    const parts = rows.length > 0 ? [rows] : [];
    for (let part = parts.pop(); part; part = parts.pop()) {
      try {
        await copyPredictions(pool, part);
        written += part.length;
      } catch (err) {
        if (!isDataError(err)) return { left: [part, ...parts.reverse()].flat(), err };
        if (part.length > 1) {
          const half = Math.ceil(part.length / 2);
          parts.push(part.slice(half), part.slice(0, half));
          continue;
        }
        refuse(part[0] === undefined ? undefined : requestIdOf(part[0]), err);
      }
    }
    return { left: [] };
  };

  // Writes run one after another; a failed write puts the rows it did not write back at the front for the next attempt.
  const drain = (): Promise<void> => {
    writing = writing.then(async () => {
      while (buffer.length > 0) {
        const rows = buffer.slice(0, batchSize);
        buffer = buffer.slice(rows.length);
        const { left, err } = await write(encode(rows));
        if (left.length > 0) {
          buffer = [...left, ...buffer];
          logger?.warn({ err, pending: buffer.length }, 'prediction log write failed; will retry');
          throw err;
        }
      }
    });
    return writing;
  };

  const timer = setInterval(() => {
    if (buffer.length > 0) drain().catch(() => (writing = Promise.resolve()));
  }, flushIntervalMs);
  timer.unref();

  return {
    record(rows) {
      if (closed) {
        dropped += rows.length;
        return;
      }
      buffer.push(...rows);
      if (buffer.length > maxBuffered) {
        const over = buffer.length - maxBuffered;
        buffer.splice(0, over);
        dropped += over;
      }
      if (buffer.length >= batchSize) drain().catch(() => (writing = Promise.resolve()));
    },
    async flush() {
      await writing.catch(() => undefined);
      writing = Promise.resolve();
      await drain();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await this.flush();
    },
    pending: () => buffer.length,
    written: () => written,
    dropped: () => dropped,
    refused: () => refused,
  };
}
