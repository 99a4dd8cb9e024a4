/** End to end on real parts: a workflow on the real Temporal server, through a real worker, writes a real row. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PING_WORKFLOW } from '../contracts/temporal.js';
import type { ping } from '../workflows/ping.js';
import {
  connectTestTemporal,
  createTestDatabase,
  startTestWorker,
  uniqueId,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from './helpers.js';

describe('smoke: workflow -> worker -> activity -> Postgres', () => {
  let db: TestDatabase;
  let temporal: TestTemporal;
  let worker: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase();
    temporal = await connectTestTemporal();
    worker = await startTestWorker({ pool: db.pool });
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await db?.drop();
  });

  it('runs the ping workflow and stores exactly one row', async () => {
    const id = uniqueId('ping');
    const result = await temporal.client.workflow.execute<typeof ping>(PING_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: id,
      args: [{ id, message: 'hello from the smoke test' }],
    });
    expect(result).toMatchObject({ id, message: 'hello from the smoke test' });

    const { rows } = await db.pool.query('SELECT id, message FROM pings WHERE id = $1', [id]);
    expect(rows).toEqual([{ id, message: 'hello from the smoke test' }]);

    const history = await temporal.client.workflow.getHandle(id).fetchHistory();
    const activityTypes = (history.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name
        ? [e.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
    expect(activityTypes).toEqual(['storePing']);
  });
});
