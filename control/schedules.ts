/**
 * Batch-scoring schedules, one per deployment with a `batch.schedule` block: create-or-update (keeping a paused
 * schedule paused), list, describe, trigger, pause, unpause and backfill. Each scheduled run of a source with event
 * time scores the day before its scheduled time; of a source without, the whole table.
 */
import {
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSummary,
  type Workflow,
} from '@temporalio/client';
import { BATCH_WORKFLOW, DAILY_SCHEDULE_ID, type BatchScoringInput } from '../contracts/batch.js';
import { addDays, toNaiveTimestamp } from '../contracts/batch-input.js';
import type { DeploymentSpec } from '../contracts/deployment.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { upsertSchedule } from './schedule-upsert.js';
import { zonedToUtc } from '../platform/wall-clock.js';

type ScheduleConfig = Pick<Config, 'temporal' | 'batch'>;

export interface ScheduleTarget {
  /** Default DAILY_SCHEDULE_ID; tests use their own. */
  scheduleId?: string;
  /** Default config.temporal.taskQueue. */
  taskQueue?: string;
}

/** One deployment's schedule: what its action starts and when. */
export interface SchedulePlan {
  scheduleId: string;
  /** Absent for the default deployment (its runs name none, so they keep the `batch-<key>`-style ids). */
  deployment?: string;
  cron: string;
  timeZone: string;
  /** The source has event time: each run scores the previous day; otherwise the whole table. */
  daily: boolean;
  chunkSize?: number;
  /** State of a newly created schedule (an existing one keeps its own). */
  paused: boolean;
}

/**
 * The schedules of the deployments with a `batch.schedule` block. The default deployment's id defaults to
 * DAILY_SCHEDULE_ID and its cron/zone come from BATCH_SCHEDULE_CRON/BATCH_SCHEDULE_TZ (the settings that existed
 * before deployment files; `mismatch` says when its file disagrees); any other's id defaults to
 * `batch-<deployment>`, its cron and zone from its file.
 */
export function schedulePlans(
  specs: readonly DeploymentSpec[],
  config: Pick<Config, 'batch'>,
  defaultName?: string,
): { plans: SchedulePlan[]; mismatch: string[] } {
  const plans: SchedulePlan[] = [];
  const mismatch: string[] = [];
  for (const spec of specs) {
    const s = spec.batch?.schedule;
    if (!s) continue;
    const isDefault = spec.name === defaultName;
    const daily = spec.batch?.source.event_time !== undefined;
    const chunk = s.chunk_size !== undefined ? { chunkSize: s.chunk_size } : {};
    if (isDefault) {
      if (s.cron !== config.batch.cron || s.time_zone !== config.batch.timeZone)
        mismatch.push(
          `${spec.name}: batch.schedule is "${s.cron}" ${s.time_zone} but BATCH_SCHEDULE_CRON/BATCH_SCHEDULE_TZ are "${config.batch.cron}" ${config.batch.timeZone}; the environment wins for the default deployment`,
        );
      plans.push({
        scheduleId: s.id ?? DAILY_SCHEDULE_ID,
        cron: config.batch.cron,
        timeZone: config.batch.timeZone,
        daily,
        paused: s.paused,
        ...chunk,
      });
    } else
      plans.push({
        scheduleId: s.id ?? `batch-${spec.name}`,
        deployment: spec.name,
        cron: s.cron,
        timeZone: s.time_zone,
        daily,
        paused: s.paused,
        ...chunk,
      });
  }
  return { plans, mismatch };
}

/** The default deployment's plan as the configuration alone gives it (CLI, tests, API). */
function defaultPlan(c: Pick<Config, 'batch'>, scheduleId: string): SchedulePlan {
  return { scheduleId, cron: c.batch.cron, timeZone: c.batch.timeZone, daily: true, paused: false };
}

/** The overlap policy backfills use: every partition runs, one after another (see docs/batch.md). */
export const BACKFILL_OVERLAP = ScheduleOverlapPolicy.BUFFER_ALL;

const note = (p: SchedulePlan) =>
  `${p.daily ? "Scores the previous day's records" : 'Scores the whole source table'} of ${p.deployment ?? 'the default deployment'} (${p.timeZone}) at "${p.cron}" with ${BATCH_WORKFLOW}`;

function action(
  c: ScheduleConfig,
  p: SchedulePlan,
  taskQueue?: string,
): ScheduleOptionsStartWorkflowAction<Workflow> {
  const args: BatchScoringInput = {
    ...(p.deployment !== undefined ? { deployment: p.deployment } : {}),
    chunkSize: p.chunkSize ?? c.batch.chunkSize,
    maxParallelChunks: c.batch.maxParallelChunks,
    timeZone: p.timeZone,
    notify: true,
  };
  return {
    type: 'startWorkflow',
    workflowType: BATCH_WORKFLOW,
    taskQueue: taskQueue ?? c.temporal.taskQueue,
    workflowId: p.scheduleId, // the server appends the scheduled time: `<id>-2021-02-02T03:00:00Z`
    args: [args],
  };
}

const spec = (p: SchedulePlan) => ({ cronExpressions: [p.cron], timezone: p.timeZone });
const policies = (c: ScheduleConfig) => ({
  overlap: ScheduleOverlapPolicy.BUFFER_ONE,
  catchupWindow: c.batch.catchupWindow,
});

/** ensureSchedule for the default deployment from the configuration alone (the daily schedule). */
export function ensureDailySchedule(
  client: Client,
  config: ScheduleConfig,
  target: ScheduleTarget = {},
  logger?: Logger,
): Promise<'created' | 'updated'> {
  return ensureSchedule(
    client,
    config,
    defaultPlan(config, target.scheduleId ?? DAILY_SCHEDULE_ID),
    target.taskQueue,
    logger,
  );
}

/**
 * Creates a deployment's schedule, or updates spec/action/policies of an existing one while keeping its state (a
 * paused schedule stays paused across worker restarts). Safe when several workers start at once.
 */
export async function ensureSchedule(
  client: Client,
  config: ScheduleConfig,
  plan: SchedulePlan,
  taskQueue?: string,
  logger?: Logger,
): Promise<'created' | 'updated'> {
  const { scheduleId } = plan;
  const outcome = await upsertSchedule(client, {
    scheduleId,
    spec: spec(plan),
    action: action(config, plan, taskQueue),
    policies: policies(config),
    memo: { description: note(plan) },
    state: { note: note(plan), paused: plan.paused },
  });
  if (outcome === 'created')
    logger?.info(
      { scheduleId, deployment: plan.deployment, cron: plan.cron, tz: plan.timeZone },
      'batch schedule created',
    );
  else logger?.info({ scheduleId }, 'batch schedule updated (state kept)');
  return outcome;
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
  const handle = client.schedule.getHandle(scheduleId);
  // Each deployment's schedule has its own zone: the day boundaries are the schedule's, not the configuration's.
  const timeZone = (await handle.describe()).spec.timezone ?? config.batch.timeZone;
  const start = new Date(zonedToUtc(addDays(from, 1), timeZone).getTime() - 1000);
  const end = new Date(zonedToUtc(addDays(to, 1), timeZone).getTime() - 1000);
  await handle.backfill({ start, end, overlap: BACKFILL_OVERLAP });
  const partitions = Math.round((Date.parse(`${to}Z`) - Date.parse(`${from}Z`)) / 86_400_000);
  return { start, end, partitions };
}
