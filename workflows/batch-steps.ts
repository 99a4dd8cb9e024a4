/**
 * The steps of a batch run, in workflow code: activity proxies (timeouts and retries set once, here), the
 * bounded-parallel chunk loop, the one-child-per-day fan-out, and the record/notify step.
 */
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type {
  BatchCarry,
  BatchMetrics,
  BatchProgress,
  BatchRunStatus,
  BatchRunSummary,
  BatchScoringInput,
  BatchTotals,
  ChunkPlan,
  ResolvedBatchRun,
} from '../contracts/batch.js';
import { BATCH_WORKFLOW, emptyTotals } from '../contracts/batch.js';
import type { ResolvedModel } from '../contracts/scoring.js';
import type { Partition } from '../contracts/batch-input.js';

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;
// Quick bookkeeping: a short timeout, so an attempt lost with its worker is retried within seconds.
const setup = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...retry, maximumAttempts: 10 },
});
// Planning scans a partition's index (long for huge days), so it heartbeats instead of relying on the timeout.
const planning = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { ...retry, maximumAttempts: 10 },
});
const chunks = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { ...retry, maximumAttempts: 20 },
});
export const WEBHOOK_ATTEMPTS = 5;
const webhook = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...retry, maximumInterval: '30 seconds', maximumAttempts: WEBHOOK_ATTEMPTS },
});

export interface RunOptions {
  chunkSize: number;
  maxParallelChunks: number;
  maxChunksPerRun: number;
  batchRows?: number;
  /** false: the run computes no drift window (passed on to a multi-day run's day children). */
  drift?: boolean;
}

export function addTotals(a: BatchTotals | undefined, b: BatchTotals): BatchTotals {
  const base = a ?? emptyTotals();
  return {
    scored: base.scored + b.scored,
    rejected: base.rejected + b.rejected,
    compared: base.compared + b.compared,
    sumSquaredError: base.sumSquaredError + b.sumSquaredError,
    sumAbsError: base.sumAbsError + b.sumAbsError,
    correct: base.correct + b.correct,
  };
}

/** Pins the deployment (default when unnamed) and the model version (the deployment's unless `model` is given). */
export function resolveRun(input: { deployment?: string; model?: string }): Promise<ResolvedBatchRun> {
  return setup.resolveBatchRun({
    ...(input.deployment !== undefined ? { deployment: input.deployment } : {}),
    ...(input.model !== undefined ? { model: input.model } : {}),
  });
}

/** Runs `work` over `items` with at most `limit` in flight (deterministic: lanes pull in order). */
async function inLanes<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/**
 * Plans up to `maxChunksPerRun` chunks from the carried cursor and scores them. Returns cumulative totals, and
 * `next` (the state to continue as new with) when rows remain after this run's chunks.
 */
export async function scorePartition(args: {
  partition: Partition;
  resolved: ResolvedBatchRun;
  runId: string;
  options: RunOptions;
  carry: BatchCarry;
  progress: BatchProgress;
}): Promise<{ totals: BatchTotals; next?: BatchCarry }> {
  const { partition, resolved, runId, options, carry, progress } = args;
  const { deployment, model } = resolved;
  const done = carry.chunksDone ?? 0;
  const plan = await planning.planChunks({
    deployment,
    model,
    from: partition.from,
    to: partition.to,
    ...(carry.cursor ? { start: carry.cursor } : {}),
    chunkSize: options.chunkSize,
    maxChunks: options.maxChunksPerRun,
    firstIndex: done,
  });
  progress.chunksTotal = done + Math.ceil(plan.remainingRows / options.chunkSize);
  let totals = carry.totals ?? emptyTotals();
  // Rows read by the runs before a continue-as-new plus the rows this plan counted from its cursor.
  const planned = {
    chunksTotal: progress.chunksTotal,
    rowsTotal: totals.scored + totals.rejected + plan.remainingRows,
  };
  await inLanes(plan.chunks, options.maxParallelChunks, async (chunk: ChunkPlan) => {
    const t = await chunks.scoreChunk({
      runId,
      deployment,
      from: partition.from,
      to: partition.to,
      chunk,
      model,
      ...(options.batchRows ? { batchRows: options.batchRows } : {}),
      planned,
    });
    totals = addTotals(totals, t);
    progress.chunksDone++;
    progress.rowsScored = totals.scored;
    progress.rowsRejected = totals.rejected;
  });
  if (!plan.next) return { totals };
  return {
    totals,
    next: { cursor: plan.next, chunksDone: progress.chunksDone, chunksTotal: progress.chunksTotal, totals },
  };
}

