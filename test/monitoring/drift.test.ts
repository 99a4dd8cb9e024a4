/**
 * Drift of the batch source against a card's reference profile, on real Postgres: no drift on a month like the
 * training one, drift on a window whose distances are 1.5x, exactly one alert (and one NOTIFY) per drifted window
 * however often it is computed, a 400 naming the field without a reference. On the real February 2021 against
 * ride-duration 2's committed reference (January 2021) when ../shared/data has it; on a generated month always.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeDrift, profileDeployment } from '../../activities/drift.js';
import { ALERTS_CHANNEL, type DriftWindow } from '../../contracts/monitoring.js';
import { generateIntoDb } from '../../data/generate-db.js';
import { ingestParquetFile } from '../../data/ingest.js';
import { modelOf } from '../../platform/deployments.js';
import type { LoadedModel } from '../../scoring/load-model.js';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { ensureMonitoringSchedule } from '../../control/monitoring.js';
import { uniqueId, waitFor } from '../helpers.js';
import { startRolloutFixture, type RolloutFixture } from '../rollouts/fixture.js';

const FEB_2021 = path.resolve('..', 'shared', 'data', 'green_tripdata_2021-02.parquet');

let f: RolloutFixture;
let listener: pg.Client;
const notices: string[] = [];
beforeAll(async () => {
  f = await startRolloutFixture();
  listener = new pg.Client(f.db.url);
  await listener.connect();
  listener.on('notification', (n) => notices.push(n.payload ?? ''));
  await listener.query(`LISTEN ${ALERTS_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await f?.close();
});

const drift = async (body: Record<string, string>): Promise<DriftWindow> => {
  const res = await f.send('POST', '/deployments/ride-duration/drift', body);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as DriftWindow;
};
const alertsFor = async (from: string) =>
  Number(
    (
      await f.db.pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM monitoring_alerts WHERE deployment = $1 AND window_from = $2',
        ['ride-duration', from],
      )
    ).rows[0]?.n,
  );
const stretch = (from: string, to: string) =>
  f.db.pool.query(
    'UPDATE rides SET trip_distance = trip_distance * 1.5 WHERE pickup_datetime >= $1 AND pickup_datetime < $2',
    [from, to],
  );

it('refuses a version without a reference profile, naming the field', async () => {
  const res = await f.send('POST', '/deployments/ride-duration/drift', {
    version: '1',
    from: '2021-02-01T00:00:00',
    to: '2021-02-02T00:00:00',
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([
    'model',
  ]);
  const open = await f.send('POST', '/deployments/ride-duration/drift', { from: '2021-02-01T00:00:00' });
  expect(open.status).toBe(400);
});

describe.runIf(existsSync(FEB_2021))('February 2021 against the training month (../shared/data)', () => {
  it('shows no drift on the real month, and one alert for a week whose distances are 1.5x', async () => {
    await ingestParquetFile(f.db.pool, FEB_2021);
    const month = await drift({ from: '2021-02-01T00:00:00', to: '2021-03-01T00:00:00' });
    expect(month.rows).toBeGreaterThan(60_000);
    expect(month.drifted).toEqual([]);
    expect(month.alert).toBeNull();
    for (const feature of month.features) expect(feature.psi).toBeLessThan(0.02);

    const week = { from: '2021-02-08T00:00:00', to: '2021-02-15T00:00:00' };
    await stretch(week.from, week.to);
    const shifted = await drift(week);
    expect(shifted.drifted).toEqual(['trip_distance']);
    expect(shifted.alert).toBe('raised');
    expect((await drift(week)).alert).toBe('already raised');
    expect(await alertsFor(week.from)).toBe(1);
    const other = await drift({ from: '2021-02-15T00:00:00', to: '2021-02-22T00:00:00' });
    expect(other.drifted).toEqual([]);
    await waitFor(() => notices.some((n) => n.includes(week.from)), {
      timeoutMs: 5000,
      what: 'the alert NOTIFY',
    });
    expect(notices.filter((n) => n.includes('2021-02')).length).toBe(1);
    const listed = (await (await f.send('GET', '/deployments/ride-duration/drift')).json()) as {
      windows: DriftWindow[];
      alerts: unknown[];
    };
    expect(listed.windows.map((w) => w.from).sort()).toEqual([
      '2021-02-01T00:00:00',
      week.from,
      '2021-02-15T00:00:00',
    ]);
    expect(listed.alerts).toHaveLength(1);
  });
});

it('a generated month against a reference profiled from its first half: drift only where distances were stretched', async () => {
  await generateIntoDb(f.db.pool, { month: '2030-07', rows: 6000, seed: 9 });
  const deployment = f.deps.deployments?.get('ride-duration');
  const served = deployment ? modelOf(f.deps.scorer, deployment.spec) : undefined;
  if (!deployment || !served || typeof served === 'string') throw new Error('no ride-duration deployment');
  const reference = await profileDeployment(
    f.db.pool,
    deployment,
    served,
    '2030-07-01T00:00:00',
    '2030-07-16T00:00:00',
  );
  expect(reference.rows).toBeGreaterThan(2000);
  const model: LoadedModel = {
    ...served,
    card: { ...served.card, monitoring: { reference: { ...reference } } },
  };
  const same = await computeDrift(f.db.pool, deployment, model, {
    from: '2030-07-16T00:00:00',
    to: '2030-08-01T00:00:00',
  });
  expect(same.drifted).toEqual([]);
  const days = { from: '2030-07-20T00:00:00', to: '2030-07-27T00:00:00' };
  await stretch(days.from, days.to);
  const shifted = await computeDrift(f.db.pool, deployment, model, days);
  expect(shifted.drifted).toContain('trip_distance');
  expect(shifted.drifted).not.toContain('PULocationID');
  expect(shifted.alert).toBe('raised');
  expect((await computeDrift(f.db.pool, deployment, model, days)).alert).toBe('already raised');
  expect(await alertsFor(days.from)).toBe(1);
});

it('the monitoring schedule computes one window per day when backfilled; computing one again replaces it, never a second alert', async () => {
  const deployment = f.deps.deployments?.get('ride-duration');
  if (!deployment) throw new Error('no ride-duration deployment');
  const spec = {
    ...deployment.spec,
    monitoring: {
      psi_threshold: 0.1,
      schedule: { id: uniqueId('monitor'), cron: '0 0 * * *', time_zone: 'UTC', paused: true },
    },
  };
  const scheduleId = await ensureMonitoringSchedule(f.temporal.client, f.worker.taskQueue, spec);
  if (!scheduleId) throw new Error('no schedule');
  // A worker that starts again updates the schedule it finds (its paused state kept).
  expect(await ensureMonitoringSchedule(f.temporal.client, f.worker.taskQueue, spec)).toBe(scheduleId);
  expect((await f.temporal.client.schedule.getHandle(scheduleId).describe()).state.paused).toBe(true);
  const handle = f.temporal.client.schedule.getHandle(scheduleId);
  const days = ['2030-07-02T00:00:00', '2030-07-03T00:00:00', '2030-07-04T00:00:00'];
  const windows = async () =>
    (
      await f.db.pool.query<{ window_from: string; rows: number; computed_at: Date }>(
        `SELECT window_from, (result ->> 'rows')::int AS rows, computed_at FROM drift_windows
          WHERE deployment = 'ride-duration' AND window_from = ANY($1) ORDER BY window_from`,
        [days],
      )
    ).rows;
  const backfill = () =>
    handle.backfill([
      {
        start: new Date('2030-07-03T00:00:00Z'),
        end: new Date('2030-07-05T00:00:00Z'),
        overlap: ScheduleOverlapPolicy.ALLOW_ALL,
      },
    ]);
  await backfill();
  await waitFor(async () => (await windows()).length === 3, {
    timeoutMs: 60_000,
    what: 'three daily windows',
  });
  const first = await windows();
  expect(first.map((w) => w.window_from)).toEqual(days);
  for (const w of first) expect(w.rows).toBeGreaterThan(0);
  const alerts = await Promise.all(days.map(alertsFor));
  for (const n of alerts) expect(n).toBeLessThanOrEqual(1);
  // Computing a window again replaces it: the same three windows, newer figures, no second alert.
  await drift({ from: days[1] ?? '', to: days[2] ?? '' });
  const again = await windows();
  expect(again.map((w) => w.window_from)).toEqual(days);
  expect(again[1]?.computed_at.getTime()).toBeGreaterThan(first[1]?.computed_at.getTime() ?? Infinity);
  expect(await Promise.all(days.map(alertsFor))).toEqual(alerts);
  await handle.delete();
});

it('Prometheus reads the latest PSI per field and the alerts raised from /metrics', async () => {
  const text = await (await f.app.request('/metrics')).text();
  const { rows } = await f.db.pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM monitoring_alerts WHERE deployment = 'ride-duration' AND kind = 'drift'",
  );
  expect(Number(rows[0]?.n)).toBeGreaterThan(0);
  expect(text).toContain(`monitoring_alerts{deployment="ride-duration",kind="drift"} ${Number(rows[0]?.n)}`);
  const psi =
    /model_drift_psi\{deployment="ride-duration",mode="batch",version="2",feature="trip_distance"\} ([\d.e-]+)/.exec(
      text,
    );
  expect(psi).not.toBeNull();
  const { rows: latest } = await f.db.pool.query<{ psi: number }>(
    `SELECT (f ->> 'psi')::float8 AS psi FROM drift_windows, jsonb_array_elements(result -> 'features') AS f
      WHERE deployment = 'ride-duration' AND mode = 'batch' AND version = '2' AND f ->> 'field' = 'trip_distance'
      ORDER BY window_from DESC LIMIT 1`,
  );
  expect(Number(psi?.[1])).toBeCloseTo(latest[0]?.psi ?? NaN, 9);
});
