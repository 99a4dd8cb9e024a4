/** Builds a worker over injected dependencies, and loads the deployments it serves; used by the worker and tests. */
import path from 'node:path';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../activities/index.js';
import { batchTableCheck } from '../activities/batch-check.js';
import { describeBatchTables, planBatchLayout } from '../activities/batch-layout.js';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import { createSinkTables } from '../db/queries/batch-tables.js';
import type { Logger } from '../logger.js';
import { loadDeployments, modelOf, type DeploymentRegistry } from '../platform/deployments.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { workflowSource } from './bundle.js';

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  workflowBundle?: string;
  maxConcurrentActivityTaskExecutions?: number;
}

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    activities: deps.activities,
    ...workflowSource(deps.workflowBundle),
    maxConcurrentActivityTaskExecutions: deps.maxConcurrentActivityTaskExecutions ?? 16,
  });
}

/**
 * The deployments a worker serves: each file held against its model's signature and, for its batch block, its
 * tables (batchTableCheck). With `createSinks`, the missing sink tables of the ready ones are created.
 */
export async function loadWorkerDeployments(options: {
  pool: Pool;
  scorer: ModelScorer;
  dir: string;
  logger?: Logger;
  createSinks?: boolean;
}): Promise<DeploymentRegistry> {
  const { pool, scorer, logger } = options;
  const registry = await loadDeployments({
    dir: options.dir,
    scorer,
    checks: [batchTableCheck(pool)],
    ...(logger ? { logger } : {}),
  });
  if (options.createSinks) await createBatchSinks(pool, scorer, registry, logger);
  return registry;
}

/**
 * Creates the generic sink and rejected tables that ready deployments declare and that do not exist yet (a
 * deployment whose source is not loaded yet gets them at its first run instead, see resolveBatchRun).
 */
export async function createBatchSinks(
  pool: Pool,
  scorer: ModelScorer,
  registry: DeploymentRegistry,
  logger?: Logger,
): Promise<string[]> {
  const created: string[] = [];
  for (const deployment of registry.ready()) {
    if (!deployment.spec.batch) continue;
    const model = modelOf(scorer, deployment.spec);
    if (typeof model === 'string') continue; // the registry refused it already
    const planned = planBatchLayout(deployment, model, await describeBatchTables(pool, deployment));
    // A sink mapped onto the user's own table (renamed columns) is never created: its run fails until it exists.
    if (!planned.ok || planned.layout.missing.length === 0 || !planned.layout.creatable) continue;
    await createSinkTables(pool, planned.layout.sink);
    created.push(...planned.layout.missing);
    logger?.info(
      { deployment: deployment.spec.name, tables: planned.layout.missing },
      'batch sink tables created',
    );
  }
  return created;
}

/**
 * Where a worker's retrainings register versions (MODEL_DIR), the python `{python}` names (the training venv that
 * `npm run train` makes under TOOLS_DIR), and the folder the command runs in (the repository root).
 */
export function retrainingPaths(config: Config, cwd = process.cwd()) {
  return {
    modelDir: path.resolve(cwd, config.models.dir),
    python: path.resolve(cwd, config.paths.tools, 'venv-train', 'bin', 'python'),
    cwd,
  };
}
