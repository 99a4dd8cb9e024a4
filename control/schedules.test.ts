/** The daily schedule on the real Temporal server, driven by trigger and backfill (no wall-clock waits). */
import { type Client, type ScheduleDescription } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchRunSummary } from '../contracts/batch.js';
import { PARTITION_KEY } from '../contracts/temporal.js';
import { loadConfig } from '../config.js';
import { generateIntoDb } from '../data/generate-db.js';
import { uniqueId, useWorkerEnvironment } from '../test/helpers.js';
import { dateInZone } from '../contracts/batch-input.js';
import { deploymentSchema } from '../contracts/deployment.js';
import {
  backfillSchedule,
  describeSchedule,
  ensureDailySchedule,
  ensureSchedule,
  pauseSchedule,
  schedulePlans,
  triggerSchedule,
  unpauseSchedule,
} from './schedules.js';

const config = loadConfig({
  NODE_ENV: 'test',
  BATCH_CHUNK_SIZE: '400',
  BATCH_SCHEDULE_CRON: '0 3 * * *',
  BATCH_CATCHUP_WINDOW: '6h',
});

/** Workflow ids of the runs a schedule started, once `n` of them exist. */
async function runsOf(client: Client, scheduleId: string, n: number): Promise<string[]> {
  let d: ScheduleDescription = await describeSchedule(client, scheduleId);
  for (let i = 0; i < 300 && d.info.recentActions.length < n; i++) {
    await new Promise((r) => setTimeout(r, 100));
    d = await describeSchedule(client, scheduleId);
  }
  return d.info.recentActions.map((a) => a.action.workflow.workflowId);
}

