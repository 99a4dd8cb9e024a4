/**
 * A monitored window's performance: its labelled predictions of one mode and version (db/queries/labels.ts
 * performance, by day), combined into one row over the whole window. Stored with the window's drift, so Prometheus
 * reads the latest window's figures without joining predictions to labels at scrape time.
 */
import type { MonitoredMode, PerformanceRow } from '../contracts/monitoring.js';
import type { Pool } from '../db/pool.js';
import type { SinkLayout } from '../db/queries/batch-tables.js';
import { performance } from '../db/queries/labels.js';
import type { Deployment } from '../platform/deployments.js';
import type { LoadedModel } from '../scoring/load-model.js';

const MODE_OF: Record<MonitoredMode, PerformanceRow['mode']> = {
  batch: 'batch',
  online: 'online',
  streaming: 'streaming',
};

/** Naive bounds are UTC; ±infinity stays as it is. */
const utc = (t: string) => (/infinity$/.test(t) || /(Z|[+-]\d\d:?\d\d)$/.test(t) ? t : `${t}Z`);

/** Weighted by labelled rows: MAE and accuracy are means, RMSE the root of the mean square. */
export function combine(rows: readonly PerformanceRow[]): PerformanceRow | null {
  const first = rows[0];
  if (!first) return null;
  const n = rows.reduce((s, r) => s + r.labelled, 0);
  const mean = (
    pick: (r: PerformanceRow) => number | null | undefined,
    count = (r: PerformanceRow) => r.labelled,
  ) => {
    const total = rows.reduce((s, r) => s + count(r), 0);
    return total === 0 ? null : rows.reduce((s, r) => s + (pick(r) ?? 0) * count(r), 0) / total;
  };
  const out: PerformanceRow = { mode: first.mode, version: first.version, window: first.window, labelled: n };
  if (first.accuracy !== undefined) {
    out.accuracy = mean((r) => r.accuracy);
    const classes = new Map<string, { labelled: number; right: number }>();
    for (const r of rows)
      for (const c of r.perClass ?? []) {
        const k = classes.get(c.label) ?? { labelled: 0, right: 0 };
        classes.set(c.label, {
          labelled: k.labelled + c.labelled,
          right: k.right + (c.recall ?? 0) * c.labelled,
        });
      }
    out.perClass = [...classes].map(([label, c]) => ({
      label,
      labelled: c.labelled,
      recall: c.right / c.labelled,
    }));
    return out;
  }
  out.mae = mean((r) => r.mae);
  const square = mean((r) => (r.rmse ?? 0) ** 2);
  out.rmse = square === null ? null : Math.sqrt(square);
  if (first.inRange) {
    const inN = (r: PerformanceRow) => r.inRange?.labelled ?? 0;
    const inSquare = mean((r) => (r.inRange?.rmse ?? 0) ** 2, inN);
    out.inRange = {
      labelled: rows.reduce((s, r) => s + inN(r), 0),
      mae: mean((r) => r.inRange?.mae, inN),
      rmse: inSquare === null ? null : Math.sqrt(inSquare),
    };
  }
  return out;
}

export async function windowPerformance(
  pool: Pool,
  deployment: Deployment,
  model: LoadedModel,
  mode: MonitoredMode,
  w: { from: string; to: string },
  sink: SinkLayout | undefined,
): Promise<PerformanceRow | null> {
  if (model.task.kind === 'outputs') return null;
  const range = model.card.target?.range;
  const rows = await performance(pool, {
    deployment: deployment.spec.name,
    task: model.task.kind,
    from: utc(w.from),
    to: utc(w.to),
    window: 'day',
    ...(range ? { range: { min: range[0], max: range[1] } } : {}),
    ...(mode === 'batch' && sink ? { sink } : {}),
  });
  const mine = rows.filter((r) => r.mode === MODE_OF[mode] && r.version === model.version);
  const combined = combine(mine);
  return combined ? { ...combined, window: w.from } : null;
}
