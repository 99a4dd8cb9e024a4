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
import { startTestServers } from '../dev/stack.js';

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

const verbose = Boolean(process.env.TEST_VERBOSE);

export default async function setup(project: TestProject) {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
  const runDir = path.resolve(config.paths.data, 'test', `run-${process.pid}`);
  await mkdir(runDir, { recursive: true });

  const servers = await startTestServers({
    dir: runDir,
    toolsDir: config.paths.tools,
    databases: [TEMPLATE_DB],
    bundle: true,
    onLine: (source, line) => {
      if (verbose || source === 'setup') console.log(`[${source}] ${line}`);
    },
  });
  const { postgres: pg, temporal, temporalBinary, workflowBundle } = servers;
  if (!workflowBundle) throw new Error('the workflow bundle was not written');
  const pool = createPool(pg.urlFor(TEMPLATE_DB), { max: 1 });
  await migrate(pool).finally(() => pool.end());

  project.provide('pgUrlTemplate', pg.urlFor('__DB__'));
  project.provide('templateDb', TEMPLATE_DB);
  project.provide('temporalAddress', temporal.address);
  project.provide('temporalBinary', temporalBinary);
  project.provide('workflowBundle', workflowBundle);
  project.provide('runDir', runDir);

  return async () => {
    await servers.stop();
    await rm(runDir, { recursive: true, force: true });
  };
}
