/**
 * All activities, built over their dependencies so the worker injects real ones and tests may inject others.
 */
import type { Pool } from '../db/pool.js';
import type { DeploymentRegistry } from '../platform/deployments.js';
import type { RoutingTable } from '../platform/routing.js';
import type { ModelScorer } from '../scoring/scorer.js';
import type { SessionThread } from '../scoring/session-thread.js';
import { createBatchActivities } from './batch.js';
import { createBatchCompareActivities } from './batch-compare.js';
import { createLabelActivities } from './labels.js';
import { createMonitoringActivities } from './monitoring.js';
import { retrainOnAlert } from './retraining-alert.js';
import { createNotifyActivities } from './notify.js';
import { createPingActivities } from './ping.js';
import { createRetrainingActivities, type RetrainingDeps } from './retraining.js';
import { createRoutingActivities, type RoutingActivityDeps } from './routing.js';
import { createStreamActivities } from './stream.js';

export interface ActivityDeps {
  pool: Pool;
  /** The shared model core (scoring/scorer.ts createScorer), one per process; its registry holds the cards. */
  scorer: ModelScorer;
  /** The deployments (deployments/*.json) that passed their checks at start; batch runs need them. */
  deployments?: DeploymentRegistry;
  /** Batch run summaries are POSTed here when set (config.notify.webhookUrl). */
  webhookUrl?: string;
  /** The routing mirror: streams route events by key between champion and challenger (absent: champion only). */
  routing?: RoutingTable;
  /** A Temporal client for the rollout workflow's routing Updates (workers/main.ts). */
  temporal?: RoutingActivityDeps['temporal'];
  /** Batch pages' ONNX runs go to this thread (config.batch.scoringThread), off the thread that decodes pages. */
  batchSessions?: SessionThread;
  /** Retraining: the model folder versions are registered into, the training python and the command's cwd. */
  retraining?: RetrainingDeps['retraining'];
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPingActivities(deps),
    ...createBatchActivities(deps),
    ...createNotifyActivities(deps),
    ...createStreamActivities(deps),
    ...createRoutingActivities(deps),
    ...createBatchCompareActivities(deps),
    ...createLabelActivities(deps),
    ...createMonitoringActivities({ ...deps, onAlert: retrainOnAlert(deps) }),
    ...createRetrainingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
