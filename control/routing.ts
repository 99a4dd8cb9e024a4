/**
 * Client side of rollouts, shared by the API, the CLI and the rollout workflow's activity: start (or find) a
 * deployment's controller, change its routing, start a rollout and act on it. Refusals come back typed:
 * RoutingRefusedError (400, naming the fields) and RoutingConflictError (409).
 */
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import {
  abortRolloutUpdate,
  approveRolloutUpdate,
  changeRoutingUpdate,
  claimRolloutUpdate,
  controllerId,
  pauseRolloutUpdate,
  rejectRolloutUpdate,
  releaseRolloutUpdate,
  resumeRolloutUpdate,
  rolloutProgressQuery,
  rolloutWorkflowId,
  routingStateQuery,
  type ControllerInput,
  type FieldProblem,
  type RolloutAction,
  type RolloutActionName,
  type RolloutProgress,
  type RolloutSpec,
  type RoutingPatch,
  type RoutingState,
} from '../contracts/routing.js';
import { ROLLOUT_STATUS_KEY, ROLLOUT_STEP_KEY } from '../contracts/temporal.js';

export class RoutingRefusedError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.name = 'RoutingRefusedError';
  }
}

export class RoutingConflictError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RoutingConflictError';
  }
}

export class RolloutNotFoundError extends Error {
  constructor(deployment: string, id: string, options?: ErrorOptions) {
    super(`deployment ${deployment} has no rollout "${id}"`, options);
    this.name = 'RolloutNotFoundError';
  }
}

function applicationFailureIn(err: unknown): ApplicationFailure | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if (e instanceof ApplicationFailure && e.type) return e;
  return undefined;
}

/** An Update's refusal as a typed error (anything else is rethrown as it is). */
export function mapRefusal(err: unknown): never {
  const failure = err instanceof WorkflowUpdateFailedError ? applicationFailureIn(err) : undefined;
  if (failure?.type === 'InvalidRouting') {
    const problems = failure.details?.[0] as FieldProblem[] | undefined;
    throw new RoutingRefusedError(problems ?? [{ field: '(body)', message: failure.message }]);
  }
  if (failure?.type === 'RoutingConflict' || failure?.type === 'RolloutConflict')
    throw new RoutingConflictError(failure.message, { cause: err });
  throw err;
}

/** Starts the deployment's controller unless it runs; `state` (from the mirror) continues where an earlier one was. */
export async function ensureController(
  client: Client,
  taskQueue: string,
  input: ControllerInput,
): Promise<void> {
  try {
    await client.workflow.start('routingController', {
      taskQueue,
      workflowId: controllerId(taskQueue, input.deployment),
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

export async function changeRouting(
  client: Client,
  taskQueue: string,
  deployment: string,
  patch: RoutingPatch,
  updateId?: string,
): Promise<RoutingState> {
  return client.workflow
    .getHandle(controllerId(taskQueue, deployment))
    .executeUpdate(changeRoutingUpdate, { args: [patch], ...(updateId ? { updateId } : {}) })
    .catch(mapRefusal);
}

export type RoutingOp = 'change' | 'claim' | 'release';

/** The three routing Updates by name (the rollout workflow's activity sends them with a stable update id). */
export async function routingUpdate(
  client: Client,
  taskQueue: string,
  deployment: string,
  op: RoutingOp,
  arg: unknown,
  updateId: string,
): Promise<RoutingState> {
  const handle = client.workflow.getHandle(controllerId(taskQueue, deployment));
  const options = { updateId };
  const run =
    op === 'claim'
      ? handle.executeUpdate(claimRolloutUpdate, { ...options, args: [arg as never] })
      : op === 'release'
        ? handle.executeUpdate(releaseRolloutUpdate, { ...options, args: [arg as never] })
        : handle.executeUpdate(changeRoutingUpdate, { ...options, args: [arg as never] });
  return run.catch(mapRefusal);
}

export function controllerState(
  client: Client,
  taskQueue: string,
  deployment: string,
): Promise<RoutingState> {
  return client.workflow.getHandle(controllerId(taskQueue, deployment)).query(routingStateQuery);
}

/** Starts a rollout workflow; a rollout id in use is a conflict. */
export async function startRollout(client: Client, taskQueue: string, spec: RolloutSpec): Promise<string> {
  const workflowId = rolloutWorkflowId(taskQueue, spec.deployment, spec.id);
  try {
    await client.workflow.start('rollout', {
      taskQueue,
      workflowId,
      args: [spec],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: ROLLOUT_STATUS_KEY, value: 'running' },
        { key: ROLLOUT_STEP_KEY, value: `1/${spec.steps.length}:0%` },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new RoutingConflictError(`rollout id "${spec.id}" was used before on ${spec.deployment}`);
    throw err;
  }
  return workflowId;
}

const ACTIONS = {
  approve: approveRolloutUpdate,
  reject: rejectRolloutUpdate,
  pause: pauseRolloutUpdate,
  resume: resumeRolloutUpdate,
  abort: abortRolloutUpdate,
} as const;

export async function actOnRollout(
  client: Client,
  taskQueue: string,
  deployment: string,
  id: string,
  action: RolloutActionName,
  by: RolloutAction,
): Promise<RolloutProgress> {
  const handle = client.workflow.getHandle(rolloutWorkflowId(taskQueue, deployment, id));
  try {
    return await handle.executeUpdate(ACTIONS[action], { args: [by] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      // An Update to a closed workflow reads as "not found": tell an ended rollout from a missing one.
      const closed = await handle.describe().catch(() => undefined);
      // An abort of a rollout that ended without giving the routing back (terminated) releases it here.
      if (closed && action === 'abort') {
        const owner = await controllerState(client, taskQueue, deployment).catch(() => undefined);
        if (owner?.rollout === id) {
          await routingUpdate(
            client,
            taskQueue,
            deployment,
            'release',
            {
              rollout: id,
              promote: false,
              actor: by.actor,
              reason: `aborted after rollout ${id} ended (${closed.status.name})`,
            },
            `${id}-release-after-end`,
          );
          throw new RoutingConflictError(
            `rollout ${id} had ended (${closed.status.name}) still owning the routing: the routing is released to the champion`,
            { cause: err },
          );
        }
      }
      if (closed)
        throw new RoutingConflictError(
          `rollout ${id} has ended (${closed.status.name}); there is nothing to ${action}`,
          {
            cause: err,
          },
        );
      throw new RolloutNotFoundError(deployment, id, { cause: err });
    }
    if (err instanceof Error && /already completed/i.test(err.message))
      throw new RoutingConflictError(`rollout ${id} has ended; there is nothing to ${action}`, {
        cause: err,
      });
    return mapRefusal(err);
  }
}

/** Live progress from the workflow (works after it ended too, while Temporal keeps its history). */
export async function rolloutProgress(
  client: Client,
  taskQueue: string,
  deployment: string,
  id: string,
): Promise<RolloutProgress> {
  try {
    return await client.workflow
      .getHandle(rolloutWorkflowId(taskQueue, deployment, id))
      .query(rolloutProgressQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new RolloutNotFoundError(deployment, id, { cause: err });
    throw err;
  }
}
