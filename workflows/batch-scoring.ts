import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  batchProgressQuery,
  type BatchCarry,
  type BatchProgress,
  type BatchRunSummary,
  type BatchScoringInput,
  type BatchTotals,
  type ResolvedBatchRun,
} from '../contracts/batch.js';
import type { Activities } from '../activities/index.js';
import type { ResolvedModel } from '../contracts/scoring.js';
import { MODEL_VERSION_KEY, PARTITION_KEY } from '../contracts/temporal.js';
import {
  checkBatchInput,
  partitionKey,
  scheduledPartition,
  splitDays,
  WHOLE_TABLE,
  type Partition,
} from '../contracts/batch-input.js';
import {
  errorMessage,
  finishRun,
  resolveRun,
  scoreDays,
  scorePartition,
  summarize,
  type RunIdentity,
} from './batch-steps.js';
import { deliverAlert } from './monitoring.js';

// computeDriftWindow heartbeats (a fallback scan may be long): a worker lost during it is noticed in 15 s.
const monitoring = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '15 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
  },
});
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
export const DEFAULTS = { chunkSize: 50_000, maxParallelChunks: 2, maxChunksPerRun: 400 } as const;

const invalid = (message: string) =>
  ApplicationFailure.create({ type: 'InvalidBatchInput', message, nonRetryable: true });

/**
 * Scores one deployment's batch source with one pinned model version: resolve the deployment and the version,
 * plan key-range chunks, score + load chunks in parallel, record and notify. A source with event time is scored
 * over [from, to) (a schedule's run: the day before its scheduled time; multi-day ranges one child per day); a
 * source without scores its whole table. Long partitions continue as new.
 */
export async function batchScoring(input: BatchScoringInput = {}): Promise<BatchRunSummary> {
  const info = workflowInfo();
  const checked = checkBatchInput(input);
  if (!checked.ok) throw invalid(`${checked.field}: ${checked.reason}`);
  const carry: BatchCarry = input.carry ?? {};
  const scheduledAt = info.typedSearchAttributes.get(SCHEDULED_START);
  const timeZone = input.timeZone ?? 'UTC';
  const asked = checked.value ?? (scheduledAt ? scheduledPartition(scheduledAt, timeZone) : null);
  const notify = input.notify ?? true;
  const progress: BatchProgress = {
    chunksTotal: carry.chunksTotal ?? 0,
    chunksDone: carry.chunksDone ?? 0,
    rowsScored: carry.totals?.scored ?? 0,
    rowsRejected: carry.totals?.rejected ?? 0,
    startedAt: carry.startedAt ?? new Date().toISOString(),
    modelVersion: carry.resolved ? refOf(carry.resolved.model) : '',
  };
  setHandler(batchProgressQuery, () => progress);
  const run: RunIdentity = {
    runId: carry.runId ?? `${info.workflowId}/${info.firstExecutionRunId}`,
    workflowId: info.workflowId,
    partition: asked ?? WHOLE_TABLE,
    partitionKey: partitionKey(asked ?? WHOLE_TABLE),
    startedAt: progress.startedAt,
    ...(carry.parentRunId ? { parentRunId: carry.parentRunId } : {}),
    ...(carry.resolved ? { resolved: carry.resolved } : {}),
  };
  const requested = input.model ?? '';
  let model: ResolvedModel = carry.resolved?.model ?? {
    name: requested.split('@')[0] ?? requested,
    version: '',
  };
  let totals: BatchTotals | undefined;
  let continueWith: BatchCarry | undefined;
  let multiDay = false;
  try {
    const resolved = carry.resolved ?? (await resolveRun(input));
    run.resolved = resolved;
    model = resolved.model;
    progress.modelVersion = refOf(model);
    const partition = partitionOf(resolved, checked.value, asked);
    run.partition = partition;
    run.partitionKey = partitionKey(partition);
    upsertSearchAttributes([
      { key: MODEL_VERSION_KEY, value: progress.modelVersion },
      { key: PARTITION_KEY, value: run.partitionKey },
    ]);
    if (!carry.cursor) await finishRun(run, summarize(run, model, 'running'), false);

    const days = resolved.eventTime ? splitDays(partition) : [partition];
    const options = {
      chunkSize: input.chunkSize ?? DEFAULTS.chunkSize,
      maxParallelChunks: input.maxParallelChunks ?? DEFAULTS.maxParallelChunks,
      maxChunksPerRun: input.maxChunksPerRun ?? DEFAULTS.maxChunksPerRun,
      ...(input.batchRows ? { batchRows: input.batchRows } : {}),
      ...(input.drift === false ? { drift: false } : {}),
    };
    multiDay = days.length > 1;
    if (multiDay) {
      totals = await scoreDays({ days, resolved, runId: run.runId, options, progress });
    } else {
      const done = await scorePartition({ partition, resolved, runId: run.runId, options, carry, progress });
      if (done.next)
        continueWith = { ...carry, ...done.next, runId: run.runId, startedAt: run.startedAt, resolved };
      else totals = done.totals;
    }
  } catch (err) {
    const status = isCancellation(err) ? 'cancelled' : 'failed';
    const summary = summarize(run, model, status, progress, errorMessage(err));
    await CancellationScope.nonCancellable(() => finishRun(run, summary, notify));
    throw err;
  }
  if (continueWith) {
    await condition(allHandlersFinished);
    return continueAsNew<typeof batchScoring>({ ...input, carry: continueWith });
  }
  // A day's partition is a monitored window: its drift (and one alert when it drifted) once it is scored. A multi-day
  // run's children compute theirs.
  if (run.resolved && !multiDay && input.drift !== false && patched('batch-drift'))
    await partitionDrift(run.resolved.deployment, model.version, run.partition, {
      id: run.runId,
      rows: totals ? totals.scored + totals.rejected : -1,
    });
  const summary = summarize(run, model, 'completed', progress, undefined, totals);
  await finishRun(run, summary, notify);
  return summary;
}

/**
 * The partition's drift window, from the histograms the run's pages counted (`run`: its id and rows read); a
 * failure is logged, never the run's (its predictions are in).
 */
async function partitionDrift(
  deployment: string,
  version: string,
  partition: Partition,
  run: { id: string; rows: number },
): Promise<void> {
  try {
    const w = await monitoring.computeDriftWindow({
      deployment,
      mode: 'batch',
      version,
      from: partition.from,
      to: partition.to,
      ifMonitored: true,
      run,
    });
    if (w?.alertKey) await deliverAlert(w.alertKey);
  } catch (err) {
    log.warn('the partition drift window failed', { deployment, error: errorMessage(err) });
  }
}

const refOf = (m: ResolvedModel) => `${m.name}@${m.version}`;

/**
 * The partition of a resolved run: the asked bounds (or the schedule's day) on a source with event time, the
 * whole table on a source without; bounds given to the latter are refused rather than silently ignored.
 */
function partitionOf(
  resolved: ResolvedBatchRun,
  bounds: Partition | null,
  asked: Partition | null,
): Partition {
  if (!resolved.eventTime) {
    if (bounds)
      throw invalid(
        `from: deployment ${resolved.deployment} has no event_time, so a run scores its whole table (omit from/to)`,
      );
    return WHOLE_TABLE;
  }
  if (!asked)
    throw invalid('from: required unless the run is started by a schedule (no TemporalScheduledStartTime)');
  return asked;
}
