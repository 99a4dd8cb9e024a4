/** /predict and /predict/batch on the real app, scorer, Postgres aliases and Temporal. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_API_KEY, type TestApp } from '../helpers.js';

const ride = { PULocationID: 10, DOLocationID: 50, trip_distance: 40 };
const post = async (t: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) =>
  t.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /predict', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { BODY_LIMIT_BYTES: '20000', PREDICT_MAX_BATCH: '50' } });
  });
  afterAll(async () => t?.close());

  it('scores the course example with the production model (version 2)', async () => {
    const pickup = '2021-02-02T09:00:30';
    const res = await post(t, '/predict', { ...ride, lpep_pickup_datetime: pickup });
    const direct = await t.scorer.score('ride-duration@2', [{ ...ride, pickup_datetime: pickup }]);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({
      duration: direct.predictions[0],
      model_name: 'ride-duration',
      model_version: '2',
    });
  });

  it('takes exactly the three course fields, pickup time defaulting to now in New York', async () => {
    const res = await post(t, '/predict', ride);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { duration: number };
    expect(Object.keys(body).sort()).toEqual(['duration', 'model_name', 'model_version']);
    expect(body.duration).toBeGreaterThan(0);
  });

  it('selects another model with ?model= and honours a valid X-Request-Id', async () => {
    const res = await post(t, '/predict?model=ride-duration@staging', ride, { 'x-request-id': 'abc-123' });
    const direct = await t.scorer.score('ride-duration@1', [ride]);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    expect(await res.json()).toEqual({
      duration: direct.predictions[0],
      model_name: 'ride-duration',
      model_version: '1',
    });
    const bad = await post(t, '/predict', ride, { 'x-request-id': 'no spaces allowed!' });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 400 problem+json naming the field and the reason', async () => {
    const res = await post(t, '/predict', { PULocationID: 0, trip_distance: 'far' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Invalid request',
      status: 400,
      detail:
        'PULocationID: must be from 1 to 999; DOLocationID: is required; trip_distance: must be a number',
      errors: [
        { field: 'PULocationID', message: 'must be from 1 to 999' },
        { field: 'DOLocationID', message: 'is required' },
        { field: 'trip_distance', message: 'must be a number' },
      ],
    });
    const when = await post(t, '/predict', { ...ride, lpep_pickup_datetime: '2021-02-30T10:00:00' });
    expect(await when.json()).toMatchObject({
      status: 400,
      errors: [{ field: 'lpep_pickup_datetime', message: 'is not a valid calendar date' }],
    });
  });

  it('answers 404 for an unknown model, 415 for a wrong content type, 400 for broken JSON, 413 above the body limit', async () => {
    const unknown = await post(t, '/predict?model=ride-duration@9', ride);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      title: 'Not found',
      detail: expect.stringContaining('ride-duration@9') as unknown,
    });
    const text = await t.app.request('/predict', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toEqual({
      type: 'about:blank',
      title: 'Unsupported Media Type',
      status: 415,
      detail: 'Unsupported Media Type',
    });
    const broken = await post(t, '/predict', '{"PULocationID": ');
    expect(broken.status).toBe(400);
    const big = await post(t, '/predict', { ...ride, padding: 'x'.repeat(30_000) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      type: 'about:blank',
      title: 'Payload too large',
      status: 413,
      detail: 'the request body is larger than 20000 bytes',
    });
  });

  it('unknown routes answer 404 problem+json', async () => {
    const res = await t.app.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Not found',
      status: 404,
      detail: 'No route for GET /nope',
    });
  });
});

describe('POST /predict/batch', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PREDICT_MAX_BATCH: '50' } });
  });
  afterAll(async () => t?.close());

  it('scores valid rides and names the field of each invalid one', async () => {
    const rides = [
      { ...ride, lpep_pickup_datetime: '2021-02-02T09:00:30' },
      { ...ride, trip_distance: -1 },
      { PULocationID: 1, DOLocationID: 2, trip_distance: 1.5, pickup_datetime: '2021-02-03T18:10:00' },
      'not a ride',
    ];
    const res = await post(t, '/predict/batch', { rides });
    const direct = await t.scorer.score('ride-duration@2', [
      { ...ride, pickup_datetime: '2021-02-02T09:00:30' },
      { PULocationID: 1, DOLocationID: 2, trip_distance: 1.5, pickup_datetime: '2021-02-03T18:10:00' },
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model_name: 'ride-duration',
      model_version: '2',
      scored: 2,
      rejected: 2,
      predictions: [
        { duration: direct.predictions[0] },
        { duration: null, error: { field: 'trip_distance', message: 'must be from 0 to 1000 miles' } },
        { duration: direct.predictions[1] },
        {
          duration: null,
          error: { field: '(body)', message: 'Invalid input: expected object, received string' },
        },
      ],
    });
  });

  it('answers 413 above PREDICT_MAX_BATCH rides and 400 for an empty list', async () => {
    const many = await post(t, '/predict/batch', { rides: Array.from({ length: 51 }, () => ride) });
    expect(many.status).toBe(413);
    expect(await many.json()).toEqual({
      type: 'about:blank',
      title: 'Payload too large',
      status: 413,
      detail: 'rides holds 51 rides; at most 50 per call',
    });
    const empty = await post(t, '/predict/batch', { rides: [] });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({
      errors: [{ field: 'rides', message: 'must hold at least one ride' }],
    });
  });
});

describe('a full batching queue', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { BATCH_MAX_QUEUE: '1' } });
  });
  afterAll(async () => t?.close());

  it('answers 503 with Retry-After instead of queueing without bound', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(t, '/predict', ride)));
    const full = answers.filter((r) => r.status === 503);
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(2);
    expect(full.length).toBeGreaterThan(0);
    expect(full[0]?.headers.get('retry-after')).toBe('1');
    expect(await full[0]?.json()).toEqual({
      type: 'about:blank',
      title: 'Service unavailable',
      status: 503,
      detail: 'ride-duration@2 has 1 rows waiting (limit 1); retry shortly',
    });
  });
});

describe('REQUIRE_API_KEY_FOR_PREDICT=on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { REQUIRE_API_KEY_FOR_PREDICT: 'on' } });
  });
  afterAll(async () => t?.close());

  it('protects the scoring routes and leaves metadata open', async () => {
    expect((await post(t, '/predict', ride)).status).toBe(401);
    expect((await post(t, '/predict/batch', { rides: [ride] })).status).toBe(401);
    const v2 = await post(t, '/v2/models/ride-duration/infer', { inputs: [] });
    expect(v2.status).toBe(401);
    expect(await v2.json()).toEqual({
      error: 'Missing or invalid API key (send Authorization: Bearer <API_KEY>)',
    });
    expect((await post(t, '/predict', ride, { authorization: `Bearer ${TEST_API_KEY}` })).status).toBe(200);
    expect((await t.app.request('/v2/models/ride-duration')).status).toBe(200);
  });
});
