/**
 * The rollout fixture: a fresh database, the shared Temporal server, a real worker (controller and rollout
 * workflows, routing activities with their own Temporal client) and the HTTP app reading the routing mirror, over
 * ride-duration 1 and 2 and the constant version 3 (test/rollouts/constant-model.ts); the challenger scores in
 * a worker thread, as the API server runs it.
 */
import { createActivities } from '../../activities/index.js';
import { createApp } from '../../api/app.js';
import type { AppDeps } from '../../api/deps.js';
import { createPredictionLog, type PredictionLog } from '../../api/prediction-log.js';
import type { ShadowScore } from '../../api/routing.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../logger.js';
import { createPgRouting, routedDeployment, type RoutingTable } from '../../platform/routing.js';
import { createScorer, type ModelScorer } from '../../scoring/scorer.js';
import { createThreadScorer, type ThreadScorer } from '../../scoring/score-thread.js';
import {
  connectTestTemporal,
  createTestDatabase,
  loadTestDeployments,
  sendWithKey,
  startTestWorker,
  TEST_API_KEY,
  uniqueId,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from '../helpers.js';
import { modelsWithConstant } from './constant-model.js';

export interface RolloutFixture {
  db: TestDatabase;
  temporal: TestTemporal;
  worker: TestWorker;
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  log: PredictionLog;
  apiRouting: RoutingTable;
  /** Record calls the scoring thread received, the records they carried, and the calls it answered, by `name@version`. */
  threadCalls: Map<string, number>;
  threadRecords: Map<string, number>;
  threadAnswered: Map<string, number>;
  send(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export async function startRolloutFixture(
  options: {
    shadowScore?: (inner: ShadowScore) => ShadowScore;
    /** Adds version 4, slow to score (test/rollouts/constant-model.ts slowRideGraph). */
    slow?: { size: number; steps: number };
  } = {},
): Promise<RolloutFixture> {
  const db = await createTestDatabase();
  const temporal = await connectTestTemporal();
  const models = await modelsWithConstant(30, options.slow ? { slow: options.slow } : {});
  const scorers: ModelScorer[] = [];
  const scorer = async () => {
    const s = await createScorer({ modelDir: models.dir, intraOpThreads: 1, pool: db.pool });
    scorers.push(s);
    return s;
  };
  const workerScorer = await scorer();
  await workerScorer.setAlias('ride-duration', 'production', '2');
  const workerDeployments = await loadTestDeployments(db.pool, workerScorer);
  const workerRouting = await createPgRouting({
    pool: db.pool,
    deploymentOf: routedDeployment(workerDeployments),
  });
  const taskQueue = uniqueId('tq');
  const worker = await startTestWorker({
    taskQueue,
    activities: createActivities({
      pool: db.pool,
      scorer: workerScorer,
      deployments: workerDeployments,
      routing: workerRouting,
      temporal: { client: () => Promise.resolve(temporal.client), taskQueue },
    }),
  });

  const apiScorer = await scorer();
  const apiDeployments = await loadTestDeployments(db.pool, apiScorer);
  const apiRouting = await createPgRouting({ pool: db.pool, deploymentOf: routedDeployment(apiDeployments) });
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    API_KEY: TEST_API_KEY,
    TEMPORAL_TASK_QUEUE: taskQueue,
    // Every challenger call in the thread, where the tests count them; the default (auto) keeps a cheap
    // challenger on the main thread once timed (api/placement.test.ts).
    CHALLENGER_THREAD: 'on',
  });
  const log = createPredictionLog({ pool: db.pool, flushIntervalMs: 20 });
  const logger = createLogger(config);
  // As the API server runs them with CHALLENGER_THREAD=on: the challenger's record calls score in a worker thread.
  const thread = createThreadScorer({ intraOpThreads: 1, maxBatchSize: 64 }, logger);
  const threadCalls = new Map<string, number>();
  const threadRecords = new Map<string, number>();
  const threadAnswered = new Map<string, number>();
  const add = (counts: Map<string, number>, ref: string, n: number) =>
    counts.set(ref, (counts.get(ref) ?? 0) + n);
  const challengerThread: ThreadScorer = {
    ...thread,
    async score(model, records, timed) {
      add(threadCalls, model.ref, 1);
      add(threadRecords, model.ref, records.length);
      try {
        return await thread.score(model, records, timed);
      } finally {
        add(threadAnswered, model.ref, 1);
      }
    },
  };
  const deps: AppDeps = {
    config,
    logger,
    pool: db.pool,
    temporal: temporal.client,
    scorer: apiScorer,
    deployments: apiDeployments,
    routing: apiRouting,
    predictionLog: log,
    logAllPredictions: false,
    challengerThread,
    lifecycle: { shuttingDown: false },
  };
  const app = createApp(
    deps,
    options.shadowScore ? { shadowScore: options.shadowScore((m, r) => apiScorer.score(m, r)) } : {},
  );
  return {
    db,
    temporal,
    worker,
    app,
    deps,
    log,
    apiRouting,
    threadCalls,
    threadRecords,
    threadAnswered,
    send: (method, path, body, headers = {}) => sendWithKey(app, method, path, body, headers),
    async close() {
      await log.close();
      await challengerThread.close();
      await worker.stop();
      await apiRouting.close();
      await workerRouting.close();
      for (const s of scorers) await s.close();
      await temporal.close();
      await db.drop();
      await models.close();
    },
  };
}

export const RIDE = {
  PULocationID: 43,
  DOLocationID: 151,
  trip_distance: 1.01,
  pickup_datetime: '2021-01-01T10:00:00',
};
