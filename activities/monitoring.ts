/**
 * The monitoring workflows' activities: a deployment's windows (drift and performance of each mode it serves, each
 * version with predictions in the window), one window of a batch run's partition, and the webhook delivery of an
 * alert, idempotent by the alert's dedup key (sent as Idempotency-Key; a delivered alert is not sent again).
 */
import { Context } from '@temporalio/activity';
import { whileBeating } from './heartbeat.js';
import { ApplicationFailure } from '@temporalio/common';
import type {
  DriftFeature,
  DriftWindow,
  MonitoredMode,
  MonitoringAlert,
  MonitorResult,
  ReferenceProfile,
} from '../contracts/monitoring.js';
import { postWebhook } from './webhook.js';
import type { Pool } from '../db/pool.js';
import { modelOf, type Deployment, type DeploymentRegistry } from '../platform/deployments.js';
import type { LoadedModel } from '../scoring/load-model.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { computeDrift, DriftInputError, type BatchTallyRun } from './drift.js';
import { versionsSql } from './drift-samples.js';

/** Called once for each alert a window raises (e.g. to start a retraining). */
export type AlertHook = (deployment: Deployment, window: DriftWindow) => Promise<void>;

export interface MonitoringActivityDeps {
  pool: Pool;
  scorer: ModelScorer;
  deployments?: DeploymentRegistry;
  /** Alerts are POSTed here when set (config.notify.webhookUrl, as batch run summaries). */
  webhookUrl?: string;
  webhookTimeoutMs?: number;
  onAlert?: AlertHook;
}

const fail = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** The modes a deployment serves, in the order their windows are computed. */
export function servedModes(deployment: Deployment): MonitoredMode[] {
  const s = deployment.spec;
  return [
    ...(s.batch ? ['batch' as const] : []),
    ...(s.online ? ['online' as const] : []),
    ...(s.streaming ? ['streaming' as const] : []),
  ];
}

const hasReference = (m: LoadedModel) =>
  Boolean((m.card.monitoring?.reference as ReferenceProfile | undefined)?.features);

