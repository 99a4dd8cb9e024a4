/**
 * Client side of retraining, shared by the API, the alert hook and the worker's start-up: start a deployment's
 * retraining (one at a time: a running one is a RetrainingRunningError, 409) and its Temporal Schedule.
 */
import {
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { DeploymentSpec } from '../contracts/deployment.js';
import {
  RETRAINING_WORKFLOW,
  retrainingScheduleId,
  SCHEDULED_RETRAINING_WORKFLOW,
  retrainingWorkflowId,
  type RetrainingInput,
} from '../contracts/retraining.js';
import type { Logger } from '../logger.js';
import { upsertSchedule } from './schedule-upsert.js';

export class RetrainingRunningError extends Error {
  constructor(deployment: string, options?: ErrorOptions) {
    super(`a retraining of ${deployment} is running: wait for it to end or cancel it first`, options);
    this.name = 'RetrainingRunningError';
  }
}

export async function startRetraining(
  client: Client,
  taskQueue: string,
  input: RetrainingInput,
): Promise<{ workflowId: string; runId: string }> {
  const workflowId = retrainingWorkflowId(taskQueue, input.deployment);
  try {
    const handle = await client.workflow.start(RETRAINING_WORKFLOW, {
      taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
    });
    return { workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new RetrainingRunningError(input.deployment, { cause: err });
    throw err;
  }
}

/** The retraining schedule of a deployment with `retraining.schedule` (`retrain-<deployment>` unless named). */
export async function ensureRetrainingSchedule(
  client: Client,
  taskQueue: string,
  spec: DeploymentSpec,
  logger?: Logger,
): Promise<string | undefined> {
  const schedule = spec.retraining?.schedule;
  if (!schedule) return undefined;
  const scheduleId = schedule.id ?? retrainingScheduleId(spec.name);
  const args: RetrainingInput[] = [
    { deployment: spec.name, trigger: 'schedule', reason: `schedule ${scheduleId} (${schedule.cron})` },
  ];
  const options: Omit<ScheduleOptions, 'scheduleId'> = {
    spec: { cronExpressions: [schedule.cron], timezone: schedule.time_zone },
    action: {
      type: 'startWorkflow',
      // Temporal suffixes this id with the scheduled time; the retraining itself runs under its one-at-a-time id.
      workflowType: SCHEDULED_RETRAINING_WORKFLOW,
      taskQueue,
      args,
      workflowId: `${retrainingWorkflowId(taskQueue, spec.name)}-scheduled`,
    },
    // The scheduled workflow ends once it has started the retraining; one still running answers the next one too.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    state: { paused: schedule.paused, note: `retraining of ${spec.name}` },
  };
  if ((await upsertSchedule(client, { scheduleId, ...options })) === 'created')
    logger?.info({ scheduleId, deployment: spec.name, cron: schedule.cron }, 'retraining schedule created');
  return scheduleId;
}
