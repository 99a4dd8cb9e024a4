/**
 * The overview's monitoring card (GET /ui/api/monitoring/summary): per ready deployment its latest drift window,
 * its alerts (how many, how many in the last 7 days, the latest) and its latest performance per mode (the newest
 * labelled day). Drift and alerts are one query each for every deployment; the performance is the Monitoring
 * page's own query (db/queries/labels.ts) over bounded periods.
 */
import { describeBatchTables, planBatchLayout } from '../../activities/batch-layout.js';
import type { AppDeps } from '../../api/deps.js';
import { performance } from '../../db/queries/labels.js';
import { modelOf, type Deployment } from '../../platform/deployments.js';

const DAY_MS = 86_400_000;
const RECENT_DAYS = 7;

export interface DriftHeadline {
  version: string;
  /** The window's mode, when the window names one. */
  mode: string | null;
  from: string;
  to: string;
  rows: number;
  threshold: number;
  drifted: string[];
  /** The feature with the largest PSI. */
  worst: { field: string; psi: number } | null;
  computedAt: string;
}

export interface PerformanceHeadline {
  mode: string;
  version: string;
  /** Start of the window (a day). */
  window: string;
  labelled: number;
  /** MAE (regression) or accuracy (classification). */
  value: number | null;
}

export interface MonitoringHeadline {
  deployment: string;
  drift: DriftHeadline | null;
  alerts: {
    count: number;
    recent: number;
    latest: { kind: string; version: string; from: string; to: string; raisedAt: string } | null;
  };
  performance: { metric: 'mae' | 'accuracy'; rows: PerformanceHeadline[] } | null;
  /** Why a part could not be read (the card shows the rest). */
  problem?: string;
}

/** The parts of a stored drift window (contracts/monitoring.ts DriftWindow) this card reads. */
interface StoredWindow {
  version?: string;
  mode?: string;
  from?: string;
  to?: string;
  rows?: number;
  threshold?: number;
  drifted?: string[];
  features?: { field: string; psi: number }[];
}

function driftHeadline(w: StoredWindow, computedAt: Date): DriftHeadline {
  const worst = (w.features ?? []).reduce<{ field: string; psi: number } | null>(
    (a, f) => (a === null || f.psi > a.psi ? { field: f.field, psi: f.psi } : a),
    null,
  );
  return {
    version: w.version ?? '',
    mode: w.mode ?? null,
    from: w.from ?? '',
    to: w.to ?? '',
    rows: w.rows ?? 0,
    threshold: w.threshold ?? 0,
    drifted: w.drifted ?? [],
    worst,
    computedAt: computedAt.toISOString(),
  };
}

/**
 * The newest labelled day per mode, one row per version in it: online and streaming over the last RECENT_DAYS;
 * batch over the partitions of the deployment's newest RECENT_DAYS completed runs (a batch day is its partition's
 * event time, often far from today).
 */