export function createMonitoringActivities(deps: MonitoringActivityDeps) {
  const { pool } = deps;
  const deploymentOf = (name: string): { deployment: Deployment; champion: LoadedModel } => {
    const deployment = deps.deployments?.get(name);
    const model = deployment ? modelOf(deps.scorer, deployment.spec) : undefined;
    if (!deployment || !model || typeof model === 'string')
      throw fail(
        'DeploymentNotFound',
        `deployment ${name} is not ready on this worker${typeof model === 'string' ? `: ${model}` : ''}`,
      );
    return { deployment, champion: model };
  };
  const compute = async (
    deployment: Deployment,
    model: LoadedModel,
    w: { from?: string; to?: string; mode: MonitoredMode; run?: BatchTallyRun },
  ): Promise<DriftWindow> => {
    let window: DriftWindow;
    try {
      window = await computeDrift(pool, deployment, model, w);
    } catch (err) {
      if (err instanceof DriftInputError) throw fail('DriftInputError', err.message);
      throw err;
    }
    if (window.alert === 'raised' && deps.onAlert)
      await deps.onAlert(deployment, window).catch((err: Error) => {
        Context.current().log.warn('the alert hook failed', { key: window.alertKey, error: err.message });
      });
    return window;
  };

  /** Every window of a deployment over [from, to): each served mode, each version with a reference profile. */
  const monitorAll = async (input: {
    deployment: string;
    from: string;
    to: string;
    modes?: MonitoredMode[];
  }): Promise<MonitorResult> => {
    const { deployment, champion } = deploymentOf(input.deployment);
    const result: MonitorResult = { from: input.from, to: input.to, windows: [], skipped: [] };
    const served = servedModes(deployment);
    for (const mode of input.modes ?? served) {
      if (!served.includes(mode)) {
        result.skipped.push(`${mode}: ${deployment.spec.name} does not serve it`);
        continue;
      }
      const versions =
        mode === 'batch'
          ? [champion.version]
          : (
              await pool.query<{ version: string }>(versionsSql(mode), [
                deployment.spec.name,
                input.from,
                input.to,
              ])
            ).rows.map((r) => r.version);
      if (versions.length === 0) result.skipped.push(`${mode}: no predictions in the window`);
      for (const version of versions.sort()) {
        const model = deps.scorer.registry.get(champion.name, version);
        if (!model || !hasReference(model)) {
          result.skipped.push(
            `${mode} ${champion.name}@${version}: ${model ? 'no reference profile' : 'not loaded'}`,
          );
          continue;
        }
        result.windows.push(await compute(deployment, model, { mode, from: input.from, to: input.to }));
      }
    }
    return result;
  };

  return {
    /**
     * One window of one mode (default batch) by a version (default the champion). `ifMonitored`: a batch run's
     * own partition, computed only when the deployment has a monitoring block and the version a reference (else null).
     */
    async computeDriftWindow(input: {
      deployment: string;
      from?: string;
      to?: string;
      mode?: MonitoredMode;
      version?: string;
      ifMonitored?: boolean;
      /** A batch run's own partition: its pages' tallies stand for the scan when they add up to its rows. */
      run?: BatchTallyRun;
    }): Promise<DriftWindow | null> {
      const { deployment, champion } = deploymentOf(input.deployment);
      const model =
        input.version === undefined ? champion : deps.scorer.registry.get(champion.name, input.version);
      if (!model) throw fail('ModelNotFoundError', `${champion.name}@${input.version ?? ''} is not loaded`);
      if (input.ifMonitored && (!deployment.spec.monitoring || !hasReference(model))) return null;
      return whileBeating(() =>
        compute(deployment, model, {
          mode: input.mode ?? 'batch',
          ...(input.from !== undefined ? { from: input.from } : {}),
          ...(input.to !== undefined ? { to: input.to } : {}),
          ...(input.run ? { run: input.run } : {}),
        }),
      );
    },

    /** Every window of a deployment over [from, to): each served mode, each version with a reference profile. */
    async monitorWindows(input: {
      deployment: string;
      from: string;
      to: string;
      modes?: MonitoredMode[];
    }): Promise<MonitorResult> {
      return whileBeating(() => monitorAll(input));
    },

    /**
     * POSTs an alert to the webhook, once: a delivered alert answers `already delivered`; a non-2xx answer or a
     * network error throws, so the activity's retry policy backs off and tries again. `skipped` without a URL.
     */
    async deliverAlertWebhook(input: { key: string }): Promise<{ status: string; attempts: number }> {
      const attempts = Context.current().info.attempt;
      const { rows } = await pool.query<{
        deployment: string;
        mode: MonitoredMode;
        version: string;
        window_from: string;
        window_to: string;
        details: { drifted: string[]; features: DriftFeature[]; threshold: number };
        webhook_status: string | null;
      }>(
        `SELECT deployment, mode, version, window_from, window_to, details, webhook_status
           FROM monitoring_alerts WHERE dedup_key = $1`,
        [input.key],
      );
      const row = rows[0];
      if (!row) throw fail('AlertNotFound', `no alert ${input.key}`);
      if (row.webhook_status?.startsWith('delivered')) return { status: 'already delivered', attempts: 0 };
      if (!deps.webhookUrl) return { status: 'skipped', attempts: 0 };
      const alert: MonitoringAlert = {
        key: input.key,
        deployment: row.deployment,
        kind: 'drift',
        mode: row.mode,
        version: row.version,
        from: row.window_from,
        to: row.window_to,
        ...row.details,
      };
      const status = await postWebhook(deps.webhookUrl, alert, {
        headers: { 'idempotency-key': input.key },
        ...(deps.webhookTimeoutMs ? { timeoutMs: deps.webhookTimeoutMs } : {}),
      });
      return { status, attempts };
    },

    /** Records how an alert's delivery ended; a delivered alert keeps its first delivery. */
    async recordAlertDelivery(input: { key: string; status: string; attempts: number }): Promise<void> {
      if (input.status === 'already delivered') return;
      await pool.query(
        `UPDATE monitoring_alerts SET webhook_status = $2, webhook_attempts = $3,
                delivered_at = CASE WHEN $2 LIKE 'delivered%' THEN now() END
          WHERE dedup_key = $1 AND (webhook_status IS NULL OR webhook_status NOT LIKE 'delivered%')`,
        [input.key, input.status, input.attempts],
      );
    },
  };
}
