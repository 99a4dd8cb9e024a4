/** The monitoring schedule of a deployment (`monitor-<deployment>` unless named): created or updated, state kept. */
import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { MONITOR_WORKFLOW, monitorScheduleId, type MonitorInput } from '../contracts/monitoring.js';
import type { DeploymentSpec } from '../contracts/deployment.js';
import type { Logger } from '../logger.js';
import { upsertSchedule } from './schedule-upsert.js';

export async function ensureMonitoringSchedule(
  client: Client,
  taskQueue: string,
  spec: DeploymentSpec,
  logger?: Logger,
): Promise<string | undefined> {
  const schedule = spec.monitoring?.schedule;
  if (!schedule) return undefined;
  const scheduleId = schedule.id ?? monitorScheduleId(spec.name);
  const args: MonitorInput[] = [{ deployment: spec.name, timeZone: schedule.time_zone }];
  const options: Omit<ScheduleOptions, 'scheduleId'> = {
    spec: { cronExpressions: [schedule.cron], timezone: schedule.time_zone },
    action: {
      type: 'startWorkflow',
      workflowType: MONITOR_WORKFLOW,
      taskQueue,
      args,
      workflowId: `monitor-${spec.name}`,
    },
    // A window is computed once per scheduled time; a backfill of many days runs them one after another.
    policies: { overlap: ScheduleOverlapPolicy.BUFFER_ALL, catchupWindow: '1 day' },
    state: { paused: schedule.paused, note: `drift of ${spec.name}'s batch source, the previous day` },
  };
  if ((await upsertSchedule(client, { scheduleId, ...options })) === 'created')
    logger?.info({ scheduleId, deployment: spec.name, cron: schedule.cron }, 'monitoring schedule created');
  return scheduleId;
}
