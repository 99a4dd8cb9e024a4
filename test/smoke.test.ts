/** End to end on real parts: a workflow on the real Temporal server, through a real worker, writes a real row. */
import { describe, expect, it } from 'vitest';
import { PING_WORKFLOW } from '../contracts/temporal.js';
import type { ping } from '../workflows/ping.js';
import { uniqueId, useWorkerEnvironment } from './helpers.js';

describe('smoke: workflow -> worker -> activity -> Postgres', () => {
  const t = useWorkerEnvironment();

  it('runs the ping workflow and stores exactly one row', async () => {
    const id = uniqueId('ping');
    const result = await t.temporal.client.workflow.execute<typeof ping>(PING_WORKFLOW, {
      taskQueue: t.worker.taskQueue,
      workflowId: id,
      args: [{ id, message: 'hello from the smoke test' }],
    });
    expect(result).toMatchObject({ id, message: 'hello from the smoke test' });

    const { rows } = await t.db.pool.query('SELECT id, message FROM pings WHERE id = $1', [id]);
    expect(rows).toEqual([{ id, message: 'hello from the smoke test' }]);

    const history = await t.temporal.client.workflow.getHandle(id).fetchHistory();
    const activityTypes = (history.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name
        ? [e.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
    expect(activityTypes).toEqual(['storePing']);
  });
});
