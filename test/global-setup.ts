/**
 * One real Temporal dev server and one real Postgres for the whole test run. Each test file then makes its own
 * database from the migrated template, and its own task queues and workflow ids.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { startEmbeddedPostgres } from '../dev/postgres.js';
import { freePort } from '../dev/process.js';
import { createDatabaseIfMissing } from '../dev/stack.js';
import { startTemporalDevServer } from '../dev/temporal.js';
import { ensureTemporalBinary } from '../dev/tools.js';
import { writeWorkflowBundle } from '../workers/bundle.js';

export const TEMPLATE_DB = 'rides_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrlTemplate: string;
    templateDb: string;
    temporalAddress: string;
    temporalBinary: string;
    workflowBundle: string;
    runDir: string;
  }
}

const quiet = process.env.TEST_VERBOSE ? (line: string) => console.log(line) : () => {};

export default async function setup(project: TestProject) {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
  const runDir = path.resolve(config.paths.data, 'test', `run-${process.pid}`);
  await mkdir(runDir, { recursive: true });

  const temporalBinary = await ensureTemporalBinary(config.paths.tools, (m) => console.log(`[setup] ${m}`));
  const [pg, temporal, workflowBundle] = await Promise.all([
    freePort().then((port) =>
      startEmbeddedPostgres({ dataDir: path.join(runDir, 'pg'), port, ephemeral: true, onLine: quiet }),
    ),
    freePort().then((port) =>
      startTemporalDevServer({ binary: temporalBinary, port, namespace: 'default', onLine: quiet }),
    ),
    writeWorkflowBundle(path.join(runDir, 'workflow-bundle.js')),
  ]);

  await createDatabaseIfMissing(pg.url, TEMPLATE_DB);
  const pool = createPool(pg.urlFor(TEMPLATE_DB), { max: 1 });
  await migrate(pool).finally(() => pool.end());

  project.provide('pgUrlTemplate', pg.urlFor('__DB__'));
  project.provide('templateDb', TEMPLATE_DB);
  project.provide('temporalAddress', temporal.address);
  project.provide('temporalBinary', temporalBinary);
  project.provide('workflowBundle', workflowBundle);
  project.provide('runDir', runDir);

  return async () => {
    await temporal.stop();
    await pg.stop();
    await rm(runDir, { recursive: true, force: true });
  };
}
