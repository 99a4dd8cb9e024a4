/**
 * Late labels joined to predictions on real Temporal, Postgres and ONNX Runtime: labels in by key (refused whole
 * when one is wrong, idempotent by key), and the performance per mode, version and window against SQL over the same
 * rows, for a batch day (a real TLC month when ../shared/data has it, a generated one always), online calls keyed by
 * their record field, and a stream's events.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { BATCH_WORKFLOW, type BatchRunSummary } from '../../contracts/batch.js';
import type { PerformanceRow } from '../../contracts/monitoring.js';
import { labelsSignal, streamWorkflowId } from '../../contracts/stream.js';
import { getStreamState, sendEvents } from '../../control/streams.js';
import { generateIntoDb } from '../../data/generate-db.js';
import { ingestParquetFile } from '../../data/ingest.js';
import { TEST_API_KEY, uniqueId, waitFor } from '../helpers.js';
import { startRolloutFixture, type RolloutFixture } from '../rollouts/fixture.js';
import { makeEvents } from '../stream-kit.js';
import { readPenguinGolden } from '../penguin-table.js';

const FEB_2021 = path.resolve('..', 'shared', 'data', 'green_tripdata_2021-02.parquet');

let f: RolloutFixture;
beforeAll(async () => {
  f = await startRolloutFixture();
});
afterAll(() => f?.close());

const D = '/deployments/ride-duration';
const metrics = async (query: string) => {
  const res = await f.send('GET', `${D}/metrics?${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { rows: PerformanceRow[] }).rows;
};
const labelCount = async () =>
  Number((await f.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM labels')).rows[0]?.n);

it('refuses a call with one bad label as a whole, naming it, and takes labels again by key', async () => {
  const bad = await f.send('POST', `${D}/feedback`, [
    { key: 'a', label: 3.5 },
    { key: 'b', label: 'long' },
    { label: 2 },
  ]);
  expect(bad.status).toBe(400);
  const errors = ((await bad.json()) as { errors: { field: string }[] }).errors.map((e) => e.field);
  expect(errors).toEqual(['[1].label', '[2].key']);
  const twice = await f.send('POST', `${D}/feedback`, [
    { key: 7, label: 3 },
    { key: '7', label: 4 },
  ]);
  expect(twice.status).toBe(400);
  const repeat = ((await twice.json()) as { errors: { field: string; message: string }[] }).errors;
  expect(repeat.map((e) => e.field)).toEqual(['[1].key']);
  expect(repeat[0]?.message).toContain('[0]');
  expect(await labelCount()).toBe(0);
  const first = await f.send('POST', `${D}/feedback`, [{ key: 'a', label: 3.5 }]);
  expect(await first.json()).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
  const again = await f.send('POST', `${D}/feedback`, [
    { key: 'a', label: 3.5 },
    { key: 'a2', label: 1 },
  ]);
  expect(await again.json()).toEqual({ inserted: 1, updated: 0, unchanged: 1 });
  const changed = await f.send('POST', `${D}/feedback`, [{ key: 'a', label: 4 }]);
  expect(await changed.json()).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
  await f.db.pool.query('DELETE FROM labels');
});

/** Scores a day, sends the rides' true durations as labels, and holds the batch figures against SQL. */
async function batchDay(day: { from: string; to: string }) {
  const run = (await (
    await f.temporal.client.workflow.start(BATCH_WORKFLOW, {
      taskQueue: f.worker.taskQueue,
      workflowId: uniqueId('batch-labels'),
      args: [{ deployment: 'ride-duration', ...day, notify: false }],
    })
  ).result()) as BatchRunSummary;
  expect(run.rowsScored).toBeGreaterThan(0);
  const { rows: rides } = await f.db.pool.query<{ ride_id: string; actual_duration: number }>(
    'SELECT ride_id, actual_duration FROM rides WHERE pickup_datetime >= $1 AND pickup_datetime < $2',
    [day.from, day.to],
  );
  const labels = rides.map((r) => ({ key: r.ride_id, label: r.actual_duration }));
  for (let i = 0; i < labels.length; i += 10_000) {
    const res = await f.send('POST', `${D}/feedback`, labels.slice(i, i + 10_000));
    expect(res.status).toBe(200);
  }
  const { rows: sql } = await f.db.pool.query<{
    n: string;
    mae: number;
    rmse: number;
    in_n: string;
    in_mae: number;
  }>(
    `SELECT count(*) AS n, avg(abs(p.predicted_duration - r.actual_duration)) AS mae,
            sqrt(avg((p.predicted_duration - r.actual_duration) ^ 2)) AS rmse,
            count(*) FILTER (WHERE r.actual_duration BETWEEN 1 AND 60) AS in_n,
            avg(abs(p.predicted_duration - r.actual_duration)) FILTER (WHERE r.actual_duration BETWEEN 1 AND 60) AS in_mae
       FROM predictions p JOIN rides r USING (ride_id)
      WHERE p.run_id = $1`,
    [run.runId],
  );
  const want = sql[0];
  const rows = await metrics(`from=${day.from}Z&to=${day.to}Z&window=day`);
  const batch = rows.filter((r) => r.mode === 'batch');
  expect(batch).toHaveLength(1);
  expect(batch[0]).toMatchObject({ version: '2', labelled: Number(want?.n), window: `${day.from}.000Z` });
  expect(batch[0]?.mae).toBeCloseTo(want?.mae ?? NaN, 9);
  expect(batch[0]?.rmse).toBeCloseTo(want?.rmse ?? NaN, 9);
  expect(batch[0]?.inRange?.labelled).toBe(Number(want?.in_n));
  expect(batch[0]?.inRange?.mae).toBeCloseTo(want?.in_mae ?? NaN, 9);
  return { run, want };
}

