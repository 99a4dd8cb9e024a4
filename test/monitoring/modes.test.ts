/**
 * Acceptance of drift in every mode on real data (February 2021 from ../shared/data against ride-duration 2's
 * reference of January 2021): per mode, a window of real rides shows no drift and a window of the same rides with
 * every distance × 1.5 raises exactly one alert, one NOTIFY and one webhook delivery (its Idempotency-Key the
 * alert's key), however often the windows are computed again. Batch windows come from the runs themselves (each
 * partition's drift at the end of its run); online and stream windows from the monitoring workflow over the
 * predictions made in them. Also: the window's performance once labels arrive, on Prometheus.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { createApp } from '../../api/app.js';
import { BATCH_WORKFLOW } from '../../contracts/batch.js';
import {
  ALERTS_CHANNEL,
  MONITOR_WORKFLOW,
  PREDICTION_FIELD,
  type DriftWindow,
  type MonitoredMode,
  type MonitorResult,
} from '../../contracts/monitoring.js';
import { sendEvents } from '../../control/streams.js';
import { ingestParquetFile } from '../../data/ingest.js';
import { startTestWorker, TEST_API_KEY, uniqueId, waitFor, type TestWorker } from '../helpers.js';
import { startRolloutFixture, type RolloutFixture } from '../rollouts/fixture.js';

const FEB_2021 = path.resolve('..', 'shared', 'data', 'green_tripdata_2021-02.parquet');
const SAMPLE = 2000;

interface Ride {
  ride_id: string;
  PULocationID: number;
  DOLocationID: number;
  trip_distance: number;
  pickup_datetime: string;
  actual_duration: number;
}

let f: RolloutFixture;
let worker: TestWorker;
let listener: pg.Client;
let hook: http.Server;
const notices: { key: string; mode: string }[] = [];
/** Webhook deliveries by Idempotency-Key. */
const delivered = new Map<string, number>();

