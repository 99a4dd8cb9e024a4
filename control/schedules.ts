/**
 * The daily batch-scoring schedule: create-or-update (keeping a paused schedule paused), list, describe,
 * trigger, pause, unpause and backfill. Each scheduled run scores the day before its scheduled time.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSummary,
  type Workflow,
} from '@temporalio/client';
import { BATCH_WORKFLOW, DAILY_SCHEDULE_ID, type BatchScoringInput } from '../contracts/batch.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { addDays, toNaiveTimestamp } from '../workflows/batch-input.js';
import { zonedToUtc } from '../platform/wall-clock.js';

type ScheduleConfig = Pick<Config, 'temporal' | 'batch'>;

export interface ScheduleTarget {
  /** Default DAILY_SCHEDULE_ID; tests use their own. */
  scheduleId?: string;
  /** Default config.temporal.taskQueue. */
  taskQueue?: string;
}

/** The overlap policy backfills use: every partition runs, one after another (see docs/batch.md). */
export const BACKFILL_OVERLAP = ScheduleOverlapPolicy.BUFFER_ALL;

const note = (c: ScheduleConfig) =>
  `Scores the previous day's rides (${c.batch.timeZone}) at "${c.batch.cron}" with ${BATCH_WORKFLOW}`;

function action(c: ScheduleConfig, t: ScheduleTarget): ScheduleOptionsStartWorkflowAction<Workflow> {
  const id = t.scheduleId ?? DAILY_SCHEDULE_ID;
  const args: BatchScoringInput = {
    chunkSize: c.batch.chunkSize,
    maxParallelChunks: c.batch.maxParallelChunks,
    timeZone: c.batch.timeZone,
    notify: true,
  };
  return {
    type: 'startWorkflow',
    workflowType: BATCH_WORKFLOW,
    taskQueue: t.taskQueue ?? c.temporal.taskQueue,
    workflowId: id, // the server appends the scheduled time: `<id>-2021-02-02T03:00:00Z`
    args: [args],
  };
}

const spec = (c: ScheduleConfig) => ({ cronExpressions: [c.batch.cron], timezone: c.batch.timeZone });
const policies = (c: ScheduleConfig) => ({
  overlap: ScheduleOverlapPolicy.BUFFER_ONE,
  catchupWindow: c.batch.catchupWindow,
});

/**
 * Creates the schedule, or updates spec/action/policies of an existing one while keeping its state (a paused
 * schedule stays paused across worker restarts). Safe when several workers start at once.
 */
export async function ensureDailySchedule(
  client: Client,
  config: ScheduleConfig,
  target: ScheduleTarget = {},
  logger?: Logger,
): Promise<'created' | 'updated'> {
  const scheduleId = target.scheduleId ?? DAILY_SCHEDULE_ID;
  const handle = client.schedule.getHandle(scheduleId);
  const update = async () => {
    await handle.update((prev) => ({
      spec: spec(config),
      action: action(config, target),
      policies: policies(config),
      state: { paused: prev.state.paused, note: prev.state.note },
    }));
    logger?.info({ scheduleId }, 'batch schedule updated (state kept)');
    return 'updated' as const;
  };
  try {
    await handle.describe();
    return await update();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  try {
    await client.schedule.create({
      scheduleId,
      spec: spec(config),
      action: action(config, target),
      policies: policies(config),
      memo: { description: note(config) },
      state: { note: note(config) },
    });
    logger?.info(
      { scheduleId, cron: config.batch.cron, tz: config.batch.timeZone },
      'batch schedule created',
    );
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return update(); // another worker created it first
    throw err;
  }
}

export async function listSchedules(client: Client): Promise<ScheduleSummary[]> {
  const out: ScheduleSummary[] = [];
  for await (const s of client.schedule.list()) out.push(s);
  return out;
}

export function describeSchedule(
  client: Client,
  scheduleId = DAILY_SCHEDULE_ID,
): Promise<ScheduleDescription> {
  return client.schedule.getHandle(scheduleId).describe();
}

/** Starts a run now; it scores yesterday (relative to now, in the schedule's zone). */
export function triggerSchedule(client: Client, scheduleId = DAILY_SCHEDULE_ID): Promise<void> {
  return client.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
}

export function pauseSchedule(
  client: Client,
  noteText?: string,
  scheduleId = DAILY_SCHEDULE_ID,
): Promise<void> {
  return client.schedule.getHandle(scheduleId).pause(noteText ?? 'paused via npm run schedule');
}

export function unpauseSchedule(
  client: Client,
  noteText?: string,
  scheduleId = DAILY_SCHEDULE_ID,
): Promise<void> {
  return client.schedule.getHandle(scheduleId).unpause(noteText ?? 'unpaused via npm run schedule');
}

/**
 * Runs the schedule for each day partition in [from, to) (dates): the partition D is scored by the action at
 * D+1 (cron time), so the window covers (from+1 00:00, to+1 00:00] minus one second in the schedule's zone.
 * The server treats the window as start-exclusive, end-inclusive; BUFFER_ALL keeps every one of those runs.
 */
export async function backfillSchedule(
  client: Client,
  config: Pick<Config, 'batch'>,
  range: { from: string; to: string },
  scheduleId = DAILY_SCHEDULE_ID,
): Promise<{ start: Date; end: Date; partitions: number }> {
  const from = toNaiveTimestamp(range.from);
  const to = toNaiveTimestamp(range.to);
  if (!from || from.slice(10) !== 'T00:00:00')
    throw new Error(`from: must be a date, e.g. 2021-02-01 (got ${range.from})`);
  if (!to || to.slice(10) !== 'T00:00:00')
    throw new Error(`to: must be a date, e.g. 2021-02-08 (got ${range.to})`);
  if (from >= to) throw new Error(`to: must be after from (${range.from} >= ${range.to})`);
  const start = new Date(zonedToUtc(addDays(from, 1), config.batch.timeZone).getTime() - 1000);
  const end = new Date(zonedToUtc(addDays(to, 1), config.batch.timeZone).getTime() - 1000);
  await client.schedule.getHandle(scheduleId).backfill({ start, end, overlap: BACKFILL_OVERLAP });
  const partitions = Math.round((Date.parse(`${to}Z`) - Date.parse(`${from}Z`)) / 86_400_000);
  return { start, end, partitions };
}
