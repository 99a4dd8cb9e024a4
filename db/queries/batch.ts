/**
 * SQL of batch scoring: partition planning by (pickup_datetime, ride_id) key ranges, keyset reads of a chunk
 * (COPY binary out), COPY binary + upsert of predictions, rejected rows, and the batch_runs ledger. Every value
 * travels as a bind parameter.
 */
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import type { RideKey } from '../../contracts/batch.js';
import type { Pool, PoolClient } from '../pool.js';
import { decodeRidePage, type RidePage } from './batch-copy.js';

export interface KeyRange {
  from: string;
  to: string;
  /** Rows with key >= start (inclusive). */
  start?: RideKey;
  /** Rows with key < end (exclusive). */
  end?: RideKey | null;
  /** Rows with key > after (a resume point). */
  after?: RideKey;
}

/** WHERE clause of a key range; parameters are appended to `params`. */
function rangeWhere(r: KeyRange, params: unknown[]): string {
  const p = (v: unknown) => `$${params.push(v)}`;
  const parts = [`pickup_datetime >= ${p(r.from)}::timestamp`, `pickup_datetime < ${p(r.to)}::timestamp`];
  if (r.start)
    parts.push(`(pickup_datetime, ride_id) >= (${p(r.start.ts)}::timestamp, ${p(r.start.id)}::text)`);
  if (r.end) parts.push(`(pickup_datetime, ride_id) < (${p(r.end.ts)}::timestamp, ${p(r.end.id)}::text)`);
  if (r.after)
    parts.push(`(pickup_datetime, ride_id) > (${p(r.after.ts)}::timestamp, ${p(r.after.id)}::text)`);
  return parts.join(' AND ');
}

/** Rows in the range, and the first key of every `chunkSize` rows (at most `maxChunks + 1` keys). */
export async function planKeys(
  pool: Pool,
  range: KeyRange,
  chunkSize: number,
  maxChunks: number,
): Promise<{ rows: number; starts: RideKey[] }> {
  const countParams: unknown[] = [];
  const count = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM rides WHERE ${rangeWhere(range, countParams)}`,
    countParams,
  );
  const params: unknown[] = [];
  const where = rangeWhere(range, params);
  const { rows } = await pool.query<{ ts: string; id: string }>(
    `SELECT ts, id FROM (
       SELECT pickup_datetime AS ts, ride_id AS id,
              row_number() OVER (ORDER BY pickup_datetime, ride_id) AS rn
       FROM rides WHERE ${where}
     ) k
     WHERE (rn - 1) % $${params.push(chunkSize)} = 0
     ORDER BY rn LIMIT $${params.push(maxChunks + 1)}`,
    params,
  );
  return { rows: Number(count.rows[0]?.n ?? 0), starts: rows.map((r) => ({ ts: r.ts, id: r.id })) };
}

// COPY takes no bind parameters, so the page's bounds travel as bound values of set_config and the COPY text
// is constant. An absent bound is an always-true one. The index on (pickup_datetime, ride_id) serves it in order.
const SET_PAGE_BOUNDS = `SELECT set_config('batch.from', $1, false), set_config('batch.to', $2, false),
  set_config('batch.start_ts', $3, false), set_config('batch.start_id', $4, false),
  set_config('batch.end_ts', $5, false), set_config('batch.end_id', $6, false),
  set_config('batch.after_ts', $7, false), set_config('batch.after_id', $8, false),
  set_config('batch.limit', $9, false)`;
const bound = (name: string) => `current_setting('batch.${name}')`;
const COPY_PAGE = `COPY (
  SELECT ride_id, pickup_datetime, pu_location_id, do_location_id, trip_distance, actual_duration FROM rides
  WHERE pickup_datetime >= ${bound('from')}::timestamp AND pickup_datetime < ${bound('to')}::timestamp
    AND (pickup_datetime, ride_id) >= (${bound('start_ts')}::timestamp, ${bound('start_id')})
    AND (pickup_datetime, ride_id) < (${bound('end_ts')}::timestamp, ${bound('end_id')})
    AND (pickup_datetime, ride_id) > (${bound('after_ts')}::timestamp, ${bound('after_id')})
  ORDER BY pickup_datetime, ride_id LIMIT ${bound('limit')}::int
) TO STDOUT (FORMAT binary)`;

/** The next `limit` rides of a chunk in key order, decoded column by column (see batch-copy.ts). */
export async function readRidePage(client: PoolClient, range: KeyRange, limit: number): Promise<RidePage> {
  await client.query(SET_PAGE_BOUNDS, [
    range.from,
    range.to,
    range.start?.ts ?? '-infinity',
    range.start?.id ?? '',
    range.end?.ts ?? 'infinity',
    range.end?.id ?? '',
    range.after?.ts ?? '-infinity',
    range.after?.id ?? '',
    String(limit),
  ]);
  const parts: Buffer[] = [];
  await pipeline(
    client.query(copyStreams.to(COPY_PAGE)),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        parts.push(chunk);
        done();
      },
    }),
  );
  return decodeRidePage(Buffer.concat(parts));
}

/** Tables the batch run needs that do not exist. */
export async function missingTables(pool: Pool, names: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT n AS name FROM unnest($1::text[]) AS n WHERE to_regclass(n) IS NULL`,
    [names],
  );
  return rows.map((r) => r.name);
}

