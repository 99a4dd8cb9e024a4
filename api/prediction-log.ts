/**
 * The online prediction log (PREDICTION_LOG=on): `record` only appends to memory, so a response never waits for
 * Postgres; a background flush writes the buffer in one multi-row INSERT every `flushIntervalMs` or once
 * `batchSize` rows are waiting. `close()` stops accepting, then flushes everything left (clean shutdown drops
 * nothing). Only when Postgres is unreachable for long does the buffer cap (`maxBuffered`) drop the oldest rows,
 * counted in `dropped()`, rather than grow without bound.
 */
import type { Role } from '../contracts/routing.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';

export interface PredictionRecord {
  requestId: string;
  rowIndex: number;
  route: string;
  model: string;
  version: string;
  features: Record<string, unknown>;
  /** The primary value when it is a number (a regression), else null. */
  prediction: number | null;
  /** The prediction as the API answered it (`{label, probabilities}` ...), when not just `prediction`. */
  output?: Record<string, unknown>;
  latencyMs: number;
  createdAt: Date;
  /** Rollouts: the deployment that routed the call and the role this row played (default champion). */
  deployment?: string;
  role?: Role;
  /** A canary or shadow call that failed (the row has no prediction). */
  error?: string;
  /** Shadow rows: the champion's answer to the same record, and the distance between the two. */
  championOutput?: Record<string, unknown>;
  diff?: number | null;
  /** The key late labels join on (api/routing.ts recordKeyOf). */
  recordKey?: string;
}

export interface PredictionLog {
  record(rows: readonly PredictionRecord[]): void;
  /** Writes everything buffered now; resolves when it is in the table. */
  flush(): Promise<void>;
  /** Flushes and stops; later `record` calls are ignored (counted as dropped). */
  close(): Promise<void>;
  pending(): number;
  written(): number;
  dropped(): number;
}

export interface PredictionLogOptions {
  pool: Pool;
  logger?: Logger;
  batchSize?: number;
  flushIntervalMs?: number;
  maxBuffered?: number;
}

const COLUMNS = 16;

export function createPredictionLog(options: PredictionLogOptions): PredictionLog {
  const { pool, logger, batchSize = 1000, flushIntervalMs = 200, maxBuffered = 200_000 } = options;
  let buffer: PredictionRecord[] = [];
  let writing: Promise<void> = Promise.resolve();
  let written = 0;
  let dropped = 0;
  let closed = false;

  const insert = async (rows: PredictionRecord[]) => {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const r of rows) {
      const base = values.length;
      tuples.push(`(${Array.from({ length: COLUMNS }, (_, i) => `$${base + i + 1}`).join(', ')})`);
      values.push(
        r.requestId,
        r.rowIndex,
        r.route,
        r.model,
        r.version,
        JSON.stringify(r.features),
        r.prediction,
        r.output === undefined ? null : JSON.stringify(r.output),
        r.latencyMs,
        r.createdAt,
        r.deployment ?? null,
        r.role ?? 'champion',
        r.error ?? null,
        r.championOutput === undefined ? null : JSON.stringify(r.championOutput),
        r.diff ?? null,
        r.recordKey ?? null,
      );
    }
    await pool.query(
      `INSERT INTO online_predictions
         (request_id, row_index, route, model, version, features, prediction, output, latency_ms, created_at,
          deployment, role, error, champion_output, diff, record_key)
       VALUES ${tuples.join(', ')}`,
      values,
    );
  };

  // Writes run one after another; a failed write puts its rows back at the front for the next attempt.
  const drain = (): Promise<void> => {
    writing = writing.then(async () => {
      while (buffer.length > 0) {
        const rows = buffer.slice(0, batchSize);
        buffer = buffer.slice(rows.length);
        try {
          await insert(rows);
          written += rows.length;
        } catch (err) {
          buffer = rows.concat(buffer);
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
  };
}