beforeAll(async () => {
  f = await startRolloutFixture();
  hook = http.createServer((req, res) => {
    const key = String(req.headers['idempotency-key'] ?? '');
    req.resume();
    req.on('end', () => {
      delivered.set(key, (delivered.get(key) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  // A worker whose activities deliver alerts to the receiver (the fixture's worker has no webhook).
  worker = await startTestWorker({
    activities: createActivities({
      pool: f.db.pool,
      scorer: f.deps.scorer,
      ...(f.deps.deployments ? { deployments: f.deps.deployments } : {}),
      webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`,
    }),
  });
  listener = new pg.Client(f.db.url);
  await listener.connect();
  listener.on('notification', (n) =>
    notices.push(JSON.parse(n.payload ?? '{}') as { key: string; mode: string }),
  );
  await listener.query(`LISTEN ${ALERTS_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await worker?.stop();
  await new Promise((resolve) => hook?.close(resolve));
  await f?.close();
});

/** A fixed sample of February's rides, as records (the model's fields, the key and the true duration). */
async function sampleRides(): Promise<Ride[]> {
  const { rows } = await f.db.pool.query<Ride>(
    `SELECT ride_id, pu_location_id AS "PULocationID", do_location_id AS "DOLocationID", trip_distance,
            to_char(pickup_datetime, 'YYYY-MM-DD"T"HH24:MI:SS') AS pickup_datetime, actual_duration
       FROM rides WHERE pickup_datetime >= '2021-02-01' AND pickup_datetime < '2021-03-01'
        AND pu_location_id BETWEEN 1 AND 999 AND do_location_id BETWEEN 1 AND 999
        AND trip_distance BETWEEN 0 AND 600 AND actual_duration IS NOT NULL
      ORDER BY md5(ride_id) LIMIT $1`,
    [SAMPLE],
  );
  return rows.map((r) => ({ ...r, trip_distance: Number(r.trip_distance) }));
}
const stretched = (rides: Ride[], tag: string) =>
  rides.map((r) => ({ ...r, ride_id: `${r.ride_id}-${tag}`, trip_distance: r.trip_distance * 1.5 }));
const record = ({ actual_duration: _, ...r }: Ride) => r;
const naive = (d: Date) => d.toISOString().slice(0, 23);

async function monitor(mode: MonitoredMode, from: string, to: string): Promise<DriftWindow[]> {
  const result = (await f.temporal.client.workflow.execute(MONITOR_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: uniqueId(`monitor-${mode}`),
    args: [{ deployment: 'ride-duration', from, to, modes: [mode] }],
  })) as MonitorResult;
  return result.windows;
}
const alertCount = async (mode: MonitoredMode) =>
  Number(
    (
      await f.db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM monitoring_alerts WHERE deployment = 'ride-duration' AND mode = $1",
        [mode],
      )
    ).rows[0]?.n,
  );

/** Exactly one alert, one NOTIFY and one webhook delivery for the drifted window; none for the plain one. */
async function expectOneAlert(mode: MonitoredMode, plain: DriftWindow, shifted: DriftWindow) {
  expect(plain.rows).toBeGreaterThan(SAMPLE / 2);
  expect(plain.drifted, JSON.stringify(plain.features)).toEqual([]);
  expect(plain.alert).toBeNull();
  expect(shifted.drifted).toContain('trip_distance');
  expect(shifted.drifted).not.toContain('PULocationID');
  expect(shifted.alert).toBe('raised');
  const key = shifted.alertKey ?? '';
  expect(key).toContain(`:${mode}:`);
  await waitFor(() => delivered.get(key) === 1 && notices.some((n) => n.key === key), {
    timeoutMs: 20_000,
    what: `the ${mode} alert's delivery and NOTIFY`,
  });
  expect(await alertCount(mode)).toBe(1);
  await waitFor(
    async () => {
      const r = await f.db.pool.query<{ webhook_status: string | null }>(
        'SELECT webhook_status FROM monitoring_alerts WHERE dedup_key = $1',
        [key],
      );
      return r.rows[0]?.webhook_status === 'delivered 204';
    },
    { timeoutMs: 10_000, what: 'the recorded delivery' },
  );
}

describe.runIf(existsSync(FEB_2021))(
  'February 2021 against the training month, per mode (../shared/data)',
  () => {
    let rides: Ride[] = [];
    beforeAll(async () => {
      await ingestParquetFile(f.db.pool, FEB_2021);
      rides = await sampleRides();
      expect(rides).toHaveLength(SAMPLE);
    });

    it('batch: each partition computes its window at the end of its run; the stretched day raises one alert', async () => {
      const next = (day: string) =>
        new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const run = (day: string) =>
        f.temporal.client.workflow.execute(BATCH_WORKFLOW, {
          taskQueue: worker.taskQueue,
          workflowId: uniqueId('batch-drift'),
          args: [
            {
              deployment: 'ride-duration',
              from: `${day}T00:00:00`,
              to: `${next(day)}T00:00:00`,
              notify: false,
            },
          ],
        });
      await f.db.pool.query(
        "UPDATE rides SET trip_distance = trip_distance * 1.5 WHERE pickup_datetime >= '2021-02-10' AND pickup_datetime < '2021-02-11'",
      );
      await run('2021-02-09');
      await run('2021-02-10');
      const windows = async () =>
        (
          await f.db.pool.query<{ result: DriftWindow }>(
            `SELECT result FROM drift_windows WHERE deployment = 'ride-duration' AND mode = 'batch'
            ORDER BY window_from`,
          )
        ).rows.map((r) => r.result);
      const [plain, shifted] = await windows();
      if (!plain || !shifted) throw new Error('two batch windows were expected');
      // The partition's own predictions are profiled too (the sink's rows of these runs).
      expect(plain.features.map((x) => x.field)).toContain(PREDICTION_FIELD);
      await expectOneAlert('batch', plain, shifted);
      // The monitoring workflow computing the same day again replaces it: no second alert, no second delivery.
      const again = await monitor('batch', '2021-02-10T00:00:00', '2021-02-11T00:00:00');
      expect(again[0]?.alert).toBe('already raised');
      expect(await alertCount('batch')).toBe(1);
      expect(delivered.get(shifted.alertKey ?? '')).toBe(1);
      expect(await windows()).toHaveLength(2);
    });

    it('online: the predictions made in a window, from the inputs they logged; labels give its performance on Prometheus', async () => {
      const logged = createApp({ ...f.deps, logAllPredictions: true });
      const predict = async (records: Ride[]) => {
        for (let i = 0; i < records.length; i += 500) {
          const res = await logged.request('/models/ride-duration/predict', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
            body: JSON.stringify(records.slice(i, i + 500).map(record)),
          });
          expect(res.status).toBe(200);
        }
        await f.log.flush();
      };
      const t0 = naive(new Date());
      await predict(rides);
      const t1 = naive(new Date());
      await predict(stretched(rides, 'online'));
      const t2 = naive(new Date(Date.now() + 1));
      const [plain] = await monitor('online', t0, t1);
      const [shifted] = await monitor('online', t1, t2);
      if (!plain || !shifted) throw new Error('two online windows were expected');
      expect(plain.rows).toBe(SAMPLE);
      await expectOneAlert('online', plain, shifted);
      expect(plain.performance).toBeNull();

      const res = await f.send(
        'POST',
        '/deployments/ride-duration/feedback',
        rides.map((r) => ({ key: r.ride_id, label: r.actual_duration })),
      );
      expect(res.status).toBe(200);
      const [labelled] = await monitor('online', t0, t1);
      expect(labelled?.performance?.labelled).toBe(SAMPLE);
      const { rows } = await f.db.pool.query<{ mae: number }>(
        `SELECT avg(abs(p.prediction - (l.label #>> '{}')::float8)) AS mae FROM online_predictions p
         JOIN labels l ON l.deployment = p.deployment AND l.record_key = p.record_key
        WHERE p.deployment = 'ride-duration' AND p.created_at >= $1::timestamp AT TIME ZONE 'UTC'
          AND p.created_at < $2::timestamp AT TIME ZONE 'UTC'`,
        [t0, t1],
      );
      expect(labelled?.performance?.mae).toBeCloseTo(rows[0]?.mae ?? NaN, 9);
      const text = await (await f.app.request('/metrics')).text();
      const mae =
        /model_performance\{deployment="ride-duration",mode="online",version="2",metric="mae"\} ([\d.e-]+)/.exec(
          text,
        );
      expect(Number(mae?.[1])).toBeCloseTo(rows[0]?.mae ?? NaN, 6);
      expect(text).toContain(
        'model_performance{deployment="ride-duration",mode="online",version="2",metric="labelled"} 2000',
      );
      expect(await alertCount('online')).toBe(1);
    });

    it(
      'streaming: the predictions a stream made in a window, from the records it stored',
      { timeout: 180_000 },
      async () => {
        const streamId = uniqueId('drift');
        const events = (list: Ride[]) =>
          list.map((r) => ({ event_id: r.ride_id, key: r.ride_id, record: record(r) }));
        const persisted = (n: number) =>
          waitFor(
            async () =>
              Number(
                (
                  await f.db.pool.query<{ n: string }>(
                    'SELECT count(*) AS n FROM stream_predictions WHERE stream_id = $1',
                    [streamId],
                  )
                ).rows[0]?.n,
              ) === n,
            { timeoutMs: 120_000, what: `${n} stream predictions` },
          );
        const t0 = naive(new Date());
        await sendEvents(f.temporal.client, f.deps.config, streamId, events(rides), {
          deployment: 'ride-duration',
        });
        await persisted(SAMPLE);
        const t1 = naive(new Date());
        await sendEvents(f.temporal.client, f.deps.config, streamId, events(stretched(rides, 'stream')), {
          deployment: 'ride-duration',
        });
        await persisted(2 * SAMPLE);
        const t2 = naive(new Date(Date.now() + 1));
        const [plain] = await monitor('streaming', t0, t1);
        const [shifted] = await monitor('streaming', t1, t2);
        if (!plain || !shifted) throw new Error('two stream windows were expected');
        expect(plain.rows).toBe(SAMPLE);
        await expectOneAlert('streaming', plain, shifted);
        expect((await monitor('streaming', t1, t2))[0]?.alert).toBe('already raised');
        expect(delivered.get(shifted.alertKey ?? '')).toBe(1);
        expect(notices.filter((n) => n.mode === 'streaming')).toHaveLength(1);
      },
    );
  },
);

it('a deployment mode without predictions in the window is skipped with its reason', async () => {
  const result = (await f.temporal.client.workflow.execute(MONITOR_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: uniqueId('monitor-empty'),
    args: [
      {
        deployment: 'ride-duration',
        from: '2040-01-01T00:00:00',
        to: '2040-01-02T00:00:00',
        modes: ['online'],
      },
    ],
  })) as MonitorResult;
  expect(result.windows).toEqual([]);
  expect(result.skipped).toEqual(['online: no predictions in the window']);
});
