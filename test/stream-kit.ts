/**
 * Shared set-up of the streaming tests: a database, a real worker whose scorer can inject failures for marked
 * rides, a control config pointing at the worker's task queue, synthetic rides, and wait helpers.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { createActivities } from '../activities/index.js';
import { loadConfig, type Config } from '../config.js';
import type { RideEvent } from '../adapters/ride-duration/stream.js';
import type { StreamOptions, StreamState } from '../contracts/stream.js';
import type { Pool } from '../db/pool.js';
import { loadDeployments } from '../platform/deployments.js';
import type { ModelScorer } from '../scoring/scorer.js';
import {
  connectTestTemporal,
  createTestDatabase,
  createTestScorer,
  startTestWorker,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from './helpers.js';

const DEPLOYMENT_DIR = fileURLToPath(new URL('../deployments/', import.meta.url));

/** A ride with this distance makes the scorer throw on its first two calls that contain it. */
export const FAILS_TWICE = 7.777;
/** A ride with this distance makes every scoring call that contains it throw. */
export const ALWAYS_FAILS = 6.666;

/** Fast retries for tests: 3 attempts, 50 ms then 100 ms. */
export const TEST_STREAM_OPTIONS: Partial<StreamOptions> = { maxAttempts: 3, retryInitialMs: 50 };

export interface StreamKit {
  db: TestDatabase;
  temporal: TestTemporal;
  worker: TestWorker;
  scorer: ModelScorer;
  config: Pick<Config, 'temporal' | 'stream'>;
  /** Scoring calls that contained a FAILS_TWICE ride. */
  flakyCalls: () => number;
  stop(): Promise<void>;
}

/** The real scorer (its registry too), but failing for the marked rides. */
function faultyScorer(inner: ModelScorer, counter: { flaky: number }): ModelScorer {
  return {
    ...inner,
    async score(ref, rows) {
      if (rows.some((r) => r.trip_distance === ALWAYS_FAILS))
        throw new Error('injected: the scorer crashes on this ride');
      if (rows.some((r) => r.trip_distance === FAILS_TWICE) && counter.flaky++ < 2)
        throw new Error(`injected transient failure #${counter.flaky}`);
      return inner.score(ref, rows);
    },
  };
}

export async function startStreamKit(stream: Partial<StreamOptions> = {}): Promise<StreamKit> {
  const db = await createTestDatabase();
  const temporal = await connectTestTemporal();
  const scorer = await createTestScorer(db.pool);
  const counter = { flaky: 0 };
  // The repository's deployments (ride-duration is the default one, penguin-species the second).
  const deployments = await loadDeployments({ dir: DEPLOYMENT_DIR, scorer });
  const worker = await startTestWorker({
    activities: createActivities({ pool: db.pool, scorer: faultyScorer(scorer, counter), deployments }),
  });
  const base = loadConfig({ NODE_ENV: 'test' });
  const config = {
    temporal: { ...base.temporal, taskQueue: worker.taskQueue, address: temporal.address },
    stream: { ...base.stream, ...TEST_STREAM_OPTIONS, ...stream },
  };
  return {
    db,
    temporal,
    worker,
    scorer,
    config,
    flakyCalls: () => counter.flaky,
    async stop() {
      await worker.stop();
      await scorer.close();
      await temporal.close();
      await db.drop();
    },
  };
}

/** Deterministic synthetic rides (a small LCG), ids `${prefix}${i}` from `from`. */
export function makeEvents(count: number, options: { from?: number; prefix?: string } = {}): RideEvent[] {
  const from = options.from ?? 0;
  let seed = 12345 + from * 7919;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const minute = String(i % 60).padStart(2, '0');
    return {
      ride_id: options.prefix ? `${options.prefix}${i}` : i,
      ride: {
        PULocationID: 1 + Math.floor(next() * 265),
        DOLocationID: 1 + Math.floor(next() * 265),
        trip_distance: Math.round((0.3 + next() * 14) * 100) / 100,
        pickup_datetime: `2021-02-0${1 + (i % 7)}T${String(6 + (i % 17)).padStart(2, '0')}:${minute}:00`,
      },
    };
  });
}

const PENGUIN_GOLDEN = new URL('../models/penguin-species/1/golden.jsonl', import.meta.url);
/** The penguin-species card's input fields, in signature order. */
export const PENGUIN_FIELDS = [
  'island',
  'bill_length_mm',
  'bill_depth_mm',
  'flipper_length_mm',
  'body_mass_g',
  'sex',
  'year',
];

/** The first `count` golden penguin-species records (the signature's fields), keyed `penguin_id: p-<i>`. */
export async function penguinRecords(count: number): Promise<Record<string, unknown>[]> {
  const lines = (await readFile(PENGUIN_GOLDEN, 'utf8')).trim().split('\n').slice(0, count);
  return lines.map((line, i) => {
    const row = JSON.parse(line) as Record<string, unknown>;
    return { penguin_id: `p-${i}`, ...Object.fromEntries(PENGUIN_FIELDS.map((f) => [f, row[f]])) };
  });
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function countRows(pool: Pool, table: 'stream_predictions' | 'dead_letters', streamId: string) {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE stream_id = $1`,
    [streamId],
  );
  return rows[0]?.n ?? 0;
}

/** The stream's persisted event ids in persisted (= arrival) order. */
export async function persistedEventIds(pool: Pool, streamId: string): Promise<string[]> {
  const { rows } = await pool.query<{ event_id: string }>(
    'SELECT event_id FROM stream_predictions WHERE stream_id = $1 ORDER BY id',
    [streamId],
  );
  return rows.map((r) => r.event_id);
}

/** Waits until the state query reports `predicate`; returns that state. */
export async function waitForState(
  read: () => Promise<StreamState>,
  predicate: (s: StreamState) => boolean,
  timeoutMs = 60_000,
): Promise<StreamState> {
  let last: StreamState | undefined;
  await waitUntil(
    'stream state',
    async () => {
      last = await read().catch(() => undefined);
      return last !== undefined && predicate(last);
    },
    timeoutMs,
  );
  if (!last) throw new Error('no state');
  return last;
}

const run = promisify(execFile);

/** Runs the real Temporal CLI against the test server. */
export async function temporalCli(args: string[]): Promise<string> {
  const { stdout } = await run(inject('temporalBinary'), [...args, '--address', inject('temporalAddress')]);
  return stdout;
}
