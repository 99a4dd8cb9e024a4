/** A batch run's per-page drift histograms (migration 017): the statement a page commits with, and their sum. */
import type { BinCounts } from '../../contracts/monitoring.js';
import type { Pool } from '../pool.js';
import type { Statement } from './batch-progress.js';

/** Written in the page's transaction; the same page scored again replaces its row. */
export function tallyStatement(runId: string, firstKey: string, tally: BinCounts): Statement {
  return {
    text: `INSERT INTO batch_drift_tallies (run_id, first_key, rows, counts) VALUES ($1, $2, $3, $4)
           ON CONFLICT (run_id, first_key) DO UPDATE SET rows = EXCLUDED.rows, counts = EXCLUDED.counts`,
    values: [runId, firstKey, tally.rows, JSON.stringify(tally.fields)],
  };
}

/** The run's pages summed: rows, and per field the count of each bin. */
export async function runTally(pool: Pool, runId: string): Promise<BinCounts> {
  const { rows } = await pool.query<{ field: string; bin: string; n: string }>(
    `SELECT f.key AS field, b.key AS bin, sum(b.value::bigint) AS n
       FROM batch_drift_tallies t, jsonb_each(t.counts) f, jsonb_each_text(f.value) b
      WHERE t.run_id = $1 GROUP BY 1, 2`,
    [runId],
  );
  const total = await pool.query<{ n: string | null }>(
    'SELECT sum(rows) AS n FROM batch_drift_tallies WHERE run_id = $1',
    [runId],
  );
  const fields: Record<string, Record<string, number>> = {};
  for (const r of rows) (fields[r.field] ??= {})[r.bin] = Number(r.n);
  return { rows: Number(total.rows[0]?.n ?? 0), fields };
}
