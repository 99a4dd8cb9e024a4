/** startBatchRun / getBatchRun / cancelBatchRun against the real Temporal server and Postgres. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { generateIntoDb } from '../data/generate-db.js';
import { uniqueId, useWorkerEnvironment } from '../test/helpers.js';
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
  const t = useWorkerEnvironment({
    seed: (db) => generateIntoDb(db.pool, { month: '2030-05', rows: 9_000, seed: 5 }),
  });

  it('starts once per idempotency key and reports the finished summary', async () => {
    const key = uniqueId('key');
    const options = { idempotencyKey: key, taskQueue: t.worker.taskQueue };
    const first = await startBatchRun(
      t.temporal.client,
      config,
      { ...DAY, model: 'ride-duration@1' },
      options,
    );
    const again = await startBatchRun(
      t.temporal.client,
      config,
      { ...DAY, model: 'ride-duration@1' },
      options,
    );
    expect(first).toMatchObject({ workflowId: `batch-${key}`, created: true });
    expect(again).toMatchObject({ workflowId: first.workflowId, runId: first.runId, created: false });
    expect(first.webUiUrl).toBe(
      `http://ui.test/namespaces/default/workflows/${encodeURIComponent(first.workflowId)}/${first.runId}/history`,
    );
    await t.temporal.client.workflow.getHandle(first.workflowId).result();
    const view = await getBatchRun(t.temporal.client, config, first.workflowId);
    expect(view.status).toBe('completed');
    expect(view.summary?.partition).toEqual({ from: '2030-05-02T00:00:00', to: '2030-05-03T00:00:00' });
    const afterDone = await startBatchRun(t.temporal.client, config, { ...DAY }, options);
    expect(afterDone).toMatchObject({ runId: first.runId, created: false });
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM batch_runs WHERE workflow_id = $1`,
      [first.workflowId],
    );
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('rejects bad input before starting anything, naming the field', async () => {
    await expect(
      startBatchRun(t.temporal.client, config, { from: '2030-13-01', to: DAY.to }),
    ).rejects.toThrow(
      new BatchInputError('from', 'must be an ISO timestamp, e.g. 2021-02-01T00:00:00 (got "2030-13-01")'),
    );
    await expect(startBatchRun(t.temporal.client, config, {})).rejects.toBeInstanceOf(BatchInputError);
    await expect(getBatchRun(t.temporal.client, config, 'batch-nope')).rejects.toBeInstanceOf(
      BatchRunNotFoundError,
    );
  });

  it('shows progress while running and records a cancelled run', async () => {
    const started = await startBatchRun(
      t.temporal.client,
      config,
      { from: '2030-05-01', to: '2030-05-20', model: 'ride-duration@1', chunkSize: 20, maxParallelChunks: 1 },
      { taskQueue: t.worker.taskQueue },
    );
    let view = await getBatchRun(t.temporal.client, config, started.workflowId);
    for (let i = 0; i < 100 && !(view.progress && view.progress.chunksDone > 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
      view = await getBatchRun(t.temporal.client, config, started.workflowId);
    }
    expect(view.status).toBe('running');
    expect(view.progress?.modelVersion).toBe('ride-duration@1');
    await cancelBatchRun(t.temporal.client, started.workflowId);
    await t.temporal.client.workflow
      .getHandle(started.workflowId)
      .result()
      .catch(() => undefined);
    const done = await getBatchRun(t.temporal.client, config, started.workflowId);
    expect(done.status).toBe('cancelled');
    const { rows } = await t.db.pool.query(`SELECT status FROM batch_runs WHERE run_id = $1`, [
      `${started.workflowId}/${started.runId}`,
    ]);
    expect(rows).toEqual([{ status: 'cancelled' }]);
  });
});
