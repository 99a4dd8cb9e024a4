/** The rollout a registered version starts, through the same start path as POST /deployments/{name}/rollouts. */
import type { Client } from '@temporalio/client';
import type { RetrainingSpec } from '../contracts/deployment.js';
import type { RetrainingPlan } from '../contracts/retraining.js';
import { checkRolloutSpec, type RolloutSpec } from '../contracts/routing.js';
import { controllerState, RoutingConflictError, startRollout } from '../control/routing.js';

/** The rollout's id for a run: the same on every retry, so a second start finds the first. */
export const retrainedRolloutId = (plan: RetrainingPlan) =>
  `retrain-v${plan.version}-${plan.runId
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 8)
    .toLowerCase()}`;

export async function startRetrainedRollout(
  client: Client,
  taskQueue: string,
  plan: RetrainingPlan,
  spec: RetrainingSpec,
): Promise<{ rollout: string | null; note: string }> {
  const r = spec.rollout;
  const rollout: RolloutSpec = {
    id: retrainedRolloutId(plan),
    deployment: plan.deployment,
    model: plan.model,
    version: plan.version,
    steps: r.steps,
    stepSeconds: r.step_seconds,
    shadow: r.shadow,
    gates: r.gates,
    approval: r.approval,
    actor: `retraining:${plan.runId}`,
    reason: `retrained version ${plan.version} beat champion ${plan.champion}`,
  };
  const problems = checkRolloutSpec(rollout);
  if (problems.length > 0)
    return {
      rollout: null,
      note: `no rollout: retraining.rollout ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
    };
  const live = await controllerState(client, taskQueue, plan.deployment);
  if (live.rollout === rollout.id) return { rollout: rollout.id, note: `rollout ${rollout.id} started` };
  if (live.rollout !== null)
    return { rollout: null, note: `no rollout: rollout ${live.rollout} is running on ${plan.deployment}` };
  try {
    await startRollout(client, taskQueue, rollout);
  } catch (err) {
    // The id is this run's: a retry after the start finds it used by the first attempt.
    if (!(err instanceof RoutingConflictError)) throw err;
  }
  return { rollout: rollout.id, note: `rollout ${rollout.id} started (${r.approval} approval)` };
}
