/**
 * The private stack `npm run bench:stream` runs on: embedded Postgres, a Temporal dev server (in memory), the
 * migrated database, a real scorer and one in-process worker over the project's activities.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { clientRetryInterceptors } from '../platform/temporal.js';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';
import { startInProcessWorker, startTestServers } from '../dev/stack.js';
import { createLogger } from '../logger.js';
import { createScorer, type ModelScorer } from '../scoring/scorer.js';
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
  // A fresh clone has no data folder yet.
  await mkdir(path.resolve(config.paths.data), { recursive: true });
  const dir = await mkdtemp(path.join(path.resolve(config.paths.data), 'bench-stream-'));
  log('starting Postgres and the Temporal dev server');
  const servers = await startTestServers({
    dir,
    toolsDir: config.paths.tools,
    databases: ['bench'],
    bundle: true,
    onLine: (source, line) => {
      if (source === 'setup') log(line);
    },
  });
  const { postgres: pg, temporal, workflowBundle } = servers;
  const pool = createPool(pg.urlFor('bench'), { max: 16 });
  await migrate(pool);
  const scorer = await createScorer({ modelDir: path.resolve(config.models.dir), pool, intraOpThreads: 1 });
  // The producer's connection retries signals refused during continue-as-new quickly (see control/stream-send.ts).
  const connection = await Connection.connect({
    address: temporal.address,
    interceptors: clientRetryInterceptors(),
  });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = 'bench-stream';
  const worker = await startInProcessWorker({
    address: temporal.address,
    taskQueue,
    activities: createActivities({ pool, scorer }),
    ...(workflowBundle ? { workflowBundle } : {}),
  });
  return {
    pool,
    client,
    scorer,
    taskQueue,
    worker: worker.worker,
    async stop() {
      await worker.stop();
      await connection.close();
      await scorer.close();
      await pool.end();
      await servers.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
