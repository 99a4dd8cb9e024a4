/**
 * Worker process: polls the project's task queue for batch, streaming and ping work. Connects to the given
 * Temporal and Postgres servers and starts nothing else; waits for either when it is down, at start and (for
 * Temporal) while running, and exits only on SIGINT/SIGTERM or after a long outage (workers/temporal-session.ts).
 */
import { Client, Connection } from '@temporalio/client';
import { createActivities } from '../activities/index.js';
import { loadConfig, requireDatabaseUrl, temporalAddress } from '../config.js';
import { ensureControllers } from '../control/controllers.js';
import { ensureMonitoringSchedule } from '../control/monitoring.js';
import { ensureRetrainingSchedule } from '../control/retraining.js';
import { ensureSchedule, schedulePlans } from '../control/schedules.js';
import { migrate } from '../db/migrate.js';
import { createPool, waitForDatabase } from '../db/pool.js';
import { createLogger } from '../logger.js';
import { createPgRouting, routedDeployment, type RoutingTable } from '../platform/routing.js';
import { runMain } from '../platform/run-main.js';
import { clientRetryInterceptors, ensureSearchAttributes } from '../platform/temporal.js';
import { createScorer, type ModelScorer } from '../scoring/scorer.js';
import { followModelVersions } from '../platform/model-versions.js';
import { createSessionThread, type SessionThread } from '../scoring/session-thread.js';
import { createWorker, loadWorkerDeployments, retrainingPaths } from './create-worker.js';
import { installRuntimeLogger } from './runtime.js';
import { runWorkerSession, stopSignal } from './temporal-session.js';

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  for (const warning of config.warnings) logger.warn(warning);
  installRuntimeLogger(logger);
  const stop = stopSignal();
  const pool = createPool(requireDatabaseUrl(config), {
    max: config.database.poolSize,
    logger,
    application: 'worker',
  });
  const address = temporalAddress(config);
  const { namespace, taskQueue } = config.temporal;
  let scorer: ModelScorer | undefined;
  let routing: RoutingTable | undefined;
  let versions: Awaited<ReturnType<typeof followModelVersions>> | undefined;
  let batchSessions: SessionThread | undefined;
  // One client connection for the rollout workflow's routing Updates, opened at first use.
  let routingClient: Promise<Client> | undefined;
  const routingClientOf = () =>
    (routingClient ??= Connection.connect({ address, interceptors: clientRetryInterceptors() }).then(
      (connection) => new Client({ connection, namespace }),
      (err: unknown) => {
        routingClient = undefined; // the next call tries again
        throw err;
      },
    ));
  try {
    await waitForDatabase(pool, { logger });
    await migrate(pool, { logger });
    scorer = await createScorer({
      modelDir: config.models.dir,
      pool,
      intraOpThreads: config.models.intraOpThreads,
      logger,
    });
    // Deployments that do not fit their model or tables are refused (logged with the reason); the others run.
    const deployments = await loadWorkerDeployments({
      pool,
      scorer,
      dir: config.deployments.dir,
      logger,
      createSinks: true,
    });
    const models = scorer;
    // A version another worker's retraining registers is loaded here too.
    versions = await followModelVersions(pool, scorer, logger);
    routing = await createPgRouting({ pool, logger, deploymentOf: routedDeployment(deployments) });
    if (config.batch.scoringThread)
      batchSessions = createSessionThread({ intraOpThreads: config.models.intraOpThreads });
    const activities = createActivities({
      pool,
      scorer,
      deployments,
      ...(batchSessions ? { batchSessions } : {}),
      routing,
      webhookUrl: config.notify.webhookUrl,
      temporal: { client: routingClientOf, taskQueue },
      retraining: retrainingPaths(config),
    });
    await runWorkerSession({
      address,
      logger: logger.child({ taskQueue, namespace }),
      signal: stop.signal,
      // Create or update one schedule per deployment with batch.schedule; a paused schedule stays paused.
      setup: async () => {
        const admin = await Connection.connect({ address, interceptors: clientRetryInterceptors() });
        try {
          await ensureSearchAttributes(admin, namespace, logger);
          const client = new Client({ connection: admin, namespace });
          const specs = deployments.ready().map((d) => d.spec);
          const { plans, mismatch } = schedulePlans(
            specs,
            config,
            deployments.defaultDeployment()?.spec.name,
          );
          for (const warning of mismatch) logger.warn(warning);
          for (const plan of plans) await ensureSchedule(client, config, plan, undefined, logger);
          // Every deployment's routing is owned by its controller from the start (production = its champion).
          await ensureControllers(client, taskQueue, pool, models, deployments.ready(), logger);
          for (const d of deployments.ready())
            await ensureMonitoringSchedule(client, taskQueue, d.spec, logger);
          for (const d of deployments.ready())
            await ensureRetrainingSchedule(client, taskQueue, d.spec, logger);
        } finally {
          await admin.close();
        }
      },
      create: (connection) =>
        createWorker({
          connection,
          namespace,
          taskQueue,
          activities,
          workflowBundle: config.temporal.workflowBundle,
        }),
    });
    logger.info('worker stopped');
  } finally {
    stop.dispose();
    await routing?.close();
    await versions?.close();
    await batchSessions?.close();
    await routingClient?.then((c) => c.connection.close()).catch(() => undefined);
    await scorer?.close();
    await pool.end();
  }
});
