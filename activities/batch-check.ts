/**
 * The batch mode's part of a deployment's readiness: mismatches against its tables refuse it, while tables a user
 * adds later (a source not loaded yet, a mapped sink not migrated yet) make its batch mode wait.
 */
import type { Pool } from '../db/pool.js';
import type { DeploymentCheck } from '../platform/deployments.js';
import { describeBatchTables, planBatchLayout, sourceMissing } from './batch-layout.js';

/** Why the batch mode waits for a sink mapped onto the user's own table (never created by the batch mode). */
export function mappedSinkMissing(tables: string[]): string {
  return `table ${tables.join(', ')} does not exist (its columns are renamed in batch.sink.columns, so the batch mode does not create it: run npm run migrate or create it)`;
}

/**
 * The batch mode's DeploymentCheck: source columns and types against the signature, the sink fits or is missing.
 * A source table that does not exist yet, or a mapped sink that is missing, is not a refusal: the batch mode
 * waits (its other modes run) and each run plans again at its start.
 */
export function batchTableCheck(pool: Pool): DeploymentCheck {
  return async (deployment, model) => {
    if (!deployment.spec.batch) return [];
    const tables = await describeBatchTables(pool, deployment);
    if (!tables.source)
      return { problems: [], waiting: [{ mode: 'batch', reason: sourceMissing(deployment) }] };
    const planned = planBatchLayout(deployment, model, tables);
    if (!planned.ok) return planned.problems;
    const { missing, creatable } = planned.layout;
    if (missing.length > 0 && !creatable)
      return { problems: [], waiting: [{ mode: 'batch', reason: mappedSinkMissing(missing) }] };
    return [];
  };
}
