/**
 * Drift of a deployment's windows against its model card's reference profile, in each mode: the batch source's
 * window and the sink's predictions of its runs, and the online and stream predictions made in the window (their
 * recorded inputs and the prediction itself). PSI (and KS) per field and for the prediction, computed in Postgres,
 * stored per mode, version and window (recomputing replaces it) with the window's performance, and one alert per
 * drifted window (NOTIFY `monitoring_alerts` when raised; the webhook is delivered by the monitoring workflows).
 */
import {
  ALERTS_CHANNEL,
  alertKey,
  PREDICTION_FIELD,
  type DriftFeature,
  type DriftWindow,
  type MonitoredMode,
  type MonitoringAlert,
  type PerformanceRow,
  type PerformanceTally,
  type ReferenceProfile,
} from '../contracts/monitoring.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { driftOfCounts, driftOfSample, type ProfiledColumn } from '../db/queries/drift.js';
import { runTally } from '../db/queries/drift-tallies.js';
import type { SinkLayout } from '../db/queries/batch-tables.js';
import type { Deployment } from '../platform/deployments.js';
import type { LoadedModel } from '../scoring/load-model.js';
import { describeBatchTables, planBatchLayout } from './batch-layout.js';
import {
  DriftInputError,
  predictionsSample,
  recordedColumns,
  recordedPrediction,
  sinkPrediction,
  sinkSample,
  sourceColumns,
  sourceSample,
  type Window,
} from './drift-samples.js';
import { windowPerformance } from './drift-performance.js';
import { addPerformance, performanceOf, tallyOrder, tallyPlan } from './drift-tally.js';

/** A batch run that scored the window: its id and the rows it read (scored and rejected). */
export interface BatchTallyRun {
  id: string;
  rows: number;
}

export { DriftInputError } from './drift-samples.js';
export { profileDeployment } from './drift-profile.js';

/** The sink layout of a deployment's batch block, when its tables are there. */
export async function sinkOf(
  pool: Pool,
  deployment: Deployment,
  model: LoadedModel,
): Promise<SinkLayout | undefined> {
  if (!deployment.spec.batch) return undefined;
  const planned = planBatchLayout(deployment, model, await describeBatchTables(pool, deployment));
  return planned.ok && planned.layout.missing.length === 0 ? planned.layout.sink : undefined;
}

const asPrediction = (c: ProfiledColumn | undefined): ProfiledColumn[] =>
  c ? [{ ...c, field: PREDICTION_FIELD }] : [];

/** Rows and per-field drift of one mode's window. */
async function measure(
  pool: Pool,
  deployment: Deployment,
  model: LoadedModel,
  reference: ReferenceProfile,
  mode: MonitoredMode,
  w: Window,
  sink: SinkLayout | undefined,
  run: BatchTallyRun | undefined,
): Promise<Measured> {
  const refs = {
    ...reference.features,
    ...(reference.prediction ? { [PREDICTION_FIELD]: reference.prediction } : {}),
  };
  const bounds = { from: w.from ?? '-infinity', to: w.to ?? 'infinity' };
  if (mode === 'batch' && run) {
    const tallied = await fromTallies(pool, deployment, model, refs, run, bounds.from);
    if (tallied) return tallied;
  }
  if (mode === 'batch') {
    const source = await driftOfSample(
      pool,
      sourceSample(deployment, w),
      sourceColumns(deployment, model),
      refs,
    );
    const prediction = sink && reference.prediction ? asPrediction(sinkPrediction(sink, model)) : [];
    if (source.rows === 0 || prediction.length === 0) return source;
    const predicted = await driftOfSample(
      pool,
      sinkSample(sink as SinkLayout, model.version, bounds),
      prediction,
      refs,
    );
    return { rows: source.rows, features: [...source.features, ...predicted.features] };
  }
  if (w.from === undefined || w.to === undefined)
    throw new DriftInputError(w.from === undefined ? 'from' : 'to', `is required for a ${mode} window`);
  if (!(w.from < w.to)) throw new DriftInputError('to', 'must be after from');
  return driftOfSample(
    pool,
    predictionsSample(mode, deployment.spec.name, model.version, bounds),
    [...recordedColumns(model, 'p'), ...asPrediction(recordedPrediction(mode, model))],
    refs,
  );
}

/**
 * A run's window from the histograms its pages counted, when they add up to the rows it read (a page counted
 * twice or missed, or a run whose rows were read in part by another run, falls back to the scan).
 */