const STAGING = `CREATE TEMP TABLE IF NOT EXISTS batch_staging (
  ride_id text NOT NULL, model_name text NOT NULL, model_version text NOT NULL,
  predicted_duration double precision NOT NULL, actual_duration double precision, diff double precision,
  run_id text NOT NULL
) ON COMMIT DELETE ROWS`;
/** Column order of the COPY stream both paths read. */
const COPY_COLUMNS = 'ride_id, model_name, model_version, predicted_duration, actual_duration, diff, run_id';
const UNIQUE_VIOLATION = '23505';

export interface PredictionMeta {
  modelName: string;
  modelVersion: string;
  runId: string;
}

export interface Rejected {
  rideId: string;
  field: string;
  reason: string;
}

async function copyIn(client: PoolClient, table: string, copy: Buffer): Promise<void> {
  await pipeline(
    Readable.from([copy]),
    client.query(copyStreams.from(`COPY ${table} (${COPY_COLUMNS}) FROM STDIN (FORMAT binary)`)),
  );
}

/**
 * Writes one scored batch in one transaction, idempotently by (ride_id, model_name, model_version).
 * Fast path (`tryDirect`): COPY straight into `predictions` behind a savepoint; any existing key (a re-run, a
 * resumed or concurrent attempt) raises a unique violation, which rolls back to the savepoint and takes the
 * upsert path: COPY into a session temp table, then INSERT ... ON CONFLICT DO UPDATE. Returns the path taken.
 * `copy` is a PredictionCopy stream (COPY binary: `ride_id model_name model_version predicted actual diff run_id`),
 * null when the batch scored no row.
 */
