/**
 * Loads ride batches into `rides` atomically and idempotently: COPY into a temp staging table, then one
 * `INSERT ... SELECT ... ON CONFLICT (ride_id) DO NOTHING`, all in one transaction, so a failure at any point
 * (bad page, lost connection) leaves nothing half-loaded, and loading the same source twice changes nothing.
 */
import { withTransaction, type Pool } from '../db/pool.js';
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
}

const STAGE = 'rides_stage';
const columnList = COPY_COLUMNS.join(', ');

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
  async function* chunks(): AsyncGenerator<string> {
    for await (const batch of batches) {
      const encoded = encodeCopyText(batch, monthPrefix, sourceFile);
      progress.rowsRead += batch.length;
      progress.skipped += encoded.skipped;
      if (encoded.text.length > 0) yield encoded.text;
      onBatch?.({ ...progress });
    }
  }
  return withTransaction(pool, async (client) => {
    await client.query(
      `CREATE TEMP TABLE ${STAGE} ON COMMIT DROP AS SELECT ${columnList} FROM rides WITH NO DATA`,
    );
    const staged = await copyText(client, STAGE, COPY_COLUMNS, chunks());
    const insert = await client.query(
      `INSERT INTO rides (${columnList}) SELECT ${columnList} FROM ${STAGE} ON CONFLICT (ride_id) DO NOTHING`,
    );
    const inserted = insert.rowCount ?? 0;
    return {
      rowsRead: progress.rowsRead,
      inserted,
      alreadyPresent: staged - inserted,
      skipped: progress.skipped,
    };
  });
}
