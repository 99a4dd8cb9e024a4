/**
 * Drift of a deployment's batch source over a window against its model card's reference profile: PSI (and KS)
 * per profiled field, stored per window (recomputing replaces it), and one alert per drifted window (NOTIFY
 * `monitoring_alerts` when raised). Also the profile itself, for `npm run models -- profile`.
 */
import { ALERTS_CHANNEL, type DriftWindow, type ReferenceProfile } from '../contracts/monitoring.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { driftOfSource, profileSource, type ProfiledColumn, type SourceWindow } from '../db/queries/drift.js';
import { ApplicationFailure } from '@temporalio/common';
import { modelOf, type Deployment, type DeploymentRegistry } from '../platform/deployments.js';
import type { ModelScorer } from '../scoring/scorer.js';
import type { LoadedModel } from '../scoring/load-model.js';

export class DriftInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'DriftInputError';
  }
}

/** The signature fields a profile covers (numbers and text read straight from a source column). */
export function profiledColumns(deployment: Deployment, model: LoadedModel): ProfiledColumn[] {
  const columns = deployment.spec.batch?.source.columns ?? {};
  return model.card.signature.fields.flatMap((f): ProfiledColumn[] => {
    const column = columns[f.name] ?? f.name.toLowerCase();
    if (f.type === 'integer' || f.type === 'number') return [{ field: f.name, column, kind: 'numeric' }];
    if (f.type === 'string') return [{ field: f.name, column, kind: 'categorical' }];
    return [];
  });
}

function windowOf(deployment: Deployment, from?: string, to?: string): SourceWindow {
  const source = deployment.spec.batch?.source;
  if (!source)
    throw new DriftInputError('deployment', `${deployment.spec.name} has no batch source to profile`);
  if (source.event_time && (from === undefined || to === undefined))
    throw new DriftInputError(
      from === undefined ? 'from' : 'to',
      'is required (the source has an event time)',
    );
  if (from !== undefined && to !== undefined && !(from < to))
    throw new DriftInputError('to', 'must be after from');
  return {
    table: source.table,
    ...(source.event_time ? { eventTime: source.event_time } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  };
}

export async function profileDeployment(
  pool: Pool,
  deployment: Deployment,
  model: LoadedModel,
  from?: string,
  to?: string,
): Promise<ReferenceProfile> {
  const w = windowOf(deployment, from, to);
  const source = `${w.table}${from !== undefined ? ` ${from}..${to ?? ''}` : ''}`;
  return profileSource(pool, w, profiledColumns(deployment, model), source);
}

export async function computeDrift(
  pool: Pool,
  deployment: Deployment,
  model: LoadedModel,
  window: { from?: string; to?: string },
): Promise<DriftWindow> {
  const reference = model.card.monitoring?.reference as ReferenceProfile | undefined;
  if (!reference)
    throw new DriftInputError(
      'model',
      `${model.ref} has no reference profile (write one: npm run models -- profile ${model.ref} --deployment ${deployment.spec.name} --from .. --to ..)`,
    );
  const w = windowOf(deployment, window.from, window.to);
  const columns = profiledColumns(deployment, model);
  const counted = await profileSource(pool, w, [], '');
  const features = counted.rows === 0 ? [] : await driftOfSource(pool, w, columns, reference);
  const threshold = deployment.spec.monitoring?.psi_threshold ?? 0.1;
  // An empty window has no distribution: nothing to compare, and no alert for it.
  const drifted = counted.rows === 0 ? [] : features.filter((f) => f.psi > threshold).map((f) => f.field);
  const from = window.from ?? '-infinity';
  const to = window.to ?? 'infinity';
  const result: DriftWindow = {
    deployment: deployment.spec.name,
    version: model.version,
    from,
    to,
    rows: counted.rows,
    features,
    threshold,
    drifted,
    alert: null,
  };
  return withTransaction(pool, async (db) => {
    if (drifted.length > 0) {
      const { rowCount } = await db.query(
        `INSERT INTO monitoring_alerts (deployment, kind, version, window_from, window_to, details)
         VALUES ($1, 'drift', $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [result.deployment, result.version, from, to, JSON.stringify({ drifted, features, threshold })],
      );
      result.alert = rowCount ? 'raised' : 'already raised';
      if (rowCount)
        await db.query('SELECT pg_notify($1, $2)', [
          ALERTS_CHANNEL,
          JSON.stringify({
            deployment: result.deployment,
            kind: 'drift',
            version: result.version,
            from,
            to,
            drifted,
          }),
        ]);
    }
    await db.query(
      `INSERT INTO drift_windows (deployment, version, window_from, window_to, result) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (deployment, version, window_from, window_to) DO UPDATE SET result = EXCLUDED.result, computed_at = now()`,
      [result.deployment, result.version, from, to, JSON.stringify(result)],
    );
    return result;
  });
}

/** The monitoring workflow's activity: one drift window of a deployment (by the version serving production). */
export function createMonitoringActivities(deps: {
  pool: Pool;
  scorer: ModelScorer;
  deployments?: DeploymentRegistry;
}) {
  return {
    async computeDriftWindow(input: { deployment: string; from: string; to: string }): Promise<DriftWindow> {
      const deployment = deps.deployments?.get(input.deployment);
      const model = deployment ? modelOf(deps.scorer, deployment.spec) : undefined;
      if (!deployment || !model || typeof model === 'string')
        throw ApplicationFailure.create({
          type: 'DeploymentNotFound',
          message: `deployment ${input.deployment} is not ready on this worker${typeof model === 'string' ? `: ${model}` : ''}`,
          nonRetryable: true,
        });
      try {
        return await computeDrift(deps.pool, deployment, model, input);
      } catch (err) {
        if (err instanceof DriftInputError)
          throw ApplicationFailure.create({
            type: 'DriftInputError',
            message: err.message,
            nonRetryable: true,
          });
        throw err;
      }
    },
  };
}
