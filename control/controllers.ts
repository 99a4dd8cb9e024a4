/**
 * What a deployment's controller starts from, and starting every ready deployment's controller (the worker does it
 * at start). A controller that starts again (a fresh Temporal, a terminated one) continues from the mirror, so its
 * revisions follow the mirror's; a rollout the mirror names but that no longer runs is dropped with its challenger.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  controllerId,
  rolloutWorkflowId,
  setCatalogSignal,
  type ControllerInput,
  type RoutingState,
  type VersionCatalog,
} from '../contracts/routing.js';
import type { Pool } from '../db/pool.js';
import { readRouting } from '../db/queries/routing.js';
import type { Logger } from '../logger.js';
import type { Deployment } from '../platform/deployments.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { ensureController } from './routing.js';

async function rolloutRuns(
  client: Client,
  taskQueue: string,
  deployment: string,
  id: string,
): Promise<boolean> {
  try {
    const d = await client.workflow.getHandle(rolloutWorkflowId(taskQueue, deployment, id)).describe();
    return d.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The controller's input: the mirror's state when there is one (its dead rollout dropped), else production. */
/** The scorer's versions of `model` (loaded, and refused with the reason). */
export function catalogOf(scorer: ModelScorer, model: string): VersionCatalog {
  return {
    loaded: scorer.registry.versions(model),
    refused: Object.fromEntries(
      scorer
        .failures()
        .filter((f) => f.name === model)
        .map((f) => [f.version, f.reason]),
    ),
  };
}

export async function controllerInput(
  client: Client,
  taskQueue: string,
  pool: Pool,
  scorer: ModelScorer,
  d: Deployment,
  mirrored?: RoutingState,
): Promise<ControllerInput> {
  const model = d.spec.model.split('@')[0] ?? d.spec.model;
  const state = mirrored ?? (await readRouting(pool)).find((s) => s.deployment === d.spec.name);
  const catalog = catalogOf(scorer, model);
  if (!state) return { deployment: d.spec.name, model, champion: scorer.resolveNow(model).version, catalog };
  const alive = state.rollout === null || (await rolloutRuns(client, taskQueue, d.spec.name, state.rollout));
  if (alive) return { deployment: d.spec.name, model, champion: state.champion, state, catalog };
  const seeded: RoutingState = {
    ...state,
    rollout: null,
    challenger: null,
    canary: 0,
    shadow: 0,
    revision: state.revision + 1,
    changedAt: new Date().toISOString(),
    changedBy: 'controller',
    reason: `rollout ${state.rollout} no longer runs: its challenger was dropped`,
  };
  return { deployment: d.spec.name, model, champion: state.champion, state: seeded, publish: true, catalog };
}

export async function ensureControllers(
  client: Client,
  taskQueue: string,
  pool: Pool,
  scorer: ModelScorer,
  deployments: readonly Deployment[],
  logger?: Logger,
): Promise<void> {
  const mirrored = new Map((await readRouting(pool)).map((s) => [s.deployment, s]));
  for (const d of deployments) {
    let input: ControllerInput;
    try {
      input = await controllerInput(client, taskQueue, pool, scorer, d, mirrored.get(d.spec.name));
    } catch (err) {
      logger?.warn(
        { deployment: d.spec.name, err: (err as Error).message },
        'no routing controller: no production version',
      );
      continue;
    }
    await ensureController(client, taskQueue, input);
    // A controller that was already running learns what this worker's registry holds now.
    if (input.catalog)
      await client.workflow
        .getHandle(controllerId(taskQueue, d.spec.name))
        .signal(setCatalogSignal, input.catalog)
        .catch((err: unknown) =>
          logger?.warn(
            { deployment: d.spec.name, err: (err as Error).message },
            'catalog not sent to the controller',
          ),
        );
  }
}
