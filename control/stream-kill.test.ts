/**
 * Fault test: the worker process is SIGKILLed mid-stream and restarted. No event may be lost and none scored twice,
 * and the consumers (the SSE source and a LISTENer of `stream_predictions`) get every prediction once by id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../config.js';
import {
  connectTestTemporal,
  createTestDatabase,
  TEST_MODEL_DIR,
  uniqueId,
  type TestDatabase,
  type TestTemporal,
} from '../test/helpers.js';
import {
  makeEvents,
  persistedEventIds,
  TEST_STREAM_OPTIONS,
  waitForState,
  waitUntil,
} from '../test/stream-kit.js';
import { checkIdDelivery, NotifyReader } from '../test/faults/consumers.js';
import { getStreamState, sendEvents, streamPredictions } from './streams.js';

const WORKER = fileURLToPath(new URL('../test/worker-process.ts', import.meta.url));

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  child.stderr?.on('data', (d: Buffer) => lines.push(d.toString()));
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout ?? process.stdin });
    rl.on('line', (line) => {
      if (line === 'worker ready') resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${lines.join('')}`)));
  });
}

describe('stream survives a worker SIGKILL', () => {
  let db: TestDatabase;
  let temporal: TestTemporal;
  let worker: ChildProcess | undefined;
  const taskQueue = uniqueId('tq-kill');
  beforeAll(async () => {
    db = await createTestDatabase();
    temporal = await connectTestTemporal();
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await temporal?.close();
    await db?.drop();
  });

  it('loses no event and scores none twice across kill and restart', { timeout: 120_000 }, async () => {
    const env = {
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKFLOW_BUNDLE: inject('workflowBundle'),
      MODEL_DIR: TEST_MODEL_DIR,
      LOG_LEVEL: 'warn',
    };
    worker = await startWorker(env);
    const base = loadConfig({ NODE_ENV: 'test' });
    const config = {
      temporal: { ...base.temporal, taskQueue },
      stream: { ...base.stream, ...TEST_STREAM_OPTIONS, maxRun: 50 },
    };
    const id = uniqueId('kill');
    const events = makeEvents(2000);
    const state = () => getStreamState(temporal.client, id);
    // Consumers subscribed before the first event: the source behind GET /streams/:id/predictions, and a
    // LISTENer that reads the table on each NOTIFY wake-up.
    const feed = new AbortController();
    const sseIds: string[] = [];
    const sse = (async () => {
      for await (const p of streamPredictions(db.pool, id, { signal: feed.signal })) sseIds.push(p.id);
    })();
    const notify = await NotifyReader.open(db.pool, id);

    // Producer keeps sending while the worker dies and comes back.
    const producer = (async () => {
      for (let i = 0; i < events.length; i += 50) {
        await sendEvents(temporal.client, config, id, events.slice(i, i + 50));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await waitUntil('some predictions', async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM stream_predictions WHERE stream_id = $1',
        [id],
      );
      return (rows[0]?.n ?? 0) >= 300;
    });
    worker.kill('SIGKILL');
    await new Promise((r) => worker?.once('exit', r));
    await producer; // signals are accepted by the server while no worker runs
    worker = await startWorker(env);

    const final = await waitForState(state, (s) => s.processed + s.duplicates >= 2000, 90_000);
    expect(final).toMatchObject({
      received: 2000,
      processed: 2000,
      failed: 0,
      duplicates: 0,
      queueLength: 0,
    });
    const { rows } = await db.pool.query<{ n: number; distinct_ids: number; max_attempts: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids, max(attempts)::int AS max_attempts
         FROM stream_predictions WHERE stream_id = $1`,
      [id],
    );
    // Primary keys make these two impossible to fail; kept as a guard against a schema change.
    expect(rows[0]).toMatchObject({ n: 2000, distinct_ids: 2000 });
    // The retry policy bounds the attempts: a prediction persisted past maxAttempts means it did not.
    expect(rows[0]?.max_attempts).toBeGreaterThanOrEqual(1);
    expect(rows[0]?.max_attempts).toBeLessThanOrEqual(TEST_STREAM_OPTIONS.maxAttempts ?? 0);
    // Consumers: at least once with the SSE id as dedup key, and after dedup exactly once, in persisted order.
    // Catches a prediction that reached the table without a wake-up, or a feed that skipped or repeated rows.
    const { rows: persisted } = await db.pool.query<{ id: string }>(
      'SELECT id::text AS id FROM stream_predictions WHERE stream_id = $1 ORDER BY id',
      [id],
    );
    const lastId = persisted[persisted.length - 1]?.id ?? '';
    await waitUntil(
      'consumers to reach the last prediction',
      async () => Promise.resolve(sseIds.includes(lastId) && notify.received.includes(lastId)),
      15_000,
    ).catch(() => undefined); // the checks below report what is missing
    feed.abort();
    await sse;
    await notify.close();
    const ids = persisted.map((r) => r.id);
    const sseCheck = checkIdDelivery('streamPredictions (SSE source)', sseIds, ids);
    const notifyCheck = checkIdDelivery('NOTIFY stream_predictions', notify.received, ids);
    expect(sseCheck, sseCheck.detail).toMatchObject({ ok: true });
    expect(notifyCheck, notifyCheck.detail).toMatchObject({ ok: true });
    const eventIds = await persistedEventIds(db.pool, id);
    expect(eventIds.map(Number)).toEqual(events.map((e) => e.ride_id));
  });
});