export async function writeScoredBatch(
  client: PoolClient,
  meta: PredictionMeta,
  copy: Buffer | null,
  rejected: readonly Rejected[],
  tryDirect = true,
): Promise<'direct' | 'upsert'> {
  let path: 'direct' | 'upsert' = 'upsert';
  await client.query(STAGING);
  await client.query('BEGIN');
  try {
    if (copy && tryDirect) {
      await client.query('SAVEPOINT direct_copy');
      try {
        await copyIn(client, 'predictions', copy);
        path = 'direct';
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        await client.query('ROLLBACK TO SAVEPOINT direct_copy');
      }
    }
    if (copy && path === 'upsert') {
      await copyIn(client, 'batch_staging', copy);
      await client.query(
        `INSERT INTO predictions AS p (${COPY_COLUMNS}, scored_at)
         SELECT ${COPY_COLUMNS}, now() FROM batch_staging
         ON CONFLICT (ride_id, model_name, model_version) DO UPDATE SET
           predicted_duration = EXCLUDED.predicted_duration, actual_duration = EXCLUDED.actual_duration,
           diff = EXCLUDED.diff, run_id = EXCLUDED.run_id, scored_at = EXCLUDED.scored_at`,
      );
    }
    if (rejected.length > 0) {
      await client.query(
        `INSERT INTO rejected_rows (ride_id, model_name, model_version, run_id, field, reason)
         SELECT r.ride_id, $4, $5, $6, r.field, r.reason
         FROM unnest($1::text[], $2::text[], $3::text[]) AS r (ride_id, field, reason)
         ON CONFLICT (ride_id, model_name, model_version) DO UPDATE SET
           run_id = EXCLUDED.run_id, field = EXCLUDED.field, reason = EXCLUDED.reason, rejected_at = now()`,
        [
          rejected.map((r) => r.rideId),
          rejected.map((r) => r.field),
          rejected.map((r) => r.reason),
          meta.modelName,
          meta.modelVersion,
          meta.runId,
        ],
      );
    }
    await client.query('COMMIT');
    return path;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface BatchRunRow {
  runId: string;
  workflowId: string;
  parentRunId: string | null;
  partitionKey: string;
  from: string;
  to: string;
  modelName: string;
  modelVersion: string;
  status: string;
  rowsScored: number;
  rowsRejected: number;
  rowsCompared: number;
  rmse: number | null;
  mae: number | null;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

/** Inserts or updates the run's ledger row (the final write of a run wins over its `running` row). */
export async function upsertBatchRun(pool: Pool, r: BatchRunRow): Promise<void> {
  await pool.query(
    `INSERT INTO batch_runs (run_id, workflow_id, parent_run_id, partition_key, partition_from, partition_to,
       model_name, model_version, status, rows_scored, rows_rejected, rows_compared, rmse, mae, started_at,
       finished_at, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (run_id) DO UPDATE SET
       model_name = EXCLUDED.model_name, model_version = EXCLUDED.model_version, status = EXCLUDED.status,
       rows_scored = EXCLUDED.rows_scored, rows_rejected = EXCLUDED.rows_rejected,
       rows_compared = EXCLUDED.rows_compared, rmse = EXCLUDED.rmse, mae = EXCLUDED.mae,
       finished_at = EXCLUDED.finished_at, error = EXCLUDED.error, updated_at = now()`,
    [
      r.runId,
      r.workflowId,
      r.parentRunId,
      r.partitionKey,
      r.from,
      r.to,
      r.modelName,
      r.modelVersion,
      r.status,
      r.rowsScored,
      r.rowsRejected,
      r.rowsCompared,
      r.rmse,
      r.mae,
      r.startedAt,
      r.finishedAt,
      r.error,
    ],
  );
}

/** Publishes a summary on channel `batch_runs` (payloads stay far below NOTIFY's 8000-byte limit). */
export async function notifyBatchRun(pool: Pool, payload: string): Promise<void> {
  await pool.query(`SELECT pg_notify('batch_runs', $1)`, [payload]);
}

export async function setWebhookOutcome(
  pool: Pool,
  runId: string,
  status: string,
  attempts: number,
): Promise<void> {
  await pool.query(
    `UPDATE batch_runs SET webhook_status = $2, webhook_attempts = $3, updated_at = now() WHERE run_id = $1`,
    [runId, status, attempts],
  );
}

export interface BatchRunListItem {
  run_id: string;
  workflow_id: string;
  parent_run_id: string | null;
  partition_key: string;
  model_name: string;
  model_version: string;
  status: string;
  rows_scored: string;
  rows_rejected: string;
  rmse: number | null;
  mae: number | null;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
  webhook_status: string | null;
}

/** Most recent runs first, for the API and the CLI. */
export async function listBatchRuns(pool: Pool, limit = 50): Promise<BatchRunListItem[]> {
  const { rows } = await pool.query<BatchRunListItem>(
    `SELECT run_id, workflow_id, parent_run_id, partition_key, model_name, model_version, status, rows_scored,
            rows_rejected, rmse, mae, started_at, finished_at, error, webhook_status
     FROM batch_runs ORDER BY started_at DESC LIMIT $1`,
    [limit],
  );
  return rows;
}
