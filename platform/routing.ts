/**
 * The routing mirror every API process and worker reads: the whole `deployment_routing` table in memory, re-read
 * on a NOTIFY on `deployment_routing` (sent by the controller's publish, at commit), on every reconnection and every
 * `refreshIntervalMs`. Lookups are map reads; a hot path never queries Postgres or Temporal for its routing. A
 * deployment without a mirror row has no challenger: its model's production alias answers, as before rollouts.
 */
import { ROUTING_CHANNEL, type RoutingState } from '../contracts/routing.js';
import { mirrorTable } from '../db/listen.js';
import type { Pool } from '../db/pool.js';
import { readRouting } from '../db/queries/routing.js';
import type { Logger } from '../logger.js';
import type { DeploymentRegistry } from './deployments.js';

export interface RoutingTable {
  /** The mirrored state of a deployment, if its controller ever published one. */
  get(deployment: string): RoutingState | undefined;
  /** The state that routes calls to a model by name (the deployment serving it), if any. */
  forModel(model: string): RoutingState | undefined;
  list(): RoutingState[];
  /** Re-reads the mirror; resolves after a read that started after this call. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface RoutingTableOptions {
  /** Which deployment's routing a call by model name follows (the default deployment when several serve it). */
  deploymentOf?: (model: string) => string | undefined;
}

function indexed(states: RoutingState[], options: RoutingTableOptions) {
  const byDeployment = new Map(states.map((s) => [s.deployment, s]));
  const byModel = new Map<string, RoutingState>();
  for (const s of states) {
    const chosen = options.deploymentOf?.(s.model);
    if (chosen === undefined ? !byModel.has(s.model) : chosen === s.deployment) byModel.set(s.model, s);
  }
  return { byDeployment, byModel };
}

/** A fixed table (benchmarks, unit tests); `set` replaces a deployment's state. */
export function createStaticRouting(
  states: RoutingState[] = [],
  options: RoutingTableOptions = {},
): RoutingTable & { set(state: RoutingState): void } {
  let all = [...states];
  let index = indexed(all, options);
  return {
    get: (d) => index.byDeployment.get(d),
    forModel: (m) => index.byModel.get(m),
    list: () => [...all],
    set(state) {
      all = [...all.filter((s) => s.deployment !== state.deployment), state];
      index = indexed(all, options);
    },
    refresh: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

export async function createPgRouting(
  options: RoutingTableOptions & { pool: Pool; logger?: Logger; refreshIntervalMs?: number },
): Promise<RoutingTable> {
  const { pool, logger } = options;
  let all: RoutingState[] = [];
  let index = indexed(all, options);
  const read = async () => {
    all = await readRouting(pool);
    index = indexed(all, options);
  };
  const mirror = await mirrorTable({
    pool,
    channel: ROUTING_CHANNEL,
    application: 'routing-listener',
    read,
    failure: 'routing refresh failed; keeping the last routing',
    ...(logger ? { logger } : {}),
    ...(options.refreshIntervalMs !== undefined ? { refreshIntervalMs: options.refreshIntervalMs } : {}),
  });
  return {
    get: (d) => index.byDeployment.get(d),
    forModel: (m) => index.byModel.get(m),
    list: () => [...all],
    refresh: mirror.refresh,
    close: mirror.close,
  };
}

/** The deployment whose routing calls to a model by name follow: the default one if it serves the model, else the first. */
export function routedDeployment(deployments: DeploymentRegistry) {
  return (model: string): string | undefined => {
    const serving = deployments
      .ready()
      .filter((d) => (d.spec.model.split('@')[0] ?? d.spec.model) === model)
      .map((d) => d.spec.name);
    const preferred = deployments.defaultDeployment()?.spec.name;
    return preferred !== undefined && serving.includes(preferred) ? preferred : serving[0];
  };
}
