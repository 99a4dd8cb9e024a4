/**
 * The consumer side of a stream: an async iterator over persisted predictions that first catches up from the
 * table after `afterId` (an SSE Last-Event-ID) and then follows Postgres NOTIFY on `stream_predictions`.
 */
import type { Notification } from 'pg';
import { STREAM_PREDICTIONS_CHANNEL, type StreamPrediction } from '../contracts/stream.js';
import type { Pool } from '../db/pool.js';
import { readPredictionsAfter } from '../db/queries/stream.js';

export interface StreamPredictionEvent {
  /** The bigserial id: use as the SSE `id:` (and resume with Last-Event-ID). */
  id: string;
  eventId: string;
  data: StreamPrediction;
  receivedAt: string;
  scoredAt: string;
}

export interface StreamPredictionsOptions {
  /** Exclusive; default "0" (from the beginning). */
  afterId?: string;
  signal?: AbortSignal;
  /** Rows per catch-up read. */
  pageSize?: number;
  /** Re-reads the table at least this often even without a notification (a safety net), ms. */
  pollMs?: number;
}

/**
 * Yields the stream's predictions in id order, forever (until `signal` aborts). Holds one pooled connection for
 * LISTEN while iterating; the connection is released when the loop ends.
 */
export async function* streamPredictions(
  pool: Pool,
  streamId: string,
  options: StreamPredictionsOptions = {},
): AsyncGenerator<StreamPredictionEvent> {
  const { signal, pageSize = 500, pollMs = 5_000 } = options;
  let lastId = options.afterId && /^\d+$/.test(options.afterId) ? options.afterId : '0';
  const client = await pool.connect();
  let wake: (() => void) | undefined;
  let pending = true; // read once at start
  const onNotify = (msg: Notification) => {
    if (msg.channel !== STREAM_PREDICTIONS_CHANNEL) return;
    try {
      const payload = JSON.parse(msg.payload ?? '{}') as { stream_id?: string };
      if (payload.stream_id !== undefined && payload.stream_id !== streamId) return;
    } catch {
      // unknown payload: read anyway
    }
    pending = true;
    wake?.();
  };
  const onAbort = () => wake?.();
  client.on('notification', onNotify);
  signal?.addEventListener('abort', onAbort);
  try {
    // LISTEN before the first read: a prediction committed in between is then both read and notified, never missed.
    await client.query(`LISTEN ${STREAM_PREDICTIONS_CHANNEL}`);
    while (!signal?.aborted) {
      if (pending) {
        pending = false;
        for (;;) {
          const rows = await readPredictionsAfter(client, streamId, lastId, pageSize);
          for (const row of rows) {
            lastId = row.id;
            yield {
              id: row.id,
              eventId: row.event_id,
              data: row.payload,
              receivedAt: row.received_at.toISOString(),
              scoredAt: row.scored_at.toISOString(),
            };
            if (signal?.aborted) return;
          }
          if (rows.length < pageSize) break;
        }
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      pending = true;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    client.off('notification', onNotify);
    await client.query(`UNLISTEN ${STREAM_PREDICTIONS_CHANNEL}`).catch(() => undefined);
    client.release();
  }
}