describe('daily batch schedule', () => {
  const t = useWorkerEnvironment({
    seed: (db) => generateIntoDb(db.pool, { month: '2030-03', rows: 6_000, seed: 3 }),
  });
  const created: string[] = [];

  // Registered after the environment's hooks, so it runs before them: the client is still open.
  afterAll(async () => {
    for (const id of created)
      await t.temporal.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
  });

  const newSchedule = async () => {
    const scheduleId = uniqueId('daily');
    created.push(scheduleId);
    expect(
      await ensureDailySchedule(t.temporal.client, config, { scheduleId, taskQueue: t.worker.taskQueue }),
    ).toBe('created');
    return scheduleId;
  };

  it('creates the schedule with the configured spec and policies, and keeps it paused across updates', async () => {
    const scheduleId = await newSchedule();
    const d = await describeSchedule(t.temporal.client, scheduleId);
    expect(d.spec.timezone).toBe('UTC');
    expect(d.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }] });
    expect(d.policies.overlap).toBe('BUFFER_ONE');
    expect(d.policies.catchupWindow).toBe(6 * 3600 * 1000);
    expect(d.memo?.description).toContain('previous day');
    expect(d.state.paused).toBe(false);

    await pauseSchedule(t.temporal.client, 'data late upstream', scheduleId);
    const other = { ...config, batch: { ...config.batch, cron: '30 4 * * *' } };
    expect(
      await ensureDailySchedule(t.temporal.client, other, { scheduleId, taskQueue: t.worker.taskQueue }),
    ).toBe('updated');
    const after = await describeSchedule(t.temporal.client, scheduleId);
    expect(after.state).toMatchObject({ paused: true, note: 'data late upstream' });
    expect(after.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 4, end: 4, step: 1 }] });
    await unpauseSchedule(t.temporal.client, 'resumed', scheduleId);
    expect((await describeSchedule(t.temporal.client, scheduleId)).state.paused).toBe(false);
  });

  it('a triggered run scores the day before its scheduled time', async () => {
    const scheduleId = await newSchedule();
    await triggerSchedule(t.temporal.client, scheduleId);
    const [workflowId] = await runsOf(t.temporal.client, scheduleId, 1);
    const handle = t.temporal.client.workflow.getHandle(workflowId ?? '');
    const summary = (await handle.result()) as BatchRunSummary;
    const d = await describeSchedule(t.temporal.client, scheduleId);
    const scheduledAt = d.info.recentActions[0]?.scheduledAt ?? new Date(NaN);
    const today = dateInZone(scheduledAt, 'UTC');
    const yesterday = dateInZone(new Date(scheduledAt.getTime() - 86_400_000), 'UTC');
    expect(summary.partition).toEqual({ from: `${yesterday}T00:00:00`, to: `${today}T00:00:00` });
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(PARTITION_KEY)).toBe(yesterday);
  });

  it('a backfill runs exactly one run per partition, none dropped, each scoring its own day', async () => {
    const scheduleId = await newSchedule();
    const result = await backfillSchedule(
      t.temporal.client,
      config,
      { from: '2030-03-03', to: '2030-03-07' },
      scheduleId,
    );
    expect(result.partitions).toBe(4);
    const ids = await runsOf(t.temporal.client, scheduleId, 4);
    expect(ids).toHaveLength(4);
    const summaries = await Promise.all(
      ids.map((id) => t.temporal.client.workflow.getHandle(id).result() as Promise<BatchRunSummary>),
    );
    expect(summaries.map((s) => s.partition.from).sort()).toEqual(
      ['03', '04', '05', '06'].map((d) => `2030-03-${d}T00:00:00`),
    );
    const { rows } = await t.db.pool.query<{ day: string; n: string }>(
      `SELECT to_char(pickup_datetime, 'YYYY-MM-DD') AS day, count(*) AS n FROM rides
       WHERE pickup_datetime >= '2030-03-03' AND pickup_datetime < '2030-03-07' GROUP BY 1 ORDER BY 1`,
    );
    const byDay = Object.fromEntries(summaries.map((s) => [s.partition.from.slice(0, 10), s.rowsScored]));
    expect(byDay).toEqual(Object.fromEntries(rows.map((r) => [r.day, Number(r.n)])));
    const { rows: ledger } = await t.db.pool.query<{ partition_key: string }>(
      `SELECT partition_key FROM batch_runs WHERE workflow_id LIKE $1 ORDER BY 1`,
      [`${scheduleId}-%`],
    );
    expect(ledger.map((r) => r.partition_key)).toEqual([
      '2030-03-03',
      '2030-03-04',
      '2030-03-05',
      '2030-03-06',
    ]);
  });

  it('plans one schedule per deployment with batch.schedule, the default one keeping daily-batch-scoring', async () => {
    const spec = (json: object) => deploymentSchema.parse(json);
    const specs = [
      spec({
        name: 'first',
        default: true,
        model: 'm',
        batch: {
          source: { table: 'a', key: 'id', event_time: 'at' },
          schedule: { id: 'daily-batch-scoring', cron: '0 5 * * *' },
        },
      }),
      spec({
        name: 'second',
        model: 'm',
        batch: {
          source: { table: 'b', key: 'id' },
          schedule: { cron: '15 2 * * 1', time_zone: 'Europe/Paris', chunk_size: 10, paused: true },
        },
      }),
      spec({ name: 'third', model: 'm', batch: { source: { table: 'c', key: 'id' } } }),
    ];
    const { plans, mismatch } = schedulePlans(specs, config, 'first');
    expect(plans).toEqual([
      { scheduleId: 'daily-batch-scoring', cron: '0 3 * * *', timeZone: 'UTC', daily: true, paused: false },
      {
        scheduleId: 'batch-second',
        deployment: 'second',
        cron: '15 2 * * 1',
        timeZone: 'Europe/Paris',
        daily: false,
        chunkSize: 10,
        paused: true,
      },
    ]);
    expect(mismatch).toEqual([
      'first: batch.schedule is "0 5 * * *" UTC but BATCH_SCHEDULE_CRON/BATCH_SCHEDULE_TZ are "0 3 * * *" UTC; the environment wins for the default deployment',
    ]);

    const scheduleId = uniqueId('second');
    created.push(scheduleId);
    const plan = { ...(plans[1] ?? plans[0]), scheduleId } as (typeof plans)[number];
    expect(await ensureSchedule(t.temporal.client, config, plan, t.worker.taskQueue)).toBe('created');
    const d = await describeSchedule(t.temporal.client, scheduleId);
    expect(d.state.paused).toBe(true);
    expect(d.spec.timezone).toBe('Europe/Paris');
    expect(d.memo?.description).toContain('whole source table of second');
    expect(d.action.type === 'startWorkflow' ? d.action.args : []).toEqual([
      { deployment: 'second', chunkSize: 10, maxParallelChunks: 2, timeZone: 'Europe/Paris', notify: true },
    ]);
  });
});
