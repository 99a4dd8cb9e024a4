/** OpenAPI document, docs page, metrics, health/readiness, and the online prediction log on the real app. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers.js';

const ride = { PULocationID: 10, DOLocationID: 50, trip_distance: 40 };
const post = async (t: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) =>
  t.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('service metadata and operations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('publishes an OpenAPI 3.1 document generated from the route schemas, and a docs page', async () => {
    const res = await t.app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/batch-runs',
      '/batch-runs/{id}',
      '/batch-runs/{id}/cancel',
      '/deployments',
      '/deployments/{deployment}/streams/{streamId}/events',
      '/deployments/{deployment}/streams/{streamId}/labels',
      '/deployments/{name}',
      '/deployments/{name}/batch-comparisons',
      '/deployments/{name}/batch-shadow',
      '/deployments/{name}/drift',
      '/deployments/{name}/feedback',
      '/deployments/{name}/history',
      '/deployments/{name}/metrics',
      '/deployments/{name}/retraining',
      '/deployments/{name}/retraining/{runId}',
      '/deployments/{name}/rollouts',
      '/deployments/{name}/rollouts/{id}',
      '/deployments/{name}/rollouts/{id}/{action}',
      '/deployments/{name}/routing',
      '/health',
      '/models',
      '/models/{name}/aliases/{alias}',
      '/models/{name}/predict',
      '/predict',
      '/predict/batch',
      '/ready',
      '/schedules',
      '/schedules/{id}/backfill',
      '/schedules/{id}/pause',
      '/schedules/{id}/trigger',
      '/schedules/{id}/unpause',
      '/streams/{streamId}',
      '/streams/{streamId}/dead-letters/{eventId}/replay',
      '/streams/{streamId}/events',
      '/streams/{streamId}/predictions',
      '/v2',
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/{name}',
      '/v2/models/{name}/infer',
      '/v2/models/{name}/ready',
      '/v2/models/{name}/versions/{version}',
      '/v2/models/{name}/versions/{version}/infer',
      '/v2/models/{name}/versions/{version}/ready',
    ]);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Ride', 'Prediction', 'Problem', 'InferRequest', 'RideEvent']),
    );
    const docs = await t.app.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('SwaggerUIBundle');
  });

  it('answers /health and /ready (Postgres, Temporal, production models), and not ready while shutting down', async () => {
    expect(await (await t.app.request('/health')).json()).toEqual({ status: 'ok' });
    const ready = await t.app.request('/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      shuttingDown: false,
      dependencies: {
        postgres: { ok: true },
        temporal: { ok: true },
        models: { ok: true, production: ['penguin-species@1', 'ride-duration@2'] },
      },
    });
    t.deps.lifecycle.shuttingDown = true;
    try {
      const down = await t.app.request('/ready');
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'not ready', shuttingDown: true });
    } finally {
      t.deps.lifecycle.shuttingDown = false;
    }
  });

  it('exports request, batch, queue, prediction and process metrics on a per-app registry', async () => {
    await post(t, '/predict', ride);
    await post(t, '/predict', { ...ride, trip_distance: -5 });
    const text = await (await t.app.request('/metrics')).text();
    expect(text).toContain('http_requests_total{method="POST",route="/predict",status="200"} 1');
    expect(text).toContain('http_requests_total{method="POST",route="/predict",status="400"} 1');
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0\.5",method="POST",route="\/predict",status="200"\} 1/,
    );
    expect(text).toContain('inference_batch_rows_count{model="ride-duration",version="2"} 1');
    expect(text).toContain('predictions_total{model="ride-duration",version="2",route="/predict"} 1');
    expect(text).toContain('inference_queue_rows{model="ride-duration",version="2"} 0');
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

describe('PREDICTION_LOG=on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PREDICTION_LOG: 'on' } });
  });
  afterAll(async () => t?.close());

  it('logs every online prediction asynchronously and drops nothing on close', async () => {
    const one = await post(
      t,
      '/predict',
      { ...ride, lpep_pickup_datetime: '2021-02-02T09:00:30' },
      { 'x-request-id': 'log-1' },
    );
    const { duration } = (await one.json()) as { duration: number };
    await post(
      t,
      '/predict/batch',
      { rides: [ride, { ...ride, PULocationID: 0 }, ride] },
      { 'x-request-id': 'log-2' },
    );
    const bursts = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post(t, '/predict', ride, { 'x-request-id': `burst-${i}` })),
    );
    expect(bursts.every((r) => r.status === 200)).toBe(true);
    await t.deps.predictionLog?.close();
    expect(t.deps.predictionLog?.dropped()).toBe(0);

    const { rows } = await t.db.pool.query<{
      request_id: string;
      row_index: number;
      route: string;
      version: string;
      features: unknown;
      prediction: number;
      latency_ms: number;
    }>(
      `SELECT request_id, row_index, route, version, features, prediction, latency_ms
         FROM online_predictions ORDER BY request_id, row_index`,
    );
    expect(rows).toHaveLength(1 + 2 + 50);
    const first = rows.find((r) => r.request_id === 'log-1');
    expect(first).toMatchObject({
      row_index: 0,
      route: '/predict',
      version: '2',
      features: { ...ride, pickup_datetime: '2021-02-02T09:00:30' },
      prediction: duration,
    });
    expect(first?.latency_ms).toBeGreaterThan(0);
    expect(rows.filter((r) => r.request_id === 'log-2').map((r) => r.row_index)).toEqual([0, 2]);
    // The log's own counts in GET /metrics: what an operator alerts on when rows are lost.
    const text = await (await t.app.request('/metrics')).text();
    expect(text).toContain(`prediction_log_rows{state="written"} ${rows.length}`);
    expect(text).toContain('prediction_log_rows{state="dropped"} 0');
    expect(text).toContain('prediction_log_rows{state="pending"} 0');
  });
});
