/** COPY FROM STDIN helper: streams text chunks into Postgres with backpressure; a failing source aborts the COPY. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from '../db/pool.js';

/**
 * Runs `COPY <table> (<columns>) FROM STDIN` (text format) fed by `chunks`; resolves with the rows copied.
 * If `chunks` throws, the COPY is failed (CopyFail) and the error propagates, so the caller's transaction
 * rolls back cleanly.
 */
export async function copyText(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
): Promise<number> {
  const sql = `COPY ${client.escapeIdentifier(table)} (${columns.map((c) => client.escapeIdentifier(c)).join(', ')}) FROM STDIN`;
  const sink = client.query(copyFrom(sql));
  await pipeline(Readable.from(chunks, { objectMode: false }), sink);
  return sink.rowCount;
}
