import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  isCancellation,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type {
  BatchCarry,
  BatchProgress,
  BatchRunSummary,
  BatchScoringInput,
  BatchTotals,
} from '../contracts/batch.js';
import { BATCH_PROGRESS_QUERY } from '../contracts/batch.js';
import { DEFAULT_MODEL_REF, type ResolvedModel } from '../contracts/scoring.js';
import { MODEL_VERSION_KEY, PARTITION_KEY } from '../contracts/temporal.js';
import {
  checkBatchInput,
  partitionKey,
  scheduledPartition,
  splitDays,
  type Partition,
} from './batch-input.js';
import {
  errorMessage,
  finishRun,
  resolveModel,
  scoreDays,
  scorePartition,
  summarize,
} from './batch-steps.js';

export const progressQuery = defineQuery<BatchProgress>(BATCH_PROGRESS_QUERY);
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
export const DEFAULTS = { chunkSize: 50_000, maxParallelChunks: 2, maxChunksPerRun: 400 } as const;

/**
 * Scores every ride with pickup in [from, to) with one pinned model version: resolve, plan key-range chunks,
 * score + load chunks in parallel, record and notify. Started by a schedule without bounds, it scores the day
 * before its scheduled time. Multi-day ranges run one child per day; long partitions continue as new.
 */
export async function batchScoring(input: BatchScoringInput = {}): Promise<BatchRunSummary> {
  const info = workflowInfo();
  const checked = checkBatchInput(input);
  if (!checked.ok)
    throw ApplicationFailure.create({
      type: 'InvalidBatchInput',
      message: `${checked.field}: ${checked.reason}`,
      nonRetryable: true,
    });
  const partition = checked.value ?? partitionFromSchedule(input.timeZone ?? 'UTC');
  const carry: BatchCarry = input.carry ?? {};
  const runId = carry.runId ?? `${info.workflowId}/${info.firstExecutionRunId}`;
  const startedAt = carry.startedAt ?? new Date().toISOString();
  const key = partitionKey(partition);
  const notify = input.notify ?? true;
  const ref = input.model ?? DEFAULT_MODEL_REF;
  const progress: BatchProgress = {
    chunksTotal: carry.chunksTotal ?? 0,
    chunksDone: carry.chunksDone ?? 0,
    rowsScored: carry.totals?.scored ?? 0,
    rowsRejected: carry.totals?.rejected ?? 0,
    startedAt,
    modelVersion: carry.model ? `${carry.model.name}@${carry.model.version}` : '',
  };
  setHandler(progressQuery, () => progress);
  const run = { runId, workflowId: info.workflowId, partition, partitionKey: key, startedAt, notify };
  const record = { parentRunId: carry.parentRunId, ...run };

  let model: ResolvedModel = carry.model ?? { name: ref.split('@')[0] ?? ref, version: '' };
  let totals: BatchTotals | undefined;
  let continueWith: BatchCarry | undefined;
  try {
    if (!carry.model) model = await resolveModel(ref);
    progress.modelVersion = `${model.name}@${model.version}`;
    upsertSearchAttributes([
      { key: MODEL_VERSION_KEY, value: progress.modelVersion },
      { key: PARTITION_KEY, value: key },
    ]);
    if (!carry.cursor) await finishRun(record, summarize(run, model, 'running'), false);

    const days = splitDays(partition);
    const options = {
      chunkSize: input.chunkSize ?? DEFAULTS.chunkSize,
      maxParallelChunks: input.maxParallelChunks ?? DEFAULTS.maxParallelChunks,
      maxChunksPerRun: input.maxChunksPerRun ?? DEFAULTS.maxChunksPerRun,
      ...(input.batchRows ? { batchRows: input.batchRows } : {}),
    };
    if (days.length > 1) {
      totals = await scoreDays({ days, model, runId, options, progress });
    } else {
      const done = await scorePartition({ partition, model, runId, options, carry, progress });
      if (done.next) continueWith = { ...carry, ...done.next, runId, startedAt, model };
      else totals = done.totals;
    }
  } catch (err) {
    const status = isCancellation(err) ? 'cancelled' : 'failed';
    const summary = summarize(run, model, status, progress, errorMessage(err));
    await CancellationScope.nonCancellable(() => finishRun(record, summary, notify));
    throw err;
  }
  if (continueWith) {
    await condition(allHandlersFinished);
    return continueAsNew<typeof batchScoring>({ ...input, carry: continueWith });
  }
  const summary = summarize(run, model, 'completed', progress, undefined, totals);
  await finishRun(record, summary, notify);
  return summary;
}

/** The previous day of the scheduled time, so a late or backfilled run scores its own partition, not today's. */
function partitionFromSchedule(timeZone: string): Partition {
  const scheduledAt = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
  if (!scheduledAt)
    throw ApplicationFailure.create({
      type: 'InvalidBatchInput',
      message: 'from: required unless the run is started by a schedule (no TemporalScheduledStartTime)',
      nonRetryable: true,
    });
  return scheduledPartition(scheduledAt, timeZone);
}
