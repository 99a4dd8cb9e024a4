/**
 * The private stack `npm run bench:stream` runs on: embedded Postgres, a Temporal dev server (in memory), the
 * migrated database, a real scorer and one in-process worker over the project's activities.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { clientRetryInterceptors } from '../platform/temporal.js';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';
import { startEmbeddedPostgres } from '../dev/postgres.js';
import { freePort } from '../dev/process.js';
import { createDatabaseIfMissing } from '../dev/stack.js';
import { startTemporalDevServer } from '../dev/temporal.js';
import { ensureTemporalBinary } from '../dev/tools.js';
import { createLogger } from '../logger.js';
import { createScorer, type ModelScorer } from '../scoring/scorer.js';
import { writeWorkflowBundle } from '../workers/bundle.js';
import { createWorker } from '../workers/create-worker.js';
import { installRuntimeLogger } from '../workers/runtime.js';

export interface BenchStack {
  pool: Pool;
  client: Client;
  scorer: ModelScorer;
  taskQueue: string;
  worker: Worker;
  stop(): Promise<void>;
}

export async function startBenchStack(log: (line: string) => void): Promise<BenchStack> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  installRuntimeLogger(createLogger({ log: { level: 'warn', format: 'json' } }), 'WARN');
  const dir = await mkdtemp(path.join(path.resolve(config.paths.data), 'bench-stream-'));
  const binary = await ensureTemporalBinary(config.paths.tools, log);
  log('starting Postgres and the Temporal dev server');
  const [pg, temporal, bundle] = await Promise.all([
    freePort().then((port) =>
      startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port, ephemeral: true }),
    ),
    freePort().then((port) => startTemporalDevServer({ binary, port, namespace: 'default' })),
    writeWorkflowBundle(path.join(dir, 'workflow-bundle.js')),
  ]);
  await createDatabaseIfMissing(pg.url, 'bench');
  const pool = createPool(pg.urlFor('bench'), { max: 16 });
  await migrate(pool);
  const scorer = await createScorer({ modelDir: path.resolve(config.models.dir), pool, intraOpThreads: 1 });
  // The producer's connection retries signals refused during continue-as-new quickly (see control/stream-send.ts).
  const connection = await Connection.connect({
    address: temporal.address,
    interceptors: clientRetryInterceptors(),
  });
  const client = new Client({ connection, namespace: 'default' });
  const native = await NativeConnection.connect({ address: temporal.address });
  const taskQueue = 'bench-stream';
  const worker = await createWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    activities: createActivities({ pool, scorer }),
    workflowBundle: bundle,
  });
  const running = worker.run();
  return {
    pool,
    client,
    scorer,
    taskQueue,
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
      await scorer.close();
      await pool.end();
      await temporal.stop();
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
