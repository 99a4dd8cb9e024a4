/** Activities of rollouts: version checks for the controller, the mirror publish, step figures and progress. */
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { FieldProblem, RolloutProgress, RoutingState, StepFigures } from '../contracts/routing.js';
import { controllerInput } from '../control/controllers.js';
import {
  RoutingConflictError,
  RoutingRefusedError,
  ensureController,
  routingUpdate,
  type RoutingOp,
} from '../control/routing.js';
import type { Pool } from '../db/pool.js';
import { publishRouting, saveRollout, stepFigures, type PublishOutcome } from '../db/queries/routing.js';
import type { DeploymentRegistry } from '../platform/deployments.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { withActivityCancel } from './temporal-call.js';

export interface RoutingActivityDeps {
  pool: Pool;
  scorer: ModelScorer;
  deployments?: DeploymentRegistry;
  /** For the rollout workflow's Updates to the controller (workflows cannot send Updates themselves). */
  temporal?: { client: () => Promise<Client>; taskQueue: string };
}

export function createRoutingActivities(deps: RoutingActivityDeps) {
  return {
    /** Problems with versions a routing change names: not loaded here, or refused at load (with the reason). */
    checkRoutingVersions(input: {
      model: string;
      versions: Record<string, string>;
    }): Promise<FieldProblem[]> {
      const { registry } = deps.scorer;
      const problems: FieldProblem[] = [];
      for (const [field, version] of Object.entries(input.versions)) {
        if (registry.get(input.model, version)) continue;
        const refused = registry.failures().find((f) => f.name === input.model && f.version === version);
        const loaded = registry.versions(input.model);
        problems.push({
          field,
          message: refused
            ? `version ${version} of ${input.model} was refused at load: ${refused.reason}`
            : `version ${version} of ${input.model} is not loaded (loaded: ${loaded.join(', ') || 'none'})`,
        });
      }
      return Promise.resolve(problems);
    },

    /** Writes the routing to the mirror and the history, moves production, and NOTIFYs (idempotent by revision). */
    async publishRouting(input: { state: RoutingState; change: unknown }): Promise<PublishOutcome> {
      return publishRouting(deps.pool, input.state, input.change);
    },

    async saveRolloutProgress(progress: RolloutProgress): Promise<void> {
      await saveRollout(deps.pool, progress);
    },

    async rolloutStepFigures(input: {
      deployment: string;
      version: string;
      from: string;
      to: string;
      pairsFrom: string;
    }): Promise<StepFigures> {
      return stepFigures(deps.pool, input);
    },

    /** Sends one routing Update to the deployment's controller (starting it if it does not run). */
    async updateRouting(input: {
      deployment: string;
      op: RoutingOp;
      arg: unknown;
      updateId: string;
    }): Promise<RoutingState> {
      if (!deps.temporal) throw new Error('this worker has no Temporal client for routing updates');
      const client = await deps.temporal.client();
      const deployment = deps.deployments?.get(input.deployment);
      if (!deployment)
        throw ApplicationFailure.create({
          type: 'DeploymentNotFound',
          message: `deployment "${input.deployment}" is not ready on this worker`,
          nonRetryable: true,
        });
      const { taskQueue } = deps.temporal;
      try {
        return await withActivityCancel(client, async () => {
          await ensureController(
            client,
            taskQueue,
            await controllerInput(client, taskQueue, deps.pool, deps.scorer, deployment),
          );
          return routingUpdate(client, taskQueue, input.deployment, input.op, input.arg, input.updateId);
        });
      } catch (err) {
        if (err instanceof RoutingRefusedError || err instanceof RoutingConflictError)
          throw ApplicationFailure.create({
            type: err instanceof RoutingConflictError ? 'RoutingConflict' : 'InvalidRouting',
            message: err.message,
            nonRetryable: true,
          });
        throw err;
      }
    },
  };
}
