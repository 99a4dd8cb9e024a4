/**
 * Property-based bad input over every JSON route and the V2 binary extension: random, truncated, oversized,
 * deeply nested, wrong-typed, NaN/Infinity/huge numbers, unicode, wrong content types. The service answers 4xx
 * with a body naming the problem (2xx where the input happens to be valid), never 5xx. Whether the heap stays on
 * a plateau across rounds of bad requests is measured by bench/timing.ts (heap size is not a test assertion).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_API_KEY, createTestApp, type TestApp } from '../helpers.js';

const ROUTES = [
  '/predict',
  '/predict?model=ride-duration@1',
  '/predict/batch',
  '/v2/models/ride-duration/infer',
  '/v2/models/ride-duration/versions/2/infer',
  '/batch-runs',
  '/batch-runs/batch-x/cancel',
  '/schedules/daily-batch-scoring/backfill',
  '/streams/fuzz/events',
  '/streams/fuzz/dead-letters/e1/replay',
  '/models/ride-duration/aliases/fuzz',
] as const;

const CONTENT_TYPES = [
  'application/json',
  'text/plain',
  'application/octet-stream',
  'multipart/form-data',
  '',
] as const;

const VALID_RIDE = '{"PULocationID": 10, "DOLocationID": 50, "trip_distance": 40}';
const weirdNumbers = fc.constantFrom(
  'NaN',
  'Infinity',
  '-Infinity',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '0x10',
  '-0',
  '1_000',
);

/** Bodies as raw text: valid JSON of any shape, JSON with a poisoned number, truncated or deeply nested JSON. */
const bodies = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record({ PULocationID: fc.jsonValue(), DOLocationID: fc.jsonValue(), trip_distance: fc.jsonValue() })
    .map((v) => JSON.stringify(v)),
  weirdNumbers.map((n) => VALID_RIDE.replace('40', n)),
  fc.nat({ max: VALID_RIDE.length - 1 }).map((n) => VALID_RIDE.slice(0, n)),
  fc.integer({ min: 50, max: 5000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.integer({ min: 50, max: 2000 }).map((d) => '{"a":'.repeat(d) + '1' + '}'.repeat(d)),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
);

function isProblemBody(status: number, text: string): boolean {
  if (status < 400) return true;
  try {
    const body = JSON.parse(text) as { detail?: unknown; error?: unknown; title?: unknown };
    const message = body.detail ?? body.error;
    return typeof message === 'string' && message.length > 0;
  } catch {
    return false;
  }
}

describe('bad input never makes a 5xx', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  const send = (path: string, body: string | Uint8Array, headers: Record<string, string>) =>
    t.app.request(path, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, ...headers },
    });

  it('JSON routes answer 4xx naming the problem for random bodies and content types', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        bodies,
        fc.constantFrom(...CONTENT_TYPES),
        async (path, body, type) => {
          const res = await send(path, body, type ? { 'content-type': type } : {});
          const text = await res.text();
          expect(res.status, `${path} ${type} ${body.slice(0, 80)} -> ${text.slice(0, 200)}`).toBeLessThan(
            500,
          );
          expect(isProblemBody(res.status, text), `${path}: ${text.slice(0, 200)}`).toBe(true);
        },
      ),
      { numRuns: 1500, seed: 20261124 },
    );
  });

  it('the V2 binary extension refuses bad header lengths and tensors with a 4xx', async () => {
    const header = fc.record({
      inputs: fc.array(
        fc.record({
          name: fc.constantFrom(
            'PULocationID',
            'DOLocationID',
            'trip_distance',
            'pickup_hour',
            'pickup_dow',
            'nope',
          ),
          datatype: fc.constantFrom('INT64', 'FP32', 'FP64', 'BYTES', 'BOOL', 'weird'),
          shape: fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 3 }),
          parameters: fc.record({ binary_data_size: fc.integer({ min: -8, max: 64 }) }),
        }),
        { maxLength: 6 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        header,
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: -5, max: 400 }),
        async (h, tail, lengthDelta) => {
          const json = Buffer.from(JSON.stringify(h));
          const body = Buffer.concat([json, Buffer.from(tail)]);
          const res = await send('/v2/models/ride-duration/infer', body, {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': String(json.length + lengthDelta),
          });
          const text = await res.text();
          expect(res.status, text.slice(0, 200)).toBeLessThan(500);
          expect(res.status === 200 || isProblemBody(res.status, text), text.slice(0, 200)).toBe(true);
        },
      ),
      { numRuns: 800, seed: 7 },
    );
  });

  it('oversized bodies are refused with 413', async () => {
    const huge = `[${'1,'.repeat(5_000_000)}1]`; // 10 MB, over the 8 MiB default BODY_LIMIT_BYTES
    for (const path of [
      '/predict',
      '/predict/batch',
      '/v2/models/ride-duration/infer',
      '/streams/fuzz/events',
    ]) {
      const res = await send(path, huge, { 'content-type': 'application/json' });
      expect(res.status, path).toBe(413);
      expect(isProblemBody(res.status, await res.text())).toBe(true);
    }
  });
});
