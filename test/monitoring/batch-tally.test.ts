/**
 * A batch run's drift window comes from the histograms its pages counted while they were scored (no second scan of
 * the partition), and it is the window the SQL scan gives for the same rows: the same rows, the same PSI and KS per
 * field and for the prediction, rejected rows counted like the scan counts them. Tallies that do not add up to the
 * run's rows are not trusted (the scan answers); the numeric bins are Postgres width_bucket's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { computeDrift } from '../../activities/drift.js';
import { bucket } from '../../activities/drift-tally.js';
import { BATCH_WORKFLOW, type BatchRunSummary } from '../../contracts/batch.js';
import { PREDICTION_FIELD, type DriftWindow } from '../../contracts/monitoring.js';
import { generateIntoDb } from '../../data/generate-db.js';
import { modelOf, type Deployment } from '../../platform/deployments.js';
import type { LoadedModel } from '../../scoring/load-model.js';
import { upsertLabels } from '../../db/queries/labels.js';
import { uniqueId } from '../helpers.js';
import { startRolloutFixture, type RolloutFixture } from '../rollouts/fixture.js';

const DAY = { from: '2030-07-10T00:00:00', to: '2030-07-11T00:00:00' };
let f: RolloutFixture;
let deployment: Deployment;
let model: LoadedModel;
let summary: BatchRunSummary;
let fromRun: DriftWindow;

beforeAll(async () => {
  f = await startRolloutFixture();
  await generateIntoDb(f.db.pool, { month: '2030-07', rows: 9000, seed: 4 });
  // Some of the day drifts, and a few rows are rejected (a negative distance, a missing one): the scan counts
  // every source row of the window, so the run's pages must count rejected rows too.
  await f.db.pool.query(
    `UPDATE rides SET trip_distance = trip_distance * 1.5 WHERE pickup_datetime >= $1 AND pickup_datetime < $2
        AND pu_location_id % 2 = 0`,
    [DAY.from, DAY.to],
  );
  await f.db.pool.query(
    `UPDATE rides SET trip_distance = CASE WHEN pu_location_id % 3 = 0 THEN -1 ELSE NULL END
      WHERE ride_id IN (SELECT ride_id FROM rides WHERE pickup_datetime >= $1 AND pickup_datetime < $2
                        ORDER BY ride_id LIMIT 12)`,
    [DAY.from, DAY.to],
  );
  const found = f.deps.deployments?.get('ride-duration');
  const served = found ? modelOf(f.deps.scorer, found.spec) : undefined;
  if (!found || !served || typeof served === 'string') throw new Error('no ride-duration deployment');
  deployment = found;
  model = served;
  // Small pages and chunks: the window is the sum of many pages from two chunks in flight.
  summary = (await f.temporal.client.workflow.execute(BATCH_WORKFLOW, {
    taskQueue: f.worker.taskQueue,
    workflowId: uniqueId('batch-tally'),
    args: [
      {
        deployment: 'ride-duration',
        ...DAY,
        chunkSize: 90,
        batchRows: 40,
        maxParallelChunks: 2,
        notify: false,
      },
    ],
  })) as BatchRunSummary;
  const { rows } = await f.db.pool.query<{ result: DriftWindow }>(
    `SELECT result FROM drift_windows WHERE deployment = 'ride-duration' AND mode = 'batch' AND window_from = $1`,
    [DAY.from],
  );
  if (!rows[0]) throw new Error('the run computed no drift window');
  fromRun = rows[0].result;
});
afterAll(async () => {
  await f?.close();
});

const tallies = async (runId: string) =>
  (
    await f.db.pool.query<{ pages: string; rows: string }>(
      'SELECT count(*) AS pages, sum(rows) AS rows FROM batch_drift_tallies WHERE run_id = $1',
      [runId],
    )
  ).rows[0];

function expectSamePerformance(a: DriftWindow, b: DriftWindow) {
  const x = a.performance;
  const y = b.performance;
  expect(x?.labelled).toBe(y?.labelled);
  expect(x?.mae).toBeCloseTo(y?.mae ?? NaN, 9);
  expect(x?.rmse).toBeCloseTo(y?.rmse ?? NaN, 9);
  expect(x?.inRange?.labelled).toBe(y?.inRange?.labelled);
  expect(x?.inRange?.mae).toBeCloseTo(y?.inRange?.mae ?? NaN, 9);
}

function expectSameFeatures(a: DriftWindow, b: DriftWindow) {
  expect(a.rows).toBe(b.rows);
  expect(a.features.map((x) => x.field)).toEqual(b.features.map((x) => x.field));
  a.features.forEach((x, i) => {
    const y = b.features[i];
    expect(x.psi, x.field).toBeCloseTo(y?.psi ?? NaN, 12);
    if (x.ks !== undefined || y?.ks !== undefined) expect(x.ks, x.field).toBeCloseTo(y?.ks ?? NaN, 12);
  });
}

it("the run's window is counted page by page, rejected rows included, and equals the scan of the same rows", async () => {
  expect(summary.status).toBe('completed');
  expect(summary.rowsRejected).toBeGreaterThan(0);
  const counted = await tallies(summary.runId);
  expect(Number(counted?.pages)).toBeGreaterThan(5);
  expect(Number(counted?.rows)).toBe(summary.rowsScored + summary.rowsRejected);
  expect(fromRun.rows).toBe(summary.rowsScored + summary.rowsRejected);
  expect(fromRun.features.map((x) => x.field)).toContain(PREDICTION_FIELD);
  expect(fromRun.drifted).toContain('trip_distance');
  const scanned = await computeDrift(f.db.pool, deployment, model, DAY);
  expectSameFeatures(fromRun, scanned);
  expect(scanned.drifted).toEqual(fromRun.drifted);
  // The performance the pages summed from the source's labels is the query's over the sink.
  expectSamePerformance(fromRun, scanned);
  expect(fromRun.performance?.labelled).toBeGreaterThan(100);
  expect(fromRun.performance?.inRange?.labelled).toBeLessThanOrEqual(fromRun.performance?.labelled ?? 0);
});

it("a label sent by key wins over the source's: the window's performance is then the query's", async () => {
  const run = { id: summary.runId, rows: summary.rowsScored + summary.rowsRejected };
  const { rows } = await f.db.pool.query<{ ride_id: string }>(
    `SELECT ride_id FROM predictions WHERE run_id = $1 AND actual_duration IS NOT NULL ORDER BY ride_id LIMIT 20`,
    [run.id],
  );
  await upsertLabels(
    f.db.pool,
    'ride-duration',
    rows.map((r) => ({ key: r.ride_id, label: 500 })),
    'api',
  );
  const again = await computeDrift(f.db.pool, deployment, model, { ...DAY, run });
  expectSameFeatures(again, fromRun);
  expect(again.performance?.mae).toBeGreaterThan((fromRun.performance?.mae ?? Infinity) + 1);
  expectSamePerformance(again, await computeDrift(f.db.pool, deployment, model, DAY));
  await f.db.pool.query("DELETE FROM labels WHERE deployment = 'ride-duration'");
});

it("tallies are used only when they add up to the run's rows; otherwise the scan answers", async () => {
  const run = { id: summary.runId, rows: summary.rowsScored + summary.rowsRejected };
  const scanned = await computeDrift(f.db.pool, deployment, model, DAY);
  // A page's counts changed (its row count kept): the window follows the tallies, so they are what it reads.
  await f.db.pool.query(
    `UPDATE batch_drift_tallies SET counts = jsonb_set(counts, '{PULocationID}', jsonb_build_object('0', rows))
      WHERE run_id = $1 AND first_key = (SELECT min(first_key) FROM batch_drift_tallies WHERE run_id = $1)`,
    [run.id],
  );
  const altered = await computeDrift(f.db.pool, deployment, model, { ...DAY, run });
  const field = (w: DriftWindow) => w.features.find((x) => x.field === 'PULocationID')?.psi ?? NaN;
  expect(field(altered)).toBeGreaterThan(field(scanned) + 1e-6);
  // A page missing: the sum falls short of the run's rows, and the window is the scan's again.
  await f.db.pool.query(
    `DELETE FROM batch_drift_tallies
      WHERE run_id = $1 AND first_key = (SELECT min(first_key) FROM batch_drift_tallies WHERE run_id = $1)`,
    [run.id],
  );
  expectSameFeatures(await computeDrift(f.db.pool, deployment, model, { ...DAY, run }), scanned);
});

it("counts a numeric value into Postgres width_bucket's bin, edges, NaN and the ends included", async () => {
  const edges = [-1.5, 0, 0.25, 2, 10];
  const values = [-100, -1.5, -1.4999, 0, 1e-9, 0.25, 1.99, 2, 9.999, 10, 10.0001, 1e300, NaN];
  const { rows } = await f.db.pool.query<{ b: number }>(
    'SELECT width_bucket(v, $2::float8[]) AS b FROM unnest($1::float8[]) WITH ORDINALITY AS t(v, i) ORDER BY i',
    [values.map(String), edges],
  );
  expect(values.map((v) => bucket(v, edges))).toEqual(rows.map((r) => r.b));
});
