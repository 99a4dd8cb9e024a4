/**
 * Live progress of batch runs (table batch_run_progress, channel batch_progress): a chunk's committed rows are
 * upserted and announced in the transaction of the batch that committed them, so an announcement never runs ahead
 * of the data and costs one statement per batch (25 000 rows by default), never one per row.
 */
import { BATCH_PROGRESS_CHANNEL } from '../../contracts/batch.js';
import type { Pool, PoolClient } from '../pool.js';

/** Where a chunk stands: its committed rows and, once its last batch committed, done. */
export interface ChunkProgress {
  runId: string;
  workflowId: string;
  deployment: string;
  partition: string;
  chunk: number;
  rowsDone: number;
  done: boolean;
  chunksTotal: number | null;
  rowsTotal: number | null;
}

/** A parameterized statement, run by the caller inside its own transaction. */
export interface Statement {
  text: string;
  values: unknown[];
}

// The run's rows done: this chunk's new count plus every other chunk's committed one (READ COMMITTED sees the
// parallel chunks' commits), announced at commit with the run's figures (BatchProgressEvent).
const UPSERT_AND_ANNOUNCE = `
  WITH saved AS (
    INSERT INTO batch_run_progress AS p (run_id, chunk, rows_done, done, chunks_total, rows_total, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, now())
    ON CONFLICT (run_id, chunk) DO UPDATE SET rows_done = EXCLUDED.rows_done, done = p.done OR EXCLUDED.done,
      chunks_total = EXCLUDED.chunks_total, rows_total = EXCLUDED.rows_total, updated_at = now()
    RETURNING 1),
  others AS (
    SELECT COALESCE(sum(rows_done), 0)::float8 AS rows, (count(*) FILTER (WHERE done))::int AS chunks
      FROM batch_run_progress WHERE run_id = $1 AND chunk <> $2)
  SELECT pg_notify('${BATCH_PROGRESS_CHANNEL}', json_build_object(
           'runId', $1::text, 'workflowId', $7::text, 'deployment', $8::text, 'partition', $9::text,
           'status', 'running', 'rowsDone', others.rows + $3::float8, 'rowsTotal', $6::float8,
           'chunksDone', others.chunks + ($4::boolean)::int, 'chunksTotal', $5::int,
           'at', clock_timestamp())::text)
    FROM others, saved`;

export function chunkProgressStatement(p: ChunkProgress): Statement {
  return {
    text: UPSERT_AND_ANNOUNCE,
    values: [
      p.runId,
      p.chunk,
      p.rowsDone,
      p.done,
      p.chunksTotal,
      p.rowsTotal,
      p.workflowId,
      p.deployment,
      p.partition,
    ],
  };
}

/** The same upsert and announcement on its own (a chunk whose last batch was full ends with an empty read). */
export async function recordChunkProgress(client: PoolClient, p: ChunkProgress): Promise<void> {
  const s = chunkProgressStatement(p);
  await client.query(s.text, s.values);
}

export interface RunProgress {
  rowsDone: number;
  rowsTotal: number | null;
  chunksDone: number;
  chunksTotal: number | null;
  at: string;
}

/** Progress of the given runs that have a chunk underway or done, by run id. */
export async function progressOfRuns(
  pool: Pool,
  runIds: readonly string[],
): Promise<Map<string, RunProgress>> {
  const out = new Map<string, RunProgress>();
  if (runIds.length === 0) return out;
  const { rows } = await pool.query<{
    run_id: string;
    rows_done: number;
    rows_total: number | null;
    chunks_done: number;
    chunks_total: number | null;
    at: Date;
  }>(
    `SELECT run_id, sum(rows_done)::float8 AS rows_done, max(rows_total)::float8 AS rows_total,
            (count(*) FILTER (WHERE done))::int AS chunks_done, max(chunks_total) AS chunks_total,
            max(updated_at) AS at
       FROM batch_run_progress WHERE run_id = ANY($1::text[]) GROUP BY run_id`,
    [runIds],
  );
  for (const r of rows)
    out.set(r.run_id, {
      rowsDone: r.rows_done,
      rowsTotal: r.rows_total,
      chunksDone: r.chunks_done,
      chunksTotal: r.chunks_total,
      at: r.at.toISOString(),
    });
  return out;
}
