/**
 * SQL injection attempts through every request parameter that reaches SQL are harmless: they are refused or
 * stored as plain text, and every table is intact afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIntoDb } from '../../data/generate-db.js';
import {
  TEST_API_KEY,
  createTestApp,
  startTestWorker,
  uniqueId,
  type TestApp,
  type TestWorker,
} from '../helpers.js';

const PAYLOADS = [
  "'; DROP TABLE rides; --",
  "1' OR '1'='1",
  'x"); DELETE FROM model_aliases; --',
  "0; UPDATE model_aliases SET version = '1'",
  "' UNION SELECT ride_id FROM rides --",
  '$1',
  '\\x00',
];

interface Snapshot {
  tables: string[];
  rides: number;
  aliases: { model_name: string; alias: string; version: string }[];
}

describe('SQL injection through request parameters', () => {
  let t: TestApp;
  let worker: TestWorker;
  let before: Snapshot;

  const snapshot = async (): Promise<Snapshot> => {
    const tables = await t.db.pool.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    const rides = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM rides');
    const aliases = await t.db.pool.query<Snapshot['aliases'][number]>(
      'SELECT model_name, alias, version FROM model_aliases ORDER BY model_name, alias',
    );
    return {
      tables: tables.rows.map((r) => r.tablename),
      rides: rides.rows[0]?.n ?? -1,
      aliases: aliases.rows,
    };
  };

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    t.app.request(path, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, ...headers },
    });

  beforeAll(async () => {
    const taskQueue = uniqueId('tq');
    t = await createTestApp({ env: { PREDICTION_LOG: 'on' }, taskQueue });
    worker = await startTestWorker({ pool: t.db.pool, scorer: t.scorer, taskQueue });
    await generateIntoDb(t.db.pool, { month: '2024-05', rows: 500, seed: 3 });
    before = await snapshot();
    expect(before.rides).toBe(500);
    expect(before.tables).toEqual(
      expect.arrayContaining(['rides', 'predictions', 'model_aliases', 'stream_predictions']),
    );
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  it('leaves every table intact, whatever the parameters carry', async () => {
    const statuses: number[] = [];
    for (const p of PAYLOADS) {
      const e = encodeURIComponent(p);
      const responses: [string, Response][] = [];
      const attempt = async (label: string, res: Response | Promise<Response>) =>
        responses.push([label, await res]);
      await attempt('alias name', post(`/models/${e}/aliases/production`, { version: '2' }));
      await attempt('alias', post(`/models/ride-duration/aliases/${e}`, { version: '2' }));
      await attempt('alias version', post('/models/ride-duration/aliases/production', { version: p }));
      await attempt(
        'model query',
        post(`/predict?model=${e}`, { PULocationID: 10, DOLocationID: 50, trip_distance: 4 }),
      );
      await attempt('ride field', post('/predict', { PULocationID: p, DOLocationID: 50, trip_distance: 4 }));
      await attempt(
        'pickup time',
        post('/predict', { PULocationID: 10, DOLocationID: 50, trip_distance: 4, pickup_datetime: p }),
      );
      await attempt(
        'request id',
        post('/predict', { PULocationID: 10, DOLocationID: 50, trip_distance: 4 }, { 'x-request-id': p }),
      );
      const event = { ride: { PULocationID: 1, DOLocationID: 2, trip_distance: 1 }, ride_id: 1 };
      await attempt('stream id', post(`/streams/${e}/events`, event));
      await attempt('event id', post('/streams/injection/events', { ...event, ride_id: p, event_id: p }));
      await attempt('dead letter id', post(`/streams/injection/dead-letters/${e}/replay`, {}));
      await attempt('batch from', post('/batch-runs', { from: p, to: '2024-05-02T00:00:00' }));
      await attempt(
        'batch model',
        post('/batch-runs', { from: '2024-05-01T00:00:00', to: '2024-05-02T00:00:00', model: p }),
      );
      await attempt(
        'batch run id',
        t.app.request(`/batch-runs/${e}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } }),
      );
      await attempt(
        'schedule id',
        post(`/schedules/${e}/backfill`, { from: '2024-05-01', to: '2024-05-02' }),
      );
      const sse = await t.app.request('/streams/injection/predictions', {
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'last-event-id': p, accept: 'text/event-stream' },
      });
      await sse.body?.cancel();
      responses.push(['last-event-id', sse]);
      for (const [label, res] of responses) {
        statuses.push(res.status);
        const text = label === 'last-event-id' ? '' : await res.text();
        expect(res.status, `${label} with ${p}: ${text}`).toBeLessThan(500);
      }
    }
    expect(statuses.some((s) => s >= 400)).toBe(true);
    const after = await snapshot();
    expect(after).toEqual(before);

    // A prediction logged with a hostile request id stored it as text, not as SQL.
    await t.deps.predictionLog?.flush();
    const logged = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM online_predictions');
    expect(logged.rows[0]?.n ?? 0).toBeGreaterThan(0);
  });
});
