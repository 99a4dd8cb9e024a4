/** startBatchRun / getBatchRun / cancelBatchRun against the real Temporal server and Postgres. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { generateIntoDb } from '../data/generate-db.js';
import {
  connectTestTemporal,
  createTestDatabase,
  startTestWorker,
  uniqueId,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from '../test/helpers.js';
import {
  BatchInputError,
  BatchRunNotFoundError,
  cancelBatchRun,
  getBatchRun,
  startBatchRun,
} from './batch-runs.js';

const config = loadConfig({ NODE_ENV: 'test', BATCH_CHUNK_SIZE: '300', TEMPORAL_UI_URL: 'http://ui.test' });
const DAY = { from: '2030-05-02T00:00:00Z', to: '2030-05-03T00:00:00Z' };

describe('batch run control functions', () => {
  let db: TestDatabase;
  let temporal: TestTemporal;
  let worker: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase();
    temporal = await connectTestTemporal();
    worker = await startTestWorker({ pool: db.pool });
    await generateIntoDb(db.pool, { month: '2030-05', rows: 9_000, seed: 5 });
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await db?.drop();
  });

  it('starts once per idempotency key and reports the finished summary', async () => {
    const key = uniqueId('key');
    const options = { idempotencyKey: key, taskQueue: worker.taskQueue };
    const first = await startBatchRun(temporal.client, config, { ...DAY, model: 'ride-duration@1' }, options);
    const again = await startBatchRun(temporal.client, config, { ...DAY, model: 'ride-duration@1' }, options);
    expect(first).toMatchObject({ workflowId: `batch-${key}`, created: true });
    expect(again).toMatchObject({ workflowId: first.workflowId, runId: first.runId });
    expect(first.webUiUrl).toBe(
      `http://ui.test/namespaces/default/workflows/${encodeURIComponent(first.workflowId)}/${first.runId}/history`,
    );
    await temporal.client.workflow.getHandle(first.workflowId).result();
    const view = await getBatchRun(temporal.client, config, first.workflowId);
    expect(view.status).toBe('completed');
    expect(view.summary?.partition).toEqual({ from: '2030-05-02T00:00:00', to: '2030-05-03T00:00:00' });
    const afterDone = await startBatchRun(temporal.client, config, { ...DAY }, options);
    expect(afterDone).toMatchObject({ runId: first.runId, created: false });
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM batch_runs WHERE workflow_id = $1`, [
      first.workflowId,
    ]);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('rejects bad input before starting anything, naming the field', async () => {
    await expect(startBatchRun(temporal.client, config, { from: '2030-13-01', to: DAY.to })).rejects.toThrow(
      new BatchInputError('from', 'must be an ISO timestamp, e.g. 2021-02-01T00:00:00 (got "2030-13-01")'),
    );
    await expect(startBatchRun(temporal.client, config, {})).rejects.toBeInstanceOf(BatchInputError);
    await expect(getBatchRun(temporal.client, config, 'batch-nope')).rejects.toBeInstanceOf(
      BatchRunNotFoundError,
    );
  });

  it('shows progress while running and records a cancelled run', async () => {
    const started = await startBatchRun(
      temporal.client,
      config,
      { from: '2030-05-01', to: '2030-05-20', model: 'ride-duration@1', chunkSize: 20, maxParallelChunks: 1 },
      { taskQueue: worker.taskQueue },
    );
    let view = await getBatchRun(temporal.client, config, started.workflowId);
    for (let i = 0; i < 100 && !(view.progress && view.progress.chunksDone > 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
      view = await getBatchRun(temporal.client, config, started.workflowId);
    }
    expect(view.status).toBe('running');
    expect(view.progress?.modelVersion).toBe('ride-duration@1');
    await cancelBatchRun(temporal.client, started.workflowId);
    await temporal.client.workflow
      .getHandle(started.workflowId)
      .result()
      .catch(() => undefined);
    const done = await getBatchRun(temporal.client, config, started.workflowId);
    expect(done.status).toBe('cancelled');
    const { rows } = await db.pool.query(`SELECT status FROM batch_runs WHERE run_id = $1`, [
      `${started.workflowId}/${started.runId}`,
    ]);
    expect(rows).toEqual([{ status: 'cancelled' }]);
  });
});
