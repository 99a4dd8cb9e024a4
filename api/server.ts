/**
 * API process: serves the Hono app on PORT. Connects to the given Postgres and Temporal; starts nothing else.
 * On SIGTERM/SIGINT readiness turns false, the listener closes, in-flight requests finish, then it exits 0.
 */
import { serve } from '@hono/node-server';
import { loadConfig, requireDatabaseUrl, temporalAddress } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createPool, waitForDatabase } from '../db/pool.js';
import { createLogger } from '../logger.js';
import { runMain } from '../platform/run-main.js';
import { connectClient } from '../platform/temporal.js';
import { batchTableCheck } from '../activities/batch-check.js';
import { loadDeployments } from '../platform/deployments.js';
import { createPgRouting, routedDeployment } from '../platform/routing.js';
import { createScorer } from '../scoring/scorer.js';
import { followModelVersions } from '../platform/model-versions.js';
import { createThreadScorer } from '../scoring/score-thread.js';
import { createStreamSender } from '../control/stream-send.js';
import { watchStreamRollovers } from '../control/stream-rollover.js';
import { AFTER_RESPONSE_SETTLE_MS, createAfterResponse } from './after-response.js';
import { createApp } from './app.js';
import { createPredictionLog } from './prediction-log.js';

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'api');
  for (const warning of config.warnings) logger.warn(warning);
  const pool = createPool(requireDatabaseUrl(config), {
    max: config.database.poolSize,
    logger,
    application: 'api',
  });
  await waitForDatabase(pool, { logger });
  await migrate(pool, { logger });
  const temporal = await connectClient(temporalAddress(config), config.temporal.namespace);
  const scorer = await createScorer({
    modelDir: config.models.dir,
    pool,
    intraOpThreads: config.models.intraOpThreads,
    logger,
  });
  // A version a retraining registers while the API runs is loaded here too.
  const versions = await followModelVersions(pool, scorer, logger);
  // Checked against their tables as the worker checks them, so GET /deployments shows a batch mode that waits.
  const deployments = await loadDeployments({
    dir: config.deployments.dir,
    scorer,
    logger,
    checks: [batchTableCheck(pool)],
  });
  // Stream events go through one sender per process that holds a stream while its run continues as new.
  const rollover = await watchStreamRollovers({ pool, logger });
  const streamSender = createStreamSender(temporal, config, { rollover });
  const routing = await createPgRouting({ pool, logger, deploymentOf: routedDeployment(deployments) });
  // Always open: with PREDICTION_LOG off it logs only the calls of a deployment that has a challenger.
  const predictionLog = createPredictionLog({ pool, logger });
  const lifecycle = { shuttingDown: false };
  const afterResponse = createAfterResponse();
  const challengerThread =
    config.api.challengerThread !== 'off'
      ? createThreadScorer(
          { intraOpThreads: config.models.intraOpThreads, maxBatchSize: config.batching.maxSize },
          logger,
        )
      : undefined;
  const app = createApp({
    config,
    logger,
    pool,
    temporal,
    scorer,
    deployments,
    streamSender,
    lifecycle,
    afterResponse,
    routing,
    predictionLog,
    logAllPredictions: config.models.predictionLog,
    ...(challengerThread ? { challengerThread } : {}),
  });

  const server = serve({ fetch: app.fetch, hostname: config.api.host, port: config.api.port }, (info) =>
    logger.info({ port: info.port, url: config.api.publicUrl }, 'API listening'),
  );

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      if (lifecycle.shuttingDown) return;
      lifecycle.shuttingDown = true;
      logger.info({ signal }, 'shutting down: refusing new connections, finishing in-flight requests');
      const force = setTimeout(() => {
        logger.warn('in-flight requests did not finish within 10 s; closing them');
        if ('closeAllConnections' in server) server.closeAllConnections();
      }, 10_000);
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  // Every response is sent; the shadow calls they started finish (held ones included), then the rows logged reach
  // the table before the pool goes away.
  const unsettled = await afterResponse.settle(AFTER_RESPONSE_SETTLE_MS);
  if (unsettled > 0)
    logger.warn(
      { unsettled, waitedMs: AFTER_RESPONSE_SETTLE_MS },
      'shadow calls still running at shutdown; their rows are dropped',
    );
  await predictionLog.close().catch((err: unknown) => logger.error({ err }, 'prediction log flush failed'));
  logger.info(
    { written: predictionLog.written(), dropped: predictionLog.dropped(), refused: predictionLog.refused() },
    'prediction log flushed',
  );
  await rollover.close();
  await routing.close();
  await versions.close();
  await challengerThread?.close();
  await scorer.close();
  await temporal.connection.close();
  await pool.end();
  logger.info('API stopped');
});
