/**
 * A deployment whose batch source table is loaded after the worker started (start the stack, then `npm run load`)
 * on the real Temporal dev server, Postgres and ONNX Runtime: its batch mode waits (named, with the command that
 * loads the table) while online and streaming are ready, a run before the load fails naming the table, and a run
 * after it creates the generic sink and scores every row, with no worker restart.
 */
import type { ApplicationFailure } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_WORKFLOW, type BatchRunSummary, type BatchScoringInput } from '../contracts/batch.js';
import type { DeploymentRegistry } from '../platform/deployments.js';
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
import { loadPenguinTable, readPenguinGolden, type PenguinGolden } from './penguin-table.js';

const WAITING =
  'batch: table penguins does not exist yet (load it, e.g. npm run load -- file.csv --table penguins --key penguin_id)';

describe('a batch source table loaded after the worker started', () => {
  let db: TestDatabase;
  let temporal: TestTemporal;
  let scorer: ModelScorer;
  let worker: TestWorker;
  let registry: DeploymentRegistry;
  let golden: PenguinGolden[];

  beforeAll(async () => {
    golden = await readPenguinGolden();
    db = await createTestDatabase();
    temporal = await connectTestTemporal();
    scorer = await createTestScorer(db.pool);
    // As the worker process starts: deployments checked against their tables, missing generic sinks created.
    worker = await startTestWorker({ pool: db.pool, scorer, createSinks: true });
    registry = await loadTestDeployments(db.pool, scorer);
  });
  afterAll(async () => {
    await worker?.stop();
    await scorer?.close();
    await temporal?.close();
    await db?.drop();
  });

  const run = async (input: BatchScoringInput) =>
    (
      await temporal.client.workflow.start(BATCH_WORKFLOW, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueId('batch-later'),
        args: [input],
      })
    ).result() as Promise<BatchRunSummary>;

  const exists = async (table: string) =>
    (await db.pool.query<{ oid: string | null }>(`SELECT to_regclass($1)::text AS oid`, [table])).rows[0]
      ?.oid !== null;

  it('waits in batch only, fails a run naming the table, then scores every row once the table is loaded', async () => {
    const view = () => registry.list().find((v) => v.name === 'penguin-species');
    expect(view()).toMatchObject({
      status: 'ready',
      problems: [],
      modes: ['online', 'streaming'],
      waiting: [WAITING],
    });
    expect(registry.get('penguin-species')?.spec.name).toBe('penguin-species');
    expect(registry.list().find((v) => v.name === 'ride-duration')).toMatchObject({
      status: 'ready',
      modes: ['online', 'batch', 'streaming'],
      waiting: [],
    });
    expect(await exists('penguin_predictions')).toBe(false);

    const early: unknown = await run({ deployment: 'penguin-species' }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(WorkflowFailedError);
    const app = (early as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
    expect(app?.type).toBe('MissingTable');
    expect(app?.message).toBe(WAITING.replace(/^batch: /, ''));

    await loadPenguinTable(db.pool, golden);
    await registry.refresh();
    expect(view()).toMatchObject({ status: 'ready', modes: ['online', 'batch', 'streaming'], waiting: [] });

    // Same worker, no restart: the run plans at its start and creates the generic sink.
    const summary = await run({ deployment: 'penguin-species', chunkSize: 50 });
    expect(summary).toMatchObject({
      status: 'completed',
      deployment: 'penguin-species',
      rowsScored: golden.length,
      rowsRejected: 0,
    });
    const { rows } = await db.pool.query<{ penguin_id: number; n: number }>(
      `SELECT penguin_id, count(*)::int AS n FROM penguin_predictions WHERE run_id = $1 GROUP BY 1 ORDER BY 1`,
      [summary.runId],
    );
    expect(rows).toEqual(golden.map((_, i) => ({ penguin_id: i + 1, n: 1 })));
    expect(await exists('penguin_predictions_rejected')).toBe(true);
  });

  it('never creates a sink mapped onto the user table: a dropped one fails the run with MissingTable', async () => {
    await db.pool.query(`DROP TABLE predictions`);
    const views = (await loadTestDeployments(db.pool, scorer, { createSinks: true })).list();
    expect(views.find((v) => v.name === 'ride-duration')).toMatchObject({
      status: 'ready',
      modes: ['online', 'streaming'],
      waiting: [
        'batch: table predictions does not exist (its columns are renamed in batch.sink.columns, so the batch mode does not create it: run npm run migrate or create it)',
      ],
    });
    expect(await exists('predictions')).toBe(false);
    const err: unknown = await run({ from: '2030-07-03', to: '2030-07-04' }).catch((e: unknown) => e);
    const app = (err as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
    expect(app?.type).toBe('MissingTable');
    expect(app?.message).toBe('table predictions does not exist (run npm run migrate)');
  });
});
