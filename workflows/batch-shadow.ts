/**
 * A batch shadow run: scores a partition with the challenger as a child batch run (its rows carry its version, so
 * they never touch the champion's), then compares them with the champion's predictions of the same keys; when the
 * champion has not scored the partition yet, a champion run comes first. The comparison is the result, and a row
 * of batch_comparisons.
 */
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { BATCH_WORKFLOW, type BatchRunSummary, type BatchScoringInput } from '../contracts/batch.js';
import type { BatchComparison, BatchShadowInput } from '../contracts/routing.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
  },
});

export async function batchShadow(input: BatchShadowInput): Promise<BatchComparison> {
  const id = workflowInfo().workflowId;
  const run = (version: string, role: string) =>
    executeChild<(i: BatchScoringInput) => Promise<BatchRunSummary>>(BATCH_WORKFLOW, {
      workflowId: `${id}/${role}`,
      args: [
        {
          deployment: input.deployment,
          model: `${input.model}@${version}`,
          notify: false,
          ...(input.from !== undefined ? { from: input.from } : {}),
          ...(input.to !== undefined ? { to: input.to } : {}),
          ...(input.chunkSize !== undefined ? { chunkSize: input.chunkSize } : {}),
          ...(input.maxParallelChunks !== undefined ? { maxParallelChunks: input.maxParallelChunks } : {}),
        },
      ],
    });
  const challenger = await run(input.challenger, 'challenger');
  const compare = () =>
    acts.compareBatchVersions({
      deployment: input.deployment,
      champion: input.champion,
      challenger: input.challenger,
      challengerRunId: challenger.runId,
      partition: challenger.partition,
    });
  let comparison = await compare();
  if (comparison.pairs < comparison.challengerRows) {
    // Some rows have no champion prediction yet: score the partition with the champion (exactly-once upserts).
    const champion = await run(input.champion, 'champion');
    comparison = { ...(await compare()), championRunId: champion.runId };
  }
  await acts.saveBatchComparison(comparison);
  return comparison;
}
