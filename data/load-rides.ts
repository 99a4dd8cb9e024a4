/**
 * Loads ride batches into `rides` atomically and idempotently, all in one transaction so a failure at any point
 * (bad page, lost connection) leaves nothing half-loaded, and loading the same source twice changes nothing.
 *
 * Two paths, chosen under a per-month advisory lock:
 * - `copy`: no ride_id of this month prefix exists yet, so nothing can conflict: COPY straight into `rides`
 *   (COPY's multi-row inserts, Postgres working while Node encodes: the first load of a month is the fast one).
 * - `staged`: some exist: COPY into a temp staging table, then one
 *   `INSERT ... SELECT ... ON CONFLICT (ride_id) DO NOTHING`.
 */
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { copyText } from './copy.js';
import { COPY_COLUMNS, encodeCopyText, type RideBatch } from './ride-batch.js';

export interface LoadProgress {
  rowsRead: number;
  skipped: number;
}

export interface LoadResult {
  rowsRead: number;
  inserted: number;
  alreadyPresent: number;
  skipped: number;
  /** Which path ran (see the module comment). */
  path: 'copy' | 'staged';
}

const STAGE = 'rides_stage';
const columnList = COPY_COLUMNS.join(', ');

// Collations in which text sorts by code point, so a ride_id prefix is one contiguous range of the primary key.
const CODE_POINT_COLLATIONS = new Set(['C', 'POSIX', 'C.UTF-8', 'C.utf8', 'ucs_basic']);

async function monthHasRows(client: PoolClient, monthPrefix: string): Promise<boolean> {
  const db = await client.query<{ collate: string }>(
    'SELECT datcollate AS collate FROM pg_database WHERE datname = current_database()',
  );
  if (!CODE_POINT_COLLATIONS.has(db.rows[0]?.collate ?? '')) return true; // cannot range-scan: take the staged path
  const { rows } = await client.query<{ present: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM rides WHERE ride_id >= $1 AND ride_id < $2) AS present',
    [`${monthPrefix}_`, `${monthPrefix}\``], // '`' is the code point after '_'
  );
  return rows[0]?.present ?? true;
}

/**
 * Why DO NOTHING rather than DO UPDATE: a ride_id names one row of one immutable monthly source file, so a
 * second load carries the same values; leaving existing rows untouched keeps re-ingest cheap and never rewrites
 * rows that batch runs have already scored.
 */
export async function loadRideBatches(
  pool: Pool,
  options: {
    batches: AsyncIterable<RideBatch>;
    monthPrefix: string;
    sourceFile: string;
    onBatch?: (progress: LoadProgress) => void;
  },
): Promise<LoadResult> {
  const progress: LoadProgress = { rowsRead: 0, skipped: 0 };
  const { batches, monthPrefix, sourceFile, onBatch } = options;
  async function* chunks(): AsyncGenerator<Buffer> {
    for await (const batch of batches) {
      const encoded = encodeCopyText(batch, monthPrefix, sourceFile);
      progress.rowsRead += batch.length;
      progress.skipped += encoded.skipped;
      if (encoded.bytes.length > 0) yield encoded.bytes;
      onBatch?.({ ...progress });
    }
  }
  return withTransaction(pool, async (client) => {
    // Two loads of the same month serialize here, so the emptiness check below stays true until we commit.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('rides-load:' || $1::text))`, [monthPrefix]);
    const done = (inserted: number, staged: number, path: LoadResult['path']): LoadResult => ({
      rowsRead: progress.rowsRead,
      inserted,
      alreadyPresent: staged - inserted,
      skipped: progress.skipped,
      path,
    });
    if (!(await monthHasRows(client, monthPrefix))) {
      const copied = await copyText(client, 'rides', COPY_COLUMNS, chunks());
      return done(copied, copied, 'copy');
    }
    await client.query(
      `CREATE TEMP TABLE ${STAGE} ON COMMIT DROP AS SELECT ${columnList} FROM rides WITH NO DATA`,
    );
    const staged = await copyText(client, STAGE, COPY_COLUMNS, chunks());
    const insert = await client.query(
      `INSERT INTO rides (${columnList}) SELECT ${columnList} FROM ${STAGE} ON CONFLICT (ride_id) DO NOTHING`,
    );
    return done(insert.rowCount ?? 0, staged, 'staged');
  });
}
