/**
 * Control functions for ad-hoc batch runs, shared by the HTTP API and the CLI: start (idempotent by key), look up
 * (status + live progress or final summary), cancel. Input is validated with the workflow's own rules first.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import {
  BATCH_WORKFLOW,
  batchProgressQuery,
  type BatchRunSummary,
  type BatchRunView,
  type BatchScoringInput,
} from '../contracts/batch.js';
import { checkBatchInput } from '../contracts/batch-input.js';
import type { Config } from '../config.js';

/** Bad input, named by field (the API maps it to 400). */
export class BatchInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'BatchInputError';
  }
}

/** No batch run with this workflow id (the API maps it to 404). */
export class BatchRunNotFoundError extends Error {
  constructor(readonly workflowId: string) {
    super(`batch run ${workflowId} not found`);
    this.name = 'BatchRunNotFoundError';
  }
}

export interface StartedBatchRun {
  workflowId: string;
  runId: string;
  webUiUrl: string;
  /** False when the idempotency key named a run that already existed (its ids are returned). */
  created: boolean;
}

type ControlConfig = Pick<Config, 'temporal' | 'batch'>;

export function webUiUrl(config: Pick<Config, 'temporal'>, workflowId: string, runId?: string): string {
  const base = `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows`;
  return `${base}/${encodeURIComponent(workflowId)}${runId ? `/${encodeURIComponent(runId)}` : ''}/history`;
}

/**
 * The workflow id of a run: `batch-<key>` for the default deployment (a run naming none, or naming
 * `defaultDeployment`), `batch-<deployment>-<key>` for any other, so keys of different deployments never collide.
 */
export function batchWorkflowId(key: string, deployment?: string, defaultDeployment?: string): string {
  return deployment === undefined || deployment === defaultDeployment
    ? `batch-${key}`
    : `batch-${deployment}-${key}`;
}

/**
 * Starts `batchScoring` with the config's chunking defaults. The same `idempotencyKey` always maps to the same
 * workflow id, so a retried request returns the existing run instead of starting a second one. A run of the
 * default deployment needs from/to; a named deployment may omit them (a source without event time scores its
 * whole table; the run refuses bounds it cannot use, and a missing range on one with event time).
 */
export async function startBatchRun(
  client: Client,
  config: ControlConfig,
  input: BatchScoringInput,
  options: { idempotencyKey?: string; taskQueue?: string; defaultDeployment?: string } = {},
): Promise<StartedBatchRun> {
  const checked = checkBatchInput(input);
  if (!checked.ok) throw new BatchInputError(checked.field, checked.reason);
  const unnamed = input.deployment === undefined || input.deployment === options.defaultDeployment;
  if (!checked.value && unnamed)
    throw new BatchInputError('from', 'is required (only a schedule may omit the bounds)');
  const workflowId = batchWorkflowId(
    options.idempotencyKey ?? randomUUID(),
    input.deployment,
    options.defaultDeployment,
  );
  const args: BatchScoringInput = {
    chunkSize: config.batch.chunkSize,
    maxParallelChunks: config.batch.maxParallelChunks,
    ...input,
  };
  try {
    const handle = await client.workflow.start(BATCH_WORKFLOW, {
      taskQueue: options.taskQueue ?? config.temporal.taskQueue,
      workflowId,
      args: [args],
      // A running or finished run with this id makes start throw, so a repeat is reported as not created.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    const runId = handle.firstExecutionRunId;
    return { workflowId, runId, webUiUrl: webUiUrl(config, workflowId, runId), created: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const described = await client.workflow.getHandle(workflowId).describe();
    return {
      workflowId,
      runId: described.runId,
      webUiUrl: webUiUrl(config, workflowId, described.runId),
      created: false,
    };
  }
}

const STATUS: Partial<Record<WorkflowExecutionStatusName, BatchRunView['status']>> = {
  RUNNING: 'running',
  CONTINUED_AS_NEW: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
};

/** Status of a run (following continue-as-new), with live progress while running or the summary when done. */
export async function getBatchRun(
  client: Client,
  config: Pick<Config, 'temporal'>,
  workflowId: string,
): Promise<BatchRunView> {
  const handle = client.workflow.getHandle(workflowId);
  let described;
  try {
    described = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new BatchRunNotFoundError(workflowId);
    throw err;
  }
  const status = STATUS[described.status.name] ?? 'running';
  const view: BatchRunView = {
    workflowId,
    runId: described.runId,
    status,
    webUiUrl: webUiUrl(config, workflowId, described.runId),
  };
  if (status === 'running') {
    view.progress = await handle.query(batchProgressQuery).catch(() => undefined);
  } else if (status === 'completed') {
    view.summary = (await handle.result()) as BatchRunSummary;
  } else {
    view.error = await handle.result().then(
      () => undefined,
      (err: unknown) => rootMessage(err),
    );
  }
  return view;
}

/** Requests cancellation; the run records `cancelled` in batch_runs and notifies before it ends. */
export async function cancelBatchRun(client: Client, workflowId: string): Promise<void> {
  try {
    await client.workflow.getHandle(workflowId).cancel();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new BatchRunNotFoundError(workflowId);
    throw err;
  }
}

function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
