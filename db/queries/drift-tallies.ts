/** A batch run's per-page drift histograms (migration 017): the statement a page commits with, and their sum. */
import type { BinCounts, PerformanceTally } from '../../contracts/monitoring.js';
import type { Pool } from '../pool.js';
import type { Statement } from './batch-progress.js';

/** Written in the page's transaction; the same page scored again replaces its row. */
export function tallyStatement(runId: string, firstKey: string, tally: BinCounts): Statement {
  return {
    text: `INSERT INTO batch_drift_tallies (run_id, first_key, rows, counts, performance) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (run_id, first_key)
           DO UPDATE SET rows = EXCLUDED.rows, counts = EXCLUDED.counts, performance = EXCLUDED.performance`,
    values: [
      runId,
      firstKey,
      tally.rows,
      JSON.stringify(tally.fields),
      tally.performance ? JSON.stringify(tally.performance) : null,
    ],
  };
}

/** The run's pages summed: rows, and per field the count of each bin; each labelled page's performance sums. */
export async function runTally(
  pool: Pool,
  runId: string,
): Promise<BinCounts & { performances: PerformanceTally[] }> {
  const { rows: pages } = await pool.query<{
    rows: number;
    counts: BinCounts['fields'];
    performance: PerformanceTally | null;
  }>('SELECT rows, counts, performance FROM batch_drift_tallies WHERE run_id = $1', [runId]);
  const fields: BinCounts['fields'] = {};
  for (const page of pages)
    for (const [field, bins] of Object.entries(page.counts)) {
      const into = (fields[field] ??= {});
      for (const [bin, n] of Object.entries(bins)) into[bin] = (into[bin] ?? 0) + n;
    }
  return {
    rows: pages.reduce((s, p) => s + p.rows, 0),
    fields,
    performances: pages.flatMap((p) => (p.performance ? [p.performance] : [])),
  };
}
