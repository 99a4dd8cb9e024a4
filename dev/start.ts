/**
 * `npm start`: the whole stack on embedded defaults. Supervises Temporal, Postgres, one worker and the API with
 * per-process log prefixes; a worker or API that crashes is restarted with backoff (dev/supervise.ts); Ctrl-C,
 * SIGTERM or a crash loop stops everything in order; a second start reuses `.data/`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, maskUrl, RENAMED_VARIABLES, type Config } from '../config.js';
import { PING_WORKFLOW, type PingResult } from '../contracts/temporal.js';
import { connectClient } from '../platform/temporal.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../logger.js';
import type { ping } from '../workflows/ping.js';
import { runMain } from '../platform/run-main.js';
import { prefixer, waitFor } from './process.js';
import { spawnService, startStackDeps } from './stack.js';
import { supervise, type Supervised } from './supervise.js';

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'start');
  for (const warning of config.warnings) logger.warn(warning);
  const sinks = { postgres: prefixer('postgres'), temporal: prefixer('temporal'), setup: prefixer('setup') };
  const started = Date.now();
  const deps = await startStackDeps({ config, log: (source, line) => sinks[source](line) });

  const children: Supervised[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping: API and worker first, then Temporal and Postgres');
    await Promise.all(children.map((child) => child.stop(20_000)));
    await deps.stop();
    logger.info('everything stopped');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stopAll(0));

  try {
    const pool = createPool(deps.databaseUrl, { max: 1, logger });
    await migrate(pool, { logger }).finally(() => pool.end());

    const apiKey = await developmentApiKey(config);
    const env = childEnv(config, deps, apiKey.key);
    for (const name of ['worker', 'api'] as const) {
      children.push(
        supervise({
          name,
          start: () => spawnService(name, { env, ipc: true }),
          pidFile: path.resolve(config.paths.data, 'run', `${name}.pid`),
          onStarted: (pid) => logger.info({ process: name, childPid: pid }, `${name} started (pid ${pid})`),
          onCrash: (code, decision) => {
            if (decision.action === 'restart') {
              logger.warn(
                { process: name, code, crashes: decision.crashes, restartInMs: decision.delayMs },
                `${name} exited unexpectedly (code ${code}); restarting it in ${decision.delayMs / 1000} s`,
              );
            }
          },
          onGiveUp: (message) => {
            logger.error({ process: name }, message);
            void stopAll(1);
          },
        }),
      );
    }

    const apiUrl = `http://localhost:${config.api.port}`;
    await waitFor('the API to be ready', async () => (await fetch(`${apiUrl}/ready`)).ok, 60_000, 300);
    const ping = await pingThroughWorker(deps.temporalAddress, config);
    logger.info({ ping }, 'a ping workflow ran through the worker and wrote to Postgres');

    const lines = [
      '',
      `Ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
      `  API              ${apiUrl}`,
      `  API docs         ${apiUrl}/docs`,
      `  Dashboard        ${apiUrl}/ui`,
      `  Health           ${apiUrl}/ready`,
      apiKey.file
        ? `  API key          ${apiKey.file} (export API_KEY=$(cat ${path.relative(process.cwd(), apiKey.file)}))`
        : '',
      deps.temporalUiUrl
        ? `  Temporal Web UI  ${deps.temporalUiUrl}`
        : `  Temporal         ${deps.temporalAddress}`,
      `  Temporal gRPC    ${deps.temporalAddress} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`,
      config.database.url
        ? '  Postgres         DATABASE_URL'
        : `  Postgres         ${maskUrl(deps.databaseUrl) ?? 'embedded'}`,
      deps.postgresDataDir ? `  Postgres data    ${deps.postgresDataDir}` : '',
      deps.temporalBinary ? `  Temporal CLI     ${deps.temporalBinary}` : '',
      'Press Ctrl-C to stop everything.',
      '',
    ];
    process.stdout.write(lines.filter((l) => l !== '').join('\n') + '\n');
  } catch (err) {
    logger.error({ err }, 'start-up failed');
    await stopAll(1);
  }
});

/**
 * Control endpoints are never open: without API_KEY, development gets a random key made once and kept in
 * `.data/api-key` (mode 0600), so the documented curl examples work with `export API_KEY=$(cat .data/api-key)`.
 */
async function developmentApiKey(config: Config): Promise<{ key: string; file: string | undefined }> {
  if (config.api.apiKey) return { key: config.api.apiKey, file: undefined };
  const file = path.resolve(config.paths.data, 'api-key');
  const existing = await readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => '',
  );
  if (existing.length >= 16) return { key: existing, file };
  const key = randomBytes(24).toString('hex');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return { key, file };
}

function childEnv(
  config: Config,
  deps: { databaseUrl: string; temporalAddress: string },
  apiKey: string,
): NodeJS.ProcessEnv {
  // Deprecated names were warned about once, here; the children get the new names only, so they stay quiet.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [old, current] of Object.entries(RENAMED_VARIABLES)) {
    if (env[old] !== undefined && env[current] === undefined) env[current] = env[old];
    delete env[old];
  }
  return {
    ...env,
    API_KEY: apiKey,
    DATABASE_URL: deps.databaseUrl,
    TEMPORAL_ADDRESS: deps.temporalAddress,
    LOG_FORMAT: config.log.format,
    FORCE_COLOR: process.stdout.isTTY ? '1' : '0',
  };
}

async function pingThroughWorker(address: string, config: Config): Promise<PingResult> {
  const client = await connectClient(address, config.temporal.namespace);
  try {
    const id = `ping-${randomUUID()}`;
    return await client.workflow.execute<typeof ping>(PING_WORKFLOW, {
      taskQueue: config.temporal.taskQueue,
      workflowId: id,
      args: [{ id, message: 'npm start self-check' }],
      workflowExecutionTimeout: '60 seconds',
    });
  } finally {
    await client.connection.close();
  }
}
