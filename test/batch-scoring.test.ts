/** batchScoring end to end on the real Temporal dev server, real Postgres and the real ONNX models. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApplicationFailure,
  WorkflowFailedError,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import {
  BATCH_WORKFLOW,
  batchProgressQuery as progressQuery,
  type BatchRunSummary,
  type BatchScoringInput,
} from '../contracts/batch.js';
import type { FieldRecord } from '../contracts/scoring.js';
import { MODEL_VERSION_KEY, PARTITION_KEY } from '../contracts/temporal.js';
import { generateIntoDb } from '../data/generate-db.js';
import type { ModelScorer } from '../scoring/scorer.js';
import {
  connectTestTemporal,
  createTestDatabase,
  createTestScorer,
  loadTestDeployments,
  startTestWorker,
  uniqueId,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from './helpers.js';

const DAY = { from: '2030-01-05T00:00:00', to: '2030-01-06T00:00:00' };

describe('batchScoring workflow', () => {
  let db: TestDatabase;
  let temporal: TestTemporal;
  let scorer: ModelScorer;
  let worker: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase();
    temporal = await connectTestTemporal();
    scorer = await createTestScorer(db.pool);
    worker = await startTestWorker({ pool: db.pool, scorer });
    await generateIntoDb(db.pool, { month: '2030-01', rows: 31_000, seed: 11, badShare: 0.02 });
  });
  afterAll(async () => {
    await worker?.stop();
    await scorer?.close();
    await temporal?.close();
    await db?.drop();
  });

  const start = (
    input: BatchScoringInput,
    taskQueue = worker.taskQueue,
  ): Promise<WorkflowHandleWithFirstExecutionRunId> =>
    temporal.client.workflow.start(BATCH_WORKFLOW, {
      taskQueue,
      workflowId: uniqueId('batch'),
      args: [input],
    });
  const run = async (input: BatchScoringInput): Promise<BatchRunSummary> =>
    (await start(input)).result() as Promise<BatchRunSummary>;
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await db.pool.query<{ n: string }>(sql, params)).rows[0]?.n);
  const inDay = `pickup_datetime >= '${DAY.from}' AND pickup_datetime < '${DAY.to}'`;

  it('scores a partition exactly like the scorer, row for row, and reports the SQL RMSE/MAE', async () => {
    const summary = await run({ ...DAY, model: 'ride-duration@2', chunkSize: 300 });
    const { rows: rides } = await db.pool.query<{
      ride_id: string;
      pu_location_id: number;
      do_location_id: number;
      trip_distance: number;
      pickup_datetime: string;
    }>(`SELECT * FROM rides WHERE ${inDay} ORDER BY ride_id`);
    expect(rides.length).toBeGreaterThan(800);
    const direct = await scorer.score(
      { name: 'ride-duration', version: '2' },
      rides.map((r): FieldRecord => ({
        PULocationID: r.pu_location_id,
        DOLocationID: r.do_location_id,
        trip_distance: r.trip_distance,
        pickup_datetime: r.pickup_datetime,
      })),
    );
    const { rows: stored } = await db.pool.query<{ ride_id: string; predicted_duration: number }>(
      `SELECT ride_id, predicted_duration FROM predictions WHERE run_id = $1 ORDER BY ride_id`,
      [summary.runId],
    );
    const expected = rides.flatMap((r, i) => {
      const p = direct.predictions[i];
      return p === null || p === undefined ? [] : [{ ride_id: r.ride_id, predicted_duration: p }];
    });
    expect(stored).toEqual(expected);
    expect(summary).toMatchObject({
      status: 'completed',
      model: { name: 'ride-duration', version: '2' },
      partition: DAY,
      rowsScored: expected.length,
      rowsRejected: direct.rejections.length,
    });
    const { rows: sql } = await db.pool.query<{ rmse: number; mae: number; n: string }>(
      `SELECT sqrt(avg(diff * diff)) AS rmse, avg(abs(diff)) AS mae, count(diff) AS n
       FROM predictions WHERE run_id = $1`,
      [summary.runId],
    );
    expect(summary.rowsCompared).toBe(Number(sql[0]?.n));
    expect(summary.rmse).toBeCloseTo(sql[0]?.rmse ?? NaN, 9);
    expect(summary.mae).toBeCloseTo(sql[0]?.mae ?? NaN, 9);

    const description = await temporal.client.workflow
      .getHandle(summary.runId.split('/')[0] ?? '')
      .describe();
    expect(description.typedSearchAttributes.get(MODEL_VERSION_KEY)).toBe('ride-duration@2');
    expect(description.typedSearchAttributes.get(PARTITION_KEY)).toBe('2030-01-05');
    const { rows: ledger } = await db.pool.query(
      `SELECT status, rows_scored::int, rows_rejected::int, partition_key, model_version FROM batch_runs
       WHERE run_id = $1`,
      [summary.runId],
    );
    expect(ledger).toEqual([
      {
        status: 'completed',
        rows_scored: summary.rowsScored,
        rows_rejected: summary.rowsRejected,
        partition_key: '2030-01-05',
        model_version: '2',
      },
    ]);
  });

  it('re-running the same partition leaves one prediction per ride and version', async () => {
    const first = await run({ ...DAY, model: 'ride-duration@1', chunkSize: 250 });
    const before = await count(`SELECT count(*) AS n FROM predictions WHERE model_version = '1'`);
    const second = await run({ ...DAY, model: 'ride-duration@1', chunkSize: 170 });
    const after = await count(`SELECT count(*) AS n FROM predictions WHERE model_version = '1'`);
    expect(after).toBe(before);
    expect(second.rowsScored).toBe(first.rowsScored);
    expect(after).toBe(first.rowsScored);
    expect(await count(`SELECT count(*) AS n FROM predictions WHERE run_id = $1`, [second.runId])).toBe(
      after,
    );
  });

  it('puts the bad rows (2%) in rejected_rows, naming the field, and completes', async () => {
    const summary = await run({ ...DAY, model: 'ride-duration@1', chunkSize: 400 });
    const bad = await count(
      `SELECT count(*) AS n FROM rides WHERE ${inDay}
       AND (pu_location_id IS NULL OR do_location_id IS NULL OR trip_distance < 0)`,
    );
    const total = await count(`SELECT count(*) AS n FROM rides WHERE ${inDay}`);
    expect(bad).toBeGreaterThan(0);
    expect(summary.status).toBe('completed');
    expect(summary.rowsRejected).toBe(bad);
    expect(summary.rowsScored + summary.rowsRejected).toBe(total);
    const { rows } = await db.pool.query<{ field: string; n: string }>(
      `SELECT field, count(*) AS n FROM rejected_rows WHERE run_id = $1 GROUP BY field ORDER BY field`,
      [summary.runId],
    );
    expect(
      rows.map((r) => r.field).every((f) => ['DOLocationID', 'PULocationID', 'trip_distance'].includes(f)),
    ).toBe(true);
    expect(rows.reduce((s, r) => s + Number(r.n), 0)).toBe(bad);
  });

  it('pins the version resolved at start when the alias moves mid-run', async () => {
    await scorer.setAlias('ride-duration', 'canary', '2');
    const handle = await start({
      ...DAY,
      model: 'ride-duration@canary',
      chunkSize: 40,
      maxParallelChunks: 1,
    });
    let progress = await handle.query(progressQuery);
    while (progress.chunksDone < 2) {
      await new Promise((r) => setTimeout(r, 50));
      progress = await handle.query(progressQuery);
    }
    await scorer.setAlias('ride-duration', 'canary', '1');
    expect(progress.chunksDone).toBeLessThan(progress.chunksTotal);
    expect(progress.modelVersion).toBe('ride-duration@2');
    const summary = (await handle.result()) as BatchRunSummary;
    expect(summary.model.version).toBe('2');
    const { rows } = await db.pool.query<{ model_version: string; n: string }>(
      `SELECT model_version, count(*) AS n FROM predictions WHERE run_id = $1 GROUP BY 1`,
      [summary.runId],
    );
    expect(rows).toEqual([{ model_version: '2', n: String(summary.rowsScored) }]);
    expect((await scorer.resolve('ride-duration@canary')).version).toBe('1');
  });

  it('continues as new after maxChunksPerRun chunks and carries the totals', async () => {
    const handle = await start({ ...DAY, model: 'ride-duration@1', chunkSize: 150, maxChunksPerRun: 2 });
    const summary = (await handle.result()) as BatchRunSummary;
    const total = await count(`SELECT count(*) AS n FROM rides WHERE ${inDay}`);
    expect(summary.rowsScored + summary.rowsRejected).toBe(total);
    expect(summary.runId).toBe(`${handle.workflowId}/${handle.firstExecutionRunId}`);
    expect(await count(`SELECT count(*) AS n FROM predictions WHERE run_id = $1`, [summary.runId])).toBe(
      summary.rowsScored,
    );
    const history = await temporal.client.workflow
      .getHandle(handle.workflowId, handle.firstExecutionRunId)
      .fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(true);
    // The history bound docs/batch.md relies on: at most ~6 events per chunk plus ~30 of overhead per run.
    expect(history.events?.length ?? Infinity).toBeLessThanOrEqual(2 * 6 + 30);
  });

  it('runs one child per day for a multi-day range and sums them', async () => {
    const range = { from: '2030-01-10', to: '2030-01-13T00:00:00Z' };
    const summary = await run({ ...range, model: 'ride-duration@1', chunkSize: 500 });
    const total = await count(
      `SELECT count(*) AS n FROM rides WHERE pickup_datetime >= '2030-01-10' AND pickup_datetime < '2030-01-13'`,
    );
    expect(summary.partition).toEqual({ from: '2030-01-10T00:00:00', to: '2030-01-13T00:00:00' });
    expect(summary.rowsScored + summary.rowsRejected).toBe(total);
    const { rows } = await db.pool.query<{ partition_key: string; status: string }>(
      `SELECT partition_key, status FROM batch_runs WHERE parent_run_id = $1 ORDER BY partition_key`,
      [summary.runId],
    );
    expect(rows).toEqual(
      ['2030-01-10', '2030-01-11', '2030-01-12'].map((partition_key) => ({
        partition_key,
        status: 'completed',
      })),
    );
  });

  it('fails fast, without retries, on malformed input naming the field', async () => {
    const cases: [BatchScoringInput, string][] = [
      [{ from: 'yesterday', to: DAY.to }, 'from: must be an ISO timestamp'],
      [{ from: DAY.to, to: DAY.from }, 'to: must be after from'],
      [{ from: DAY.from, to: DAY.to, chunkSize: 0 }, 'chunkSize: must be a whole number'],
      [{ from: DAY.from }, 'to: is required'],
    ];
    for (const [input, message] of cases) {
      const handle = await start(input);
      const err: unknown = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('InvalidBatchInput');
      expect((cause as ApplicationFailure).nonRetryable).toBe(true);
      expect(cause?.message).toContain(message);
    }
  });

  it('fails an unknown model non-retryably after one attempt, and records + notifies the failure', async () => {
    const listener = await db.pool.connect();
    const notes: string[] = [];
    listener.on('notification', (n) => notes.push(n.payload ?? ''));
    await listener.query('LISTEN batch_runs');
    try {
      const handle = await start({ ...DAY, model: 'no-such-model@3' });
      const err: unknown = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const app = (err as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
      expect(app).toBeInstanceOf(ApplicationFailure);
      expect(app?.type).toBe('ModelNotFound');
      expect(app?.message).toContain('no-such-model@3');
      const history = await handle.fetchHistory();
      const attempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
      const tries = attempts.map((e) => e.activityTaskStartedEventAttributes?.attempt);
      expect(tries.length).toBeGreaterThan(0);
      expect(new Set(tries)).toEqual(new Set([1])); // resolve failed once, never retried
      const { rows } = await db.pool.query<{ status: string; error: string }>(
        `SELECT status, error FROM batch_runs WHERE workflow_id = $1`,
        [handle.workflowId],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]?.status).toBe('failed');
      expect(rows[0]?.error).toContain('no-such-model@3');
      await expect.poll(() => notes.length).toBeGreaterThan(0);
      const note = JSON.parse(notes.at(-1) ?? '{}') as BatchRunSummary;
      expect(note).toMatchObject({ status: 'failed', partition: DAY });
    } finally {
      await listener.query('UNLISTEN batch_runs');
      listener.release();
    }
  });

  it('fails non-retryably naming a missing table', async () => {
    const bare = await createTestDatabase();
    await bare.pool.query('DROP TABLE predictions');
    const w = await startTestWorker({ pool: bare.pool, scorer });
    try {
      const handle = await start({ ...DAY, model: 'ride-duration@1' }, w.taskQueue);
      const err: unknown = await handle.result().catch((e: unknown) => e);
      const app = (err as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
      expect(app?.type).toBe('MissingTable');
      expect(app?.nonRetryable).toBe(true);
      expect(app?.message).toBe('table predictions does not exist (run npm run migrate)');
    } finally {
      await w.stop();
      await bare.drop();
    }
  });

  describe('webhook', () => {
    let server: Server;
    const received: { status: number; body: BatchRunSummary }[] = [];
    let hooked: TestWorker;

    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const status = received.length === 0 ? 503 : 204; // the first delivery fails, the retry succeeds
          received.push({ status, body: JSON.parse(body) as BatchRunSummary });
          res.writeHead(status).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      hooked = await startTestWorker({
        activities: createActivities({
          pool: db.pool,
          scorer,
          deployments: await loadTestDeployments(db.pool, scorer),
          webhookUrl: url,
        }),
      });
    });
    afterAll(async () => {
      await hooked?.stop();
      await new Promise((r) => server?.close(r));
    });

    it('POSTs the summary with retries and records the final outcome', async () => {
      const handle = await start({ ...DAY, model: 'ride-duration@1', chunkSize: 500 }, hooked.taskQueue);
      const summary = (await handle.result()) as BatchRunSummary;
      expect(received.map((r) => r.status)).toEqual([503, 204]);
      expect(received[1]?.body).toEqual(summary);
      const { rows } = await db.pool.query(
        `SELECT webhook_status, webhook_attempts FROM batch_runs WHERE run_id = $1`,
        [summary.runId],
      );
      expect(rows).toEqual([{ webhook_status: 'delivered 204', webhook_attempts: 2 }]);
    });
  });
});