describe.runIf(existsSync(FEB_2021))('a real month (../shared/data)', () => {
  it('labels of February 2021 joined to a batch day give the MAE SQL gives over the same rows', async () => {
    await ingestParquetFile(f.db.pool, FEB_2021);
    const { want } = await batchDay({ from: '2021-02-03T00:00:00', to: '2021-02-04T00:00:00' });
    expect(Number(want?.n)).toBeGreaterThan(1000);
    // Long rides outside the card's 1..60 range are why the whole-day RMSE is far above the in-range figure.
    expect(want?.mae).toBeGreaterThan(0);
  });
});

it('a generated day: the batch figures equal SQL over the rows', async () => {
  await generateIntoDb(f.db.pool, { month: '2030-07', rows: 900, seed: 5 });
  await batchDay({ from: '2030-07-02T00:00:00', to: '2030-07-03T00:00:00' });
});

it('online calls carry their record key; their labels give the online figures', async () => {
  const logged = createApp({ ...f.deps, logAllPredictions: true });
  const rides = Array.from({ length: 12 }, (_, i) => ({
    ride_id: `online-${i}`,
    PULocationID: 10 + i,
    DOLocationID: 100 + i,
    trip_distance: 1 + i,
    pickup_datetime: '2021-02-01T10:00:00',
  }));
  const answers: number[] = [];
  for (const ride of rides) {
    const res = await logged.request('/models/ride-duration/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify(ride),
    });
    expect(res.status).toBe(200);
    answers.push(((await res.json()) as { prediction: { duration: number } }).prediction.duration);
  }
  await f.log.flush();
  const truth = rides.map((_, i) => 5 + i);
  await f.send(
    'POST',
    `${D}/feedback`,
    rides.map((r, i) => ({ key: r.ride_id, label: truth[i] })),
  );
  const online = (await metrics('window=day')).filter((r) => r.mode === 'online');
  expect(online).toHaveLength(1);
  expect(online[0]?.labelled).toBe(12);
  const mae = answers.reduce((s, a, i) => s + Math.abs(a - (truth[i] ?? 0)), 0) / 12;
  expect(online[0]?.mae).toBeCloseTo(mae, 4);
});

it('stream predictions carry their event key; their labels give the streaming figures', async () => {
  const streamId = uniqueId('labelled');
  const events = makeEvents(30, { prefix: 'stream-ride-' });
  await sendEvents(f.temporal.client, f.deps.config, streamId, events);
  await waitFor(
    async () =>
      Number(
        (
          await f.db.pool.query<{ n: string }>(
            'SELECT count(*) AS n FROM stream_predictions WHERE stream_id = $1',
            [streamId],
          )
        ).rows[0]?.n,
      ) === 30,
    { timeoutMs: 30_000, what: 'the stream predictions' },
  );
  const { rows } = await f.db.pool.query<{ record_key: string; v: number }>(
    `SELECT record_key, (primary_value #>> '{}')::float8 AS v FROM stream_predictions WHERE stream_id = $1`,
    [streamId],
  );
  await f.send(
    'POST',
    `${D}/feedback`,
    rows.map((r) => ({ key: r.record_key, label: 20 })),
  );
  const stream = (await metrics('window=hour')).filter((r) => r.mode === 'streaming');
  expect(stream.reduce((s, r) => s + r.labelled, 0)).toBe(30);
  const mae = rows.reduce((s, r) => s + Math.abs(r.v - 20), 0) / 30;
  const weighted = stream.reduce((s, r) => s + (r.mae ?? 0) * r.labelled, 0) / 30;
  expect(weighted).toBeCloseTo(mae, 4);
});

