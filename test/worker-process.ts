/**
 * A generic worker in its own process for fault tests (SIGKILL and restart): real Postgres, real scorer over the
 * repository's models, the prebuilt workflow bundle. Env: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE,
 * WORKFLOW_BUNDLE (MODEL_DIR optional). Prints `worker ready` once polling.
 * Run: node --import tsx test/worker-process.ts
 */
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { loadConfig, requireDatabaseUrl, temporalAddress } from '../config.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../logger.js';
import { connectClient } from '../platform/temporal.js';
import { createScorer } from '../scoring/scorer.js';
import { createSessionThread } from '../scoring/session-thread.js';
import { createWorker, loadWorkerDeployments, retrainingPaths } from '../workers/create-worker.js';
import { installRuntimeLogger } from '../workers/runtime.js';

const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_FORMAT: 'json' });
const logger = createLogger(config, 'test-worker');
installRuntimeLogger(logger, 'WARN');
const pool = createPool(requireDatabaseUrl(config), { max: 8, logger, application: 'test-worker' });
const scorer = await createScorer({ modelDir: config.models.dir, pool, intraOpThreads: 1, logger });
// As workers/main.ts: batch pages' ONNX runs in a scoring thread unless BATCH_SCORING_THREAD=off.
const batchSessions = config.batch.scoringThread ? createSessionThread({ intraOpThreads: 1 }) : undefined;
const connection = await NativeConnection.connect({ address: temporalAddress(config) });
// For the activities that talk to Temporal (rollout Updates, a retraining's rollout).
const client = await connectClient(temporalAddress(config), config.temporal.namespace);
try {
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities({
      pool,
      scorer,
      deployments: await loadWorkerDeployments({ pool, scorer, dir: config.deployments.dir, logger }),
      ...(batchSessions ? { batchSessions } : {}),
      retraining: retrainingPaths(config),
      temporal: { client: () => Promise.resolve(client), taskQueue: config.temporal.taskQueue },
    }),
    workflowBundle: config.temporal.workflowBundle,
  });
  const running = worker.run();
  process.stdout.write('worker ready\n');
  await running;
} finally {
  await client.connection.close();
  await connection.close();
  await batchSessions?.close();
  await scorer.close();
  await pool.end();
}