/** One child run per day partition (each with its own history and batch_runs row), `maxParallelChunks` at once. */
export async function scoreDays(args: {
  days: Partition[];
  resolved: ResolvedBatchRun;
  runId: string;
  options: RunOptions;
  progress: BatchProgress;
}): Promise<BatchTotals> {
  const { days, resolved, runId, options, progress } = args;
  const parentId = workflowInfo().workflowId;
  progress.chunksTotal = days.length; // a multi-day run counts day partitions
  let totals = emptyTotals();
  await inLanes(days, options.maxParallelChunks, async (day) => {
    const child: BatchScoringInput = {
      deployment: resolved.deployment,
      from: day.from,
      to: day.to,
      ...options,
      notify: false,
      carry: { resolved, parentRunId: runId },
    };
    const s = await executeChild<(input: BatchScoringInput) => Promise<BatchRunSummary>>(BATCH_WORKFLOW, {
      workflowId: `${parentId}/${day.from.slice(0, 10)}`,
      args: [child],
    });
    const compared = s.rowsCompared ?? 0;
    // A child's metrics are means over its compared rows: weighted back into sums, they combine exactly.
    totals = addTotals(totals, {
      scored: s.rowsScored,
      rejected: s.rowsRejected,
      compared,
      sumSquaredError: (s.rmse ?? 0) ** 2 * compared,
      sumAbsError: (s.mae ?? 0) * compared,
      correct: Math.round((s.metrics?.accuracy ?? 0) * compared),
    });
    progress.chunksDone++;
    progress.rowsScored = totals.scored;
    progress.rowsRejected = totals.rejected;
  });
  return totals;
}

export interface RunIdentity {
  runId: string;
  workflowId: string;
  partition: Partition;
  partitionKey: string;
  startedAt: string;
  parentRunId?: string;
  /** Known once the resolve step ran (absent in the record of a run that failed before). */
  resolved?: ResolvedBatchRun;
}

/** The run's metrics by task over its compared rows (none without labelled rows). */
function metricsOf(
  task: ResolvedBatchRun['task'] | undefined,
  totals: BatchTotals | undefined,
): BatchMetrics {
  const n = totals?.compared ?? 0;
  if (!totals || n === 0 || !task) return {};
  if (task === 'classification') return { accuracy: totals.correct / n };
  return { rmse: Math.sqrt(totals.sumSquaredError / n), mae: totals.sumAbsError / n };
}

export function summarize(
  run: RunIdentity,
  model: ResolvedModel,
  status: BatchRunStatus,
  progress?: BatchProgress,
  error?: string,
  totals?: BatchTotals,
): BatchRunSummary {
  const metrics = metricsOf(run.resolved?.task, totals);
  return {
    runId: run.runId,
    partition: { from: run.partition.from, to: run.partition.to },
    model: { name: model.name, version: model.version },
    status,
    rowsScored: totals?.scored ?? progress?.rowsScored ?? 0,
    rowsRejected: totals?.rejected ?? progress?.rowsRejected ?? 0,
    rmse: metrics.rmse ?? null,
    mae: metrics.mae ?? null,
    rowsCompared: totals?.compared ?? 0,
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
    ...(error !== undefined ? { error } : {}),
    ...(run.resolved ? { deployment: run.resolved.deployment, metrics } : {}),
  };
}

/** The innermost cause: `WorkflowFailed -> ActivityFailure -> ApplicationFailure` reads as its root reason. */
export function errorMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** Writes the ledger row; when the run is over and `notify` is on, NOTIFYs and POSTs the webhook. */
export async function finishRun(run: RunIdentity, summary: BatchRunSummary, notify: boolean): Promise<void> {
  await setup.recordBatchRun({
    summary,
    workflowId: run.workflowId,
    partitionKey: run.partitionKey,
    ...(run.parentRunId ? { parentRunId: run.parentRunId } : {}),
    notify: notify && summary.status !== 'running',
  });
  if (!notify || summary.status === 'running') return;
  let outcome: { status: string; attempts: number };
  try {
    outcome = await webhook.postBatchWebhook({ summary });
    if (outcome.status === 'skipped') return;
  } catch (err) {
    outcome = { status: `failed: ${errorMessage(err)}`, attempts: WEBHOOK_ATTEMPTS };
  }
  await setup.recordWebhookOutcome({ runId: summary.runId, ...outcome });
}
