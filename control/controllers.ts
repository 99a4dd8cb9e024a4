/** Starts the routing controller of every ready deployment that is not running yet (the worker does it at start). */
import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool.js';
import { readRouting } from '../db/queries/routing.js';
import type { Logger } from '../logger.js';
import type { Deployment } from '../platform/deployments.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { ensureController } from './routing.js';

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
    const model = d.spec.model.split('@')[0] ?? d.spec.model;
    let champion: string;
    try {
      champion = scorer.resolveNow(model).version;
    } catch (err) {
      logger?.warn(
        { deployment: d.spec.name, err: (err as Error).message },
        'no routing controller: no production version',
      );
      continue;
    }
    const state = mirrored.get(d.spec.name);
    // A mirror row means an earlier controller ran: a new one (say, on a fresh Temporal) continues from it.
    await ensureController(client, taskQueue, {
      deployment: d.spec.name,
      model,
      champion: state?.champion ?? champion,
      ...(state ? { state } : {}),
    });
  }
}
