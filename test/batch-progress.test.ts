/**
 * A batch run's live progress on NOTIFY batch_progress (real Temporal, Postgres and ONNX): the ledger's start, one
 * announcement per committed batch of each chunk with the run's rows and chunks so far, and the ledger's end; the
 * progress rows are gone once the run is over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_PROGRESS_CHANNEL,
  BATCH_WORKFLOW,
  type BatchProgressEvent,
  type BatchRunSummary,
} from '../contracts/batch.js';
import { generateIntoDb } from '../data/generate-db.js';
import type { ModelScorer } from '../scoring/scorer.js';
import {
  connectTestTemporal,
  createTestDatabase,
  createTestScorer,
  startTestWorker,
  uniqueId,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from './helpers.js';

const DAY = { from: '2030-03-05T00:00:00', to: '2030-03-06T00:00:00' };

describe('batch run progress', () => {
  let db: TestDatabase;
  let temporal: TestTemporal;
  let scorer: ModelScorer;
  let worker: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase();
    temporal = await connectTestTemporal();
    scorer = await createTestScorer(db.pool);
    worker = await startTestWorker({ pool: db.pool, scorer });
    await generateIntoDb(db.pool, { month: '2030-03', rows: 9_000, seed: 5, badShare: 0.02 });
  });
  afterAll(async () => {
    await worker?.stop();
    await scorer?.close();
    await temporal?.close();
    await db?.drop();
  });

  it('announces the start, each committed batch with the run so far, and the end', async () => {
    const listener = await db.pool.connect();
    const events: BatchProgressEvent[] = [];
    listener.on('notification', (n) => events.push(JSON.parse(n.payload ?? '{}') as BatchProgressEvent));
    await listener.query(`LISTEN ${BATCH_PROGRESS_CHANNEL}`);
    try {
      const workflowId = uniqueId('batch-progress');
      const handle = await temporal.client.workflow.start(BATCH_WORKFLOW, {
        taskQueue: worker.taskQueue,
        workflowId,
        args: [{ ...DAY, model: 'ride-duration@2', chunkSize: 100, batchRows: 40, maxParallelChunks: 2 }],
      });
      const summary = (await handle.result()) as BatchRunSummary;
      await expect.poll(() => events.some((e) => e.status === 'completed')).toBe(true);
      const mine = events.filter((e) => e.runId === summary.runId);
      const rows = summary.rowsScored + summary.rowsRejected;
      const chunksTotal = Math.ceil(rows / 100);
      expect(rows).toBeGreaterThan(200);

      expect(mine[0]).toMatchObject({ status: 'running', workflowId, partition: '2030-03-05', rowsDone: 0 });
      expect(mine.at(-1)).toMatchObject({ status: 'completed', rowsDone: rows, deployment: 'ride-duration' });
      const batches = mine.filter((e) => e.status === 'running' && e.chunksDone !== null);
      // At least one per committed batch of 40 rows, at most one more per chunk (a full last batch): never per row.
      expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(rows / 40));
      expect(batches.length).toBeLessThanOrEqual(Math.ceil(rows / 40) + chunksTotal);
      for (const e of batches) {
        expect(e).toMatchObject({ rowsTotal: rows, chunksTotal, deployment: 'ride-duration' });
        expect(e.rowsDone).toBeGreaterThan(0);
        expect(e.rowsDone).toBeLessThanOrEqual(rows);
        expect(e.chunksDone).toBeLessThanOrEqual(chunksTotal);
      }
      // Two chunks committing at once may each miss the other's last batch: the count is exact at the end (above).
      expect(Math.max(...batches.map((e) => e.rowsDone))).toBeGreaterThan(rows - 100);
      const left = await db.pool.query('SELECT 1 FROM batch_run_progress WHERE run_id = $1', [summary.runId]);
      expect(left.rowCount).toBe(0);
    } finally {
      await listener.query(`UNLISTEN ${BATCH_PROGRESS_CHANNEL}`);
      listener.release();
    }
  });
});
