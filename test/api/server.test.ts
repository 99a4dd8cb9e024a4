/**
 * The real server over real HTTP: graceful shutdown of the `api/server.ts` process (SIGTERM mid-request), and
 * concurrent /predict load that must be batched, exact, and lose nothing across an alias switch.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  createTestApp,
  createTestDatabase,
  TEST_API_KEY,
  waitFor,
  type TestApp,
  type TestDatabase,
} from '../helpers.js';
import { spawnApi, type ApiProcess } from './api-process.js';

const ride = {
  PULocationID: 10,
  DOLocationID: 50,
  trip_distance: 40,
  lpep_pickup_datetime: '2021-02-02T09:00:30',
};

describe('api/server.ts process', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('on SIGTERM turns unready, refuses new connections, finishes the in-flight request, flushes the log, exits 0', async () => {
    const api = await spawnApi({
      databaseUrl: db.url,
      temporalAddress: inject('temporalAddress'),
      env: { PREDICTION_LOG: 'on' },
    });
    const body = JSON.stringify(ride);
    // A slow request: headers now (the server's `100 Continue` proves it parsed them), part of the body, then
    // SIGTERM, and the rest only once the listener refuses new connections. Each step waits on its event.
    let req: http.ClientRequest | undefined;
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req = http.request(
        `${api.url}/predict`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-request-id': 'in-flight',
            expect: '100-continue',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
    });
    if (!req) throw new Error('no request');
    const inFlight = req;
    const accepted = new Promise<void>((resolve) => inFlight.once('continue', () => resolve()));
    inFlight.flushHeaders();
    await accepted;
    inFlight.write(body.slice(0, 20));
    api.process.child.kill('SIGTERM');
    let refused = '';
    await waitFor(
      async () => {
        refused = await fetch(`${api.url}/health`).then(
          (res) => `answered ${res.status}`,
          (err: Error) => (err.cause as { code?: string } | undefined)?.code ?? err.message,
        );
        return refused === 'ECONNREFUSED';
      },
      { timeoutMs: 10_000, what: 'the listener to refuse new connections after SIGTERM' },
    );
    inFlight.end(body.slice(20));
    const answer = await response;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ model_name: 'ride-duration', model_version: '2' });
    expect(refused).toBe('ECONNREFUSED');
    expect(await api.process.exited).toBe(0);
    expect(api.lines.some((l) => l.includes('API stopped'))).toBe(true);
    const { rows } = await db.pool.query('SELECT request_id FROM online_predictions');
    expect(rows).toEqual([{ request_id: 'in-flight' }]);
  });
});

describe('real HTTP server process under concurrent load', () => {
  let t: TestApp;
  let api: ApiProcess;
  let url: string;
  beforeAll(async () => {
    t = await createTestApp(); // its database, and a scorer in this process for the direct outputs
    api = await spawnApi({ databaseUrl: t.db.url, temporalAddress: inject('temporalAddress') });
    url = api.url;
  });
  afterAll(async () => {
    await api?.process.stop();
    await t?.close();
  });

  const rides = Array.from({ length: 400 }, (_, i) => ({
    PULocationID: 1 + (i % 265),
    DOLocationID: 1 + ((i * 7) % 265),
    trip_distance: (i % 50) / 3,
    lpep_pickup_datetime: `2021-02-0${1 + (i % 7)}T${String(i % 24).padStart(2, '0')}:15:00`,
  }));
  const predict = (r: (typeof rides)[number]) =>
    fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(r),
    }).then(async (res) => ({
      status: res.status,
      body: (await res.json()) as { duration: number; model_version: string },
    }));
  const direct = async (version: string) =>
    (
      await t.scorer.score(
        `ride-duration@${version}`,
        rides.map((r) => ({ ...r, pickup_datetime: r.lpep_pickup_datetime })),
      )
    ).predictions;

  it('batches concurrent requests and every answer equals the scorer’s direct output', async () => {
    const answers = await Promise.all([...rides, ...rides].map(predict));
    const expected = await direct('2');
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(answers.map((a) => a.body.duration)).toEqual([...expected, ...expected]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const sum = Number(
      /inference_batch_rows_sum\{model="ride-duration",version="2"\} (\d+)/.exec(metrics)?.[1],
    );
    const count = Number(
      /inference_batch_rows_count\{model="ride-duration",version="2"\} (\d+)/.exec(metrics)?.[1],
    );
    expect(sum).toBe(800);
    expect(count).toBeLessThan(800); // at least one scoring call carried several requests
  });

  it('loses no request while the production alias moves under load', async () => {
    const v1 = await direct('1');
    const v2 = await direct('2');
    // 16 clients cycle through the rides until the alias has moved three times (1, 2, 1); each move waits for
    // 100 more answers, so it lands in the middle of the traffic. Every request and every move is timed.
    const answers: {
      i: number;
      start: number;
      end: number;
      status: number;
      version: string;
      duration: number;
    }[] = [];
    let moving = true;
    let next = 0;
    const client = async () => {
      while (moving) {
        const i = next++ % rides.length;
        const start = performance.now();
        const a = await predict(rides[i] ?? ride);
        answers.push({
          i,
          start,
          end: performance.now(),
          status: a.status,
          ...a.body,
          version: a.body.model_version,
        });
      }
    };
    const clients = Array.from({ length: 16 }, client);
    const moves: { start: number; end: number }[] = [];
    try {
      for (const version of ['1', '2', '1']) {
        const before = answers.length;
        await waitFor(() => answers.length >= before + 100, {
          timeoutMs: 30_000,
          what: '100 answers between moves',
        });
        const start = performance.now();
        const res = await fetch(`${url}/models/ride-duration/aliases/production`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
          body: JSON.stringify({ version }),
        });
        moves.push({ start, end: performance.now() });
        expect(res.status).toBe(200);
      }
    } finally {
      moving = false;
      await Promise.all(clients);
    }
    // Requests were in flight during every move (catches moves that land only when the service is idle).
    for (const move of moves)
      expect(answers.filter((a) => a.start < move.end && a.end > move.start).length).toBeGreaterThan(0);
    // None failed, and each answer is exactly its version's direct output (catches a mixed or dropped batch).
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(new Set(answers.map((a) => a.version))).toEqual(new Set(['1', '2']));
    for (const a of answers) expect(a.duration).toBe((a.version === '1' ? v1 : v2)[a.i]);
    const final = await predict(rides[0] ?? ride);
    expect(final.body.model_version).toBe('1');
  });
});
