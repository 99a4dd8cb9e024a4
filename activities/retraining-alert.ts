/** The alert hook: a drift alert on a deployment whose retraining block says `on_alert: true` starts a retraining. */
import type { DriftWindow } from '../contracts/monitoring.js';
import { RetrainingRunningError, startRetraining } from '../control/retraining.js';
import type { Deployment } from '../platform/deployments.js';
import type { RetrainingDeps } from './retraining.js';
import { withActivityCancel } from './temporal-call.js';

export type AlertHook = (deployment: Deployment, window: DriftWindow) => Promise<void>;

export function retrainOnAlert(deps: Pick<RetrainingDeps, 'temporal'>): AlertHook {
  return async (deployment, window) => {
    if (!deployment.spec.retraining?.on_alert || !deps.temporal) return;
    try {
      const client = await deps.temporal.client();
      const { taskQueue } = deps.temporal;
      await withActivityCancel(client, () =>
        startRetraining(client, taskQueue, {
          deployment: deployment.spec.name,
          trigger: 'alert',
          reason: `drift alert on ${window.from}..${window.to}: ${window.drifted.join(', ')} above PSI ${window.threshold}`,
        }),
      );
    } catch (err) {
      // One retraining at a time: the running one answers this alert too.
      if (!(err instanceof RetrainingRunningError)) throw err;
    }
  };
}