async function latestPerformance(
  deps: Pick<AppDeps, 'pool' | 'scorer'>,
  d: Deployment,
): Promise<MonitoringHeadline['performance']> {
  const model = modelOf(deps.scorer, d.spec);
  if (typeof model === 'string') throw new Error(model);
  if (model.task.kind === 'outputs') return null;
  let sink;
  if (d.spec.batch) {
    const planned = planBatchLayout(d, model, await describeBatchTables(deps.pool, d));
    if (planned.ok && planned.layout.missing.length === 0) sink = planned.layout.sink;
  }
  const range = model.card.target?.range;
  const query = {
    deployment: d.spec.name,
    task: model.task.kind,
    window: 'day' as const,
    ...(range ? { range: { min: range[0], max: range[1] } } : {}),
  };
  const now = Date.now();
  const recent = performance(deps.pool, {
    ...query,
    from: new Date(now - RECENT_DAYS * DAY_MS).toISOString(),
    to: new Date(now + DAY_MS).toISOString(),
  });
  const span = sink
    ? (
        await deps.pool.query<{ from: string | null; to: string | null }>(
          `SELECT min(partition_from)::text AS "from", max(partition_to)::text AS "to"
             FROM (SELECT partition_from, partition_to FROM batch_runs
                    WHERE deployment = $1 AND status = 'completed' AND partition_from > '-infinity'
                    ORDER BY partition_from DESC LIMIT $2) newest`,
          [d.spec.name, RECENT_DAYS],
        )
      ).rows[0]
    : undefined;
  const batch =
    sink && span?.from && span.to
      ? performance(deps.pool, { ...query, sink, from: `${span.from}Z`, to: `${span.to}Z` })
      : Promise.resolve([]);
  const rows = [
    ...(await recent).filter((r) => r.mode !== 'batch'),
    ...(await batch).filter((r) => r.mode === 'batch'),
  ];
  const metric = model.task.kind === 'classification' ? 'accuracy' : 'mae';
  const newest = new Map<string, string>();
  for (const r of rows) if ((newest.get(r.mode) ?? '') < r.window) newest.set(r.mode, r.window);
  return {
    metric,
    rows: rows
      .filter((r) => newest.get(r.mode) === r.window)
      .map((r) => ({
        mode: r.mode,
        version: r.version,
        window: r.window,
        labelled: r.labelled,
        value: (metric === 'mae' ? r.mae : r.accuracy) ?? null,
      })),
  };
}

export async function monitoringSummary(
  deps: Pick<AppDeps, 'pool' | 'scorer' | 'deployments'>,
): Promise<{ deployments: MonitoringHeadline[] }> {
  const ready = deps.deployments?.ready() ?? [];
  const names = ready.map((d) => d.spec.name);
  const [drift, counts, latest] = await Promise.all([
    deps.pool.query<{ deployment: string; result: StoredWindow; computed_at: Date }>(
      `SELECT DISTINCT ON (deployment) deployment, result, computed_at FROM drift_windows
        WHERE deployment = ANY($1::text[]) ORDER BY deployment, window_from DESC, computed_at DESC`,
      [names],
    ),
    deps.pool.query<{ deployment: string; count: number; recent: number }>(
      `SELECT deployment, count(*)::int AS count,
              (count(*) FILTER (WHERE raised_at > now() - make_interval(days => $2)))::int AS recent
         FROM monitoring_alerts WHERE deployment = ANY($1::text[]) GROUP BY deployment`,
      [names, RECENT_DAYS],
    ),
    deps.pool.query<{
      deployment: string;
      kind: string;
      version: string;
      window_from: string;
      window_to: string;
      raised_at: Date;
    }>(
      `SELECT DISTINCT ON (deployment) deployment, kind, version, window_from, window_to, raised_at
         FROM monitoring_alerts WHERE deployment = ANY($1::text[]) ORDER BY deployment, raised_at DESC`,
      [names],
    ),
  ]);
  return {
    deployments: await Promise.all(
      ready.map(async (d): Promise<MonitoringHeadline> => {
        const name = d.spec.name;
        const w = drift.rows.find((r) => r.deployment === name);
        const c = counts.rows.find((r) => r.deployment === name);
        const a = latest.rows.find((r) => r.deployment === name);
        const base = {
          deployment: name,
          drift: w ? driftHeadline(w.result, w.computed_at) : null,
          alerts: {
            count: c?.count ?? 0,
            recent: c?.recent ?? 0,
            latest: a
              ? {
                  kind: a.kind,
                  version: a.version,
                  from: a.window_from,
                  to: a.window_to,
                  raisedAt: a.raised_at.toISOString(),
                }
              : null,
          },
        };
        try {
          return { ...base, performance: await latestPerformance(deps, d) };
        } catch (err) {
          return { ...base, performance: null, problem: `performance: ${(err as Error).message}` };
        }
      }),
    ),
  };
}
