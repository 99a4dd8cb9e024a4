/**
 * A deployment's retraining (`<task queue>/retrain-<deployment>`, started by its schedule, a drift alert or the
 * API): runs the deployment file's training command, judges the candidate against the champion on the latest
 * labelled window, and only when it is better by the margin registers it and starts its rollout. A refused, failed
 * or cancelled run is recorded with its reason and changes nothing else. Training survives a killed worker: the
 * activity heartbeats, and a retry trains again into its own staging folder.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type {
  RetrainingFigures,
  RetrainingInput,
  RetrainingPlan,
  RetrainingResult,
  RetrainingStatus,
} from '../contracts/retraining.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
  },
});

/** The training activity: heartbeats every second, so a dead worker's attempt is retried within 10 s. */
const trainer = (plan: RetrainingPlan) =>
  proxyActivities<Activities>({
    startToCloseTimeout: `${plan.timeoutMinutes} minutes`,
    heartbeatTimeout: '10 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
  });

const messageOf = (err: unknown): string => {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(err);
};

export async function retraining(input: RetrainingInput): Promise<RetrainingResult> {
  const runId = workflowInfo().runId;
  let plan: RetrainingPlan | undefined;
  let figures: RetrainingFigures | null = null;
  const finish = async (
    status: RetrainingStatus,
    outcome: string,
    rollout: string | null = null,
  ): Promise<RetrainingResult> => {
    // Recorded whatever happened to the run (a cancellation too).
    await CancellationScope.nonCancellable(() =>
      acts.finishRetraining({
        runId,
        status,
        outcome,
        figures,
        rollout,
        ...(plan ? { stagingDir: plan.stagingDir } : {}),
      }),
    );
    return {
      runId,
      deployment: input.deployment,
      status,
      version: plan?.version ?? null,
      outcome,
      figures,
      rollout,
    };
  };

  try {
    const planned = await acts.beginRetraining({ ...input, runId });
    plan = planned;
    const trained = await trainer(planned).runTraining(planned);
    await acts.markRetraining({ runId, status: 'evaluating' });
    const judged = await acts.evaluateCandidate({
      plan: planned,
      outDir: trained.outDir,
      ...(input.from !== undefined ? { from: input.from } : {}),
      ...(input.to !== undefined ? { to: input.to } : {}),
    });
    figures = judged.figures;
    if (!judged.better || !judged.figures) return await finish('refused', judged.reason);
    await acts.markRetraining({ runId, status: 'registering' });
    await acts.registerCandidate({ plan: planned, outDir: trained.outDir, sha256: judged.figures.sha256 });
    const started = await acts.startRetrainingRollout(planned);
    return await finish('registered', `${judged.reason}; ${started.note}`, started.rollout);
  } catch (err) {
    if (isCancellation(err)) return finish('cancelled', 'the retraining was cancelled');
    return finish('failed', messageOf(err));
  }
}