async function fromTallies(
  pool: Pool,
  deployment: Deployment,
  model: LoadedModel,
  refs: ReferenceProfile['features'],
  run: BatchTallyRun,
  windowFrom: string,
): Promise<Measured | undefined> {
  const plan = tallyPlan(model);
  if (!plan || run.rows <= 0) return undefined;
  const tally = await runTally(pool, run.id);
  if (tally.rows !== run.rows) return undefined;
  const features = driftOfCounts(tallyOrder(plan), tally, refs);
  // Labels sent by key win over the source's in the performance query: with any of them, that query answers.
  const byKey = await pool.query('SELECT 1 FROM labels WHERE deployment = $1 LIMIT 1', [
    deployment.spec.name,
  ]);
  if (byKey.rows.length > 0) return { rows: tally.rows, features };
  const sums = tally.performances.reduce<PerformanceTally | undefined>(addPerformance, undefined);
  return { rows: tally.rows, features, performance: performanceOf(sums, model.version, windowFrom) };
}

/** A window's rows and drift, and its performance when the run's tallies give it (undefined: query it). */
interface Measured {
  rows: number;
  features: DriftFeature[];
  performance?: PerformanceRow | null;
}

export async function computeDrift(
  pool: Pool,
  deployment: Deployment,
  model: LoadedModel,
  window: Window & { mode?: MonitoredMode; run?: BatchTallyRun },
): Promise<DriftWindow> {
  const reference = model.card.monitoring?.reference as ReferenceProfile | undefined;
  if (!reference)
    throw new DriftInputError(
      'model',
      `${model.ref} has no reference profile (write one: npm run models -- profile ${model.ref} --deployment ${deployment.spec.name} --from .. --to ..)`,
    );
  const mode = window.mode ?? 'batch';
  const w: Window = {
    ...(window.from !== undefined && window.from !== '-infinity' ? { from: window.from } : {}),
    ...(window.to !== undefined && window.to !== 'infinity' ? { to: window.to } : {}),
  };
  const sink = await sinkOf(pool, deployment, model);
  const measured = await measure(pool, deployment, model, reference, mode, w, sink, window.run);
  const { rows, features } = measured;
  const monitoring = deployment.spec.monitoring;
  const threshold = monitoring?.psi_threshold ?? 0.1;
  const ksThreshold = monitoring?.ks_threshold;
  // An empty window (or one below min_rows) has no distribution worth judging: no alert for it.
  const judged = rows > 0 && rows >= (monitoring?.min_rows ?? 1);
  const drifted = judged
    ? features
        .filter((f) => f.psi > threshold || (ksThreshold !== undefined && (f.ks ?? 0) > ksThreshold))
        .map((f) => f.field)
    : [];
  const from = w.from ?? '-infinity';
  const to = w.to ?? 'infinity';
  const performance =
    measured.performance !== undefined
      ? measured.performance
      : await windowPerformance(pool, deployment, model, mode, { from, to }, sink);
  const result: DriftWindow = {
    deployment: deployment.spec.name,
    mode,
    version: model.version,
    from,
    to,
    rows,
    features,
    threshold,
    drifted,
    alert: null,
    performance,
  };
  return withTransaction(pool, async (db) => {
    if (drifted.length > 0) {
      const alert: MonitoringAlert = {
        key: alertKey({
          kind: 'drift',
          deployment: result.deployment,
          mode,
          version: result.version,
          from,
          to,
        }),
        deployment: result.deployment,
        kind: 'drift',
        mode,
        version: result.version,
        from,
        to,
        drifted,
        features,
        threshold,
      };
      const { rowCount } = await db.query(
        `INSERT INTO monitoring_alerts (deployment, kind, mode, version, window_from, window_to, details, dedup_key)
         VALUES ($1, 'drift', $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [
          alert.deployment,
          mode,
          alert.version,
          from,
          to,
          JSON.stringify({ drifted, features, threshold }),
          alert.key,
        ],
      );
      result.alert = rowCount ? 'raised' : 'already raised';
      result.alertKey = alert.key;
      // The NOTIFY names the window and its drifted fields (the figures stay in the table: payloads are small).
      if (rowCount)
        await db.query('SELECT pg_notify($1, $2)', [
          ALERTS_CHANNEL,
          JSON.stringify({ ...alert, features: undefined }),
        ]);
    }
    await db.query(
      `INSERT INTO drift_windows (deployment, mode, version, window_from, window_to, result) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (deployment, mode, version, window_from, window_to)
       DO UPDATE SET result = EXCLUDED.result, computed_at = now()`,
      [result.deployment, mode, result.version, from, to, JSON.stringify(result)],
    );
    return result;
  });
}