it('the classifier reports accuracy and per-class recall from its labels', async () => {
  const logged = createApp({ ...f.deps, logAllPredictions: true });
  const golden = (await readPenguinGolden()).slice(0, 40);
  const records = golden.map((g, i) => ({
    penguin_id: `p-${i}`,
    island: g.island,
    bill_length_mm: g.bill_length_mm,
    bill_depth_mm: g.bill_depth_mm,
    flipper_length_mm: g.flipper_length_mm,
    body_mass_g: g.body_mass_g,
    sex: g.sex,
    year: g.year,
  }));
  const res = await logged.request('/models/penguin-species/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
    body: JSON.stringify(records),
  });
  expect(res.status).toBe(200);
  const answers = ((await res.json()) as { predictions: { prediction?: { label: string } }[] }).predictions;
  await f.log.flush();
  const bad = await f.send('POST', '/deployments/penguin-species/feedback', [{ key: 'p-0', label: 'Dodo' }]);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('[0].label');
  const feedback = await f.send(
    'POST',
    '/deployments/penguin-species/feedback',
    golden.map((g, i) => ({ key: `p-${i}`, label: g.species })),
  );
  expect(feedback.status).toBe(200);
  const res2 = await f.send('GET', '/deployments/penguin-species/metrics?window=day');
  const rows = ((await res2.json()) as { rows: PerformanceRow[] }).rows.filter((r) => r.mode === 'online');
  expect(rows).toHaveLength(1);
  const scored = answers.map((a, i) => [a.prediction?.label, golden[i]?.species] as const).filter(([p]) => p);
  const right = scored.filter(([p, y]) => p === y).length;
  expect(rows[0]?.labelled).toBe(scored.length);
  expect(rows[0]?.accuracy).toBeCloseTo(right / scored.length, 9);
  const classes = new Set(golden.map((g) => g.species));
  expect(new Set(rows[0]?.perClass?.map((c) => c.label))).toEqual(classes);
});

it("a stream's labels signal writes labels by key (idempotent, bad ones refused at the edge or dropped), joined to its predictions", async () => {
  const streamId = uniqueId('stream-labels');
  const events = makeEvents(10, { prefix: 'signal-ride-' });
  await sendEvents(f.temporal.client, f.deps.config, streamId, events);
  await waitFor(
    async () =>
      Number(
        (
          await f.db.pool.query<{ n: string }>(
            'SELECT count(*) AS n FROM stream_predictions WHERE stream_id = $1',
            [streamId],
          )
        ).rows[0]?.n,
      ) === 10,
    { timeoutMs: 30_000, what: 'the stream predictions' },
  );
  const { rows } = await f.db.pool.query<{ record_key: string; v: number }>(
    `SELECT record_key, (primary_value #>> '{}')::float8 AS v FROM stream_predictions WHERE stream_id = $1`,
    [streamId],
  );
  const path = `${D}/streams/${streamId}/labels`;
  const bad = await f.send('POST', path, [
    { key: 'x', label: 1 },
    { key: 'y', label: 'long' },
  ]);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([
    '[1].label',
  ]);
  const missing = await f.send('POST', `${D}/streams/${uniqueId('none')}/labels`, [{ key: 'x', label: 1 }]);
  expect(missing.status).toBe(404);
  const res = await f.send(
    'POST',
    path,
    rows.map((r) => ({ key: r.record_key, label: 15 })),
  );
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ streamId, accepted: 10 });
  // The signal itself (as a producer sends it): a key sent twice keeps its last label (one write may hold both, and
  // the API's call above too), a malformed entry is dropped, a label of the wrong type is dropped by the activity.
  await f.temporal.client.workflow.getHandle(streamWorkflowId(streamId)).signal(labelsSignal, [
    { key: rows[0]?.record_key ?? '', label: 40 },
    { key: rows[0]?.record_key ?? '', label: 15 },
    { key: '', label: Number.NaN },
    { key: 'z', label: 'oops' },
  ]);
  const streamLabels = async () =>
    (
      await f.db.pool.query<{ record_key: string; label: number }>(
        "SELECT record_key, (label #>> '{}')::float8 AS label FROM labels WHERE source = 'stream' ORDER BY 1",
      )
    ).rows;
  let state: unknown;
  await waitFor(
    async () => {
      const now = await getStreamState(f.temporal.client, streamId);
      state = now;
      return now.labels === 13;
    },
    { timeoutMs: 20_000, what: 'the stream to write its labels' },
  ).catch(async (err: Error) => {
    const handle = f.temporal.client.workflow.getHandle(streamWorkflowId(streamId));
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const events = ((await handle.fetchHistory()).events ?? []).map((e) => JSON.stringify(e));
    throw new Error(
      `${err.message}; its state: ${JSON.stringify(state)}; pending: ${JSON.stringify(pending)}; history tail: ${events.slice(-8).join('\n')}`,
    );
  });
  const written = await streamLabels();
  // Both sides sorted here: ORDER BY follows the database's collation, which need not be JavaScript's code-unit order.
  expect(written.map((l) => l.record_key).sort()).toEqual(rows.map((r) => r.record_key).sort());
  expect(new Set(written.map((l) => l.label))).toEqual(new Set([15]));
  // The streaming figures now count these 10 labelled predictions too (beside the earlier test's 30).
  const stream = (await metrics('window=hour')).filter((r) => r.mode === 'streaming');
  expect(stream.reduce((n, r) => n + r.labelled, 0)).toBe(40);
});
