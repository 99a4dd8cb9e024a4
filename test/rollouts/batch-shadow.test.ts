/**
 * A batch shadow run on real Temporal, Postgres and ONNX Runtime: the challenger scores a day of generated rides
 * into the same sink under its own version (exactly-once keys), the champion scores it first because it had not,
 * and the comparison's figures equal what SQL over the sink rows says.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BatchComparison } from '../../contracts/routing.js';
import { generateIntoDb } from '../../data/generate-db.js';
import { startRolloutFixture, type RolloutFixture } from './fixture.js';

let f: RolloutFixture;
beforeAll(async () => {
  f = await startRolloutFixture();
  await generateIntoDb(f.db.pool, { month: '2030-07', rows: 900, seed: 11 });
});
afterAll(() => f?.close());

const day = { from: '2030-07-02T00:00:00', to: '2030-07-03T00:00:00' };

it('scores the partition with the challenger beside the champion and compares them on the same rows', async () => {
  const res = await f.send('POST', '/deployments/ride-duration/batch-shadow', { ...day, version: '1' });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(202);
  const { workflowId, runId } = (await res.json()) as { workflowId: string; runId: string };
  const comparison = (await f.temporal.client.workflow.getHandle(workflowId).result()) as BatchComparison;

  const { rows } = await f.db.pool.query<{ version: string; n: string; mae: number; rmse: number }>(
    `SELECT model_version AS version, count(*) AS n, avg(abs(p.predicted_duration - r.actual_duration)) AS mae,
            sqrt(avg((p.predicted_duration - r.actual_duration) ^ 2)) AS rmse
       FROM predictions p JOIN rides r USING (ride_id)
      WHERE r.pickup_datetime >= $1 AND r.pickup_datetime < $2 GROUP BY 1 ORDER BY 1`,
    [day.from, day.to],
  );
  expect(rows.map((r) => r.version)).toEqual(['1', '2']);
  const [v1, v2] = rows;
  expect(Number(v1?.n)).toBeGreaterThan(0);
  expect(Number(v1?.n)).toBe(Number(v2?.n));
  expect(comparison.pairs).toBe(Number(v1?.n));
  expect(comparison.challengerRows).toBe(comparison.pairs);
  expect(comparison.championRunId).toBeDefined(); // the champion had not scored the day
  expect(comparison.challenger.mae).toBeCloseTo(v1?.mae ?? NaN, 6);
  expect(comparison.champion.mae).toBeCloseTo(v2?.mae ?? NaN, 6);
  expect(comparison.challenger.rmse).toBeCloseTo(v1?.rmse ?? NaN, 6);
  const histogram = comparison.difference?.histogram ?? [];
  expect(histogram.reduce((s, b) => s + b.count, 0)).toBe(comparison.pairs);
  expect(comparison.difference?.meanAbs).toBeGreaterThan(0);

  // Asked again after it ended: compared again, the rows and the comparison row replaced, not added.
  const again = await f.send('POST', '/deployments/ride-duration/batch-shadow', { ...day, version: '1' });
  const second = (await again.json()) as { workflowId: string; runId: string };
  expect(second.workflowId).toBe(workflowId);
  expect(second.runId).not.toBe(runId);
  const recompared = (await f.temporal.client.workflow.getHandle(workflowId).result()) as BatchComparison;
  expect(recompared.pairs).toBe(comparison.pairs);
  expect(recompared.championRunId).toBeUndefined(); // the champion's rows were there this time
  const list = (await (await f.send('GET', '/deployments/ride-duration/batch-comparisons')).json()) as {
    comparisons: BatchComparison[];
  };
  expect(list.comparisons).toHaveLength(1);
  expect(list.comparisons[0]?.pairs).toBe(comparison.pairs);
});

it('refuses a shadow run without a version to compare, naming the field', async () => {
  const res = await f.send('POST', '/deployments/ride-duration/batch-shadow', day);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([
    'version',
  ]);
});
