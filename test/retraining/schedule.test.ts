/**
 * A deployment's `retraining.schedule` becomes a Temporal Schedule, as the worker process makes it at start
 * (control/retraining.ts): its cron and time zone, overlap SKIP, on the deployment's task queue. Triggered (as its
 * cron would), it starts a retraining with trigger `schedule` under the one-at-a-time id, judged like any other;
 * triggered while a retraining the API started runs, it starts none. Made again at the next start it stays one
 * schedule. On the real Temporal dev server (Schedules).
 */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, expect, it } from 'vitest';
import { ensureRetrainingSchedule } from '../../control/retraining.js';
import { retrainingWorkflowId, SCHEDULED_RETRAINING_WORKFLOW } from '../../contracts/retraining.js';
import type { ScheduledRetrainingResult } from '../../workflows/retraining-schedule.js';
import { loadTestDeployments, uniqueId, waitFor } from '../helpers.js';
import { MODEL, startRetrainingStack, type RetrainingStack } from './fixture.js';

let stack: RetrainingStack | undefined;
let scheduleId: string | undefined;
afterAll(async () => {
  if (stack && scheduleId) await stack.temporal.client.schedule.getHandle(scheduleId).delete();
  await stack?.close();
});

// 03:00 on the 1st of January: never due while the test runs; the test triggers it instead.
const CRON = '0 3 1 1 *';

it(
  'retraining.schedule: one Temporal Schedule; triggered, it starts a retraining (trigger schedule), judged against the champion',
  { timeout: 150_000 },
  async () => {
    const id = uniqueId('retrain-schedule');
    stack = await startRetrainingStack({
      champion: 'repository',
      retraining: { schedule: { id, cron: CRON, time_zone: 'Europe/Paris' } },
    });
    const s = stack;
    const spec = (await loadTestDeployments(s.db.pool, s.apiScorer, { dir: s.deploymentDir })).get(
      MODEL,
    )?.spec;
    if (!spec) throw new Error(`${MODEL} did not load`);
    const { client } = s.temporal;
    scheduleId = await ensureRetrainingSchedule(client, s.taskQueue, spec);
    expect(scheduleId).toBe(id);
    const handle = client.schedule.getHandle(id);
    const described = await handle.describe();
    expect(described.spec.timezone).toBe('Europe/Paris');
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.state.paused).toBe(false);
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: SCHEDULED_RETRAINING_WORKFLOW,
      taskQueue: s.taskQueue,
    });
    /** The result of the schedule's latest run (Temporal suffixes its workflow id with the scheduled time). */
    const latestScheduled = async (count: number): Promise<ScheduledRetrainingResult> => {
      await waitFor(async () => (await handle.describe()).info.recentActions.length >= count, {
        timeoutMs: 20_000,
        what: `schedule action ${count}`,
      });
      const action = (await handle.describe()).info.recentActions.at(-1)?.action;
      return (await client.workflow
        .getHandle(action?.workflow.workflowId ?? '')
        .result()) as ScheduledRetrainingResult;
    };

    await handle.trigger();
    const first = await latestScheduled(1);
    expect(first).toMatchObject({ started: true, workflowId: retrainingWorkflowId(s.taskQueue, MODEL) });
    const started = await s.firstRun('the retraining the schedule starts');
    expect(started).toMatchObject({
      trigger: 'schedule',
      reason: `schedule ${id} (${CRON})`,
      runId: first.runId,
    });
    // The script retrains the repository's champion: as good, not better by the margin, so it is refused.
    const result = await s.result(started?.runId ?? '');
    expect(result).toMatchObject({ status: 'refused', version: '2', rollout: null });

    // While a retraining the API started runs, the schedule starts none (one at a time per deployment).
    const api = await s.send('POST', `/deployments/${MODEL}/retraining`, { reason: 'by hand' });
    expect(api.status, await api.clone().text()).toBe(202);
    const { runId: apiRun } = (await api.json()) as { runId: string };
    await handle.trigger();
    expect(await latestScheduled(2)).toEqual({
      started: false,
      workflowId: retrainingWorkflowId(s.taskQueue, MODEL),
      note: `a retraining of ${MODEL} is running already: this schedule run started none`,
    });
    expect(await s.result(apiRun)).toMatchObject({ status: 'refused' });
    expect((await s.runs()).map((r) => r.trigger)).toEqual(['api', 'schedule']);

    // The worker's next start makes it again: the same schedule, updated, never a second one.
    expect(await ensureRetrainingSchedule(client, s.taskQueue, spec)).toBe(id);
    expect((await handle.describe()).info.recentActions).toHaveLength(2);
  },
);
