/**
 * The one fixture that starts the real stack: embedded Postgres, the Temporal dev server, the workflow bundle and
 * workers (as processes or in this process). `npm start`, the test global setup, the fault harness and the
 * benchmarks all start their servers here, so a fix to start-up (ports, root, shutdown order) reaches every one.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, type Worker } from '@temporalio/worker';
import pg from 'pg';
import type { Activities } from '../activities/index.js';
import { EMBEDDED_DATABASE, type Config } from '../config.js';
import { writeWorkflowBundle } from '../workers/bundle.js';
import { createWorker } from '../workers/create-worker.js';
import { startEmbeddedPostgres, type EmbeddedPg } from './postgres.js';
import { freePort, startProcess, type Managed } from './process.js';
import { isTemporalReachable, startTemporalDevServer, type TemporalDev } from './temporal.js';
import { ensureTemporalBinary } from './tools.js';

export type { EmbeddedPg, TemporalDev };

export interface StackDeps {
  databaseUrl: string;
  temporalAddress: string;
  /** Set when this process started the dev server (and so the Web UI). */
  temporalUiUrl: string | undefined;
  temporalBinary: string | undefined;
  /** Where the embedded cluster lives, when this process started one. */
  postgresDataDir: string | undefined;
  stop(): Promise<void>;
}

export interface StackOptions {
  config: Config;
  /** Database the project uses inside the embedded server. */
  database?: string;
  log: (source: 'postgres' | 'temporal' | 'setup', line: string) => void;
}

/** `npm start`'s servers: the given ones when DATABASE_URL / TEMPORAL_ADDRESS say so, else embedded, kept in DATA_DIR. */
export async function startStackDeps({
  config,
  database = EMBEDDED_DATABASE.database,
  log,
}: StackOptions): Promise<StackDeps> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((err: Error) => log('setup', `stop failed: ${err.message}`));
  };
  try {
    let temporalBinary: string | undefined;
    let temporalAddress = config.temporal.address;
    let temporalUiUrl: string | undefined;
    if (temporalAddress) {
      if (!(await isTemporalReachable(temporalAddress))) {
        throw new Error(
          `TEMPORAL_ADDRESS=${temporalAddress} does not answer; start that server or unset TEMPORAL_ADDRESS`,
        );
      }
      log('setup', `using the Temporal server at ${temporalAddress}`);
    } else {
      temporalBinary = await ensureTemporalBinary(config.paths.tools, (m) => log('setup', m));
      const server = await startTemporal({
        binary: temporalBinary,
        port: config.temporal.port,
        uiPort: config.temporal.uiPort,
        dbFile: path.resolve(config.paths.data, 'temporal', 'temporal.db'),
        namespace: config.temporal.namespace,
        onLine: (line) => log('temporal', line),
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalUiUrl = config.temporal.uiUrl;
    }

    let databaseUrl = config.database.url;
    let postgresDataDir: string | undefined;
    if (databaseUrl) {
      log('setup', 'using the Postgres server at DATABASE_URL');
    } else {
      const server = await startPostgres({
        dataDir: path.resolve(config.paths.data, 'postgres'),
        port: config.database.embeddedPort,
        databases: [database],
        onLine: (line) => log('postgres', line),
      });
      stops.push(() => server.stop());
      databaseUrl = server.urlFor(database);
      postgresDataDir = server.dataDir;
    }
    return { databaseUrl, temporalAddress, temporalUiUrl, temporalBinary, postgresDataDir, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Embedded Postgres with `databases` created in it (each only if missing). */
export async function startPostgres(options: {
  dataDir: string;
  port: number;
  databases?: string[];
  ephemeral?: boolean;
  onLine?: (line: string) => void;
}): Promise<EmbeddedPg> {
  const server = await startEmbeddedPostgres(options);
  try {
    for (const database of options.databases ?? []) await createDatabaseIfMissing(server.url, database);
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** The Temporal dev server: in memory without `dbFile`, headless without `uiPort`. */
export async function startTemporal(options: {
  binary: string;
  port: number;
  uiPort?: number;
  dbFile?: string;
  namespace?: string;
  onLine?: (line: string) => void;
}): Promise<TemporalDev> {
  return startTemporalDevServer({ ...options, namespace: options.namespace ?? 'default' });
}

export interface TestServers {
  postgres: EmbeddedPg;
  temporal: TemporalDev;
  temporalBinary: string;
  /** The prebuilt workflow bundle in `dir`, when asked for. */
  workflowBundle: string | undefined;
  stop(): Promise<void>;
}

/**
 * Throw-away servers for a test run or a benchmark, on free ports: Postgres in `dir` (deleted on stop) with
 * `databases` created, Temporal in memory, and the workflow bundle written meanwhile when `bundle` is set.
 */
export async function startTestServers(options: {
  dir: string;
  toolsDir: string;
  databases?: string[];
  bundle?: boolean;
  onLine?: (source: 'postgres' | 'temporal' | 'setup', line: string) => void;
}): Promise<TestServers> {
  const onLine = options.onLine ?? (() => {});
  const temporalBinary = await ensureTemporalBinary(options.toolsDir, (m) => onLine('setup', m));
  const [postgres, temporal, workflowBundle] = await Promise.allSettled([
    freePort().then((port) =>
      startPostgres({
        dataDir: path.join(options.dir, 'pg'),
        port,
        ephemeral: true,
        ...(options.databases ? { databases: options.databases } : {}),
        onLine: (line) => onLine('postgres', line),
      }),
    ),
    freePort().then((port) =>
      startTemporal({ binary: temporalBinary, port, onLine: (line) => onLine('temporal', line) }),
    ),
    options.bundle ? writeWorkflowBundle(path.join(options.dir, 'workflow-bundle.js')) : undefined,
  ]);
  if (
    postgres.status === 'rejected' ||
    temporal.status === 'rejected' ||
    workflowBundle.status === 'rejected'
  ) {
    // One failed: stop whichever did start, then report the first failure.
    if (postgres.status === 'fulfilled') await postgres.value.stop();
    if (temporal.status === 'fulfilled') await temporal.value.stop();
    const failed = [postgres, temporal, workflowBundle].find((r) => r.status === 'rejected');
    throw failed?.reason instanceof Error ? failed.reason : new Error(String(failed?.reason));
  }
  return {
    postgres: postgres.value,
    temporal: temporal.value,
    temporalBinary,
    workflowBundle: workflowBundle.value,
    async stop() {
      await temporal.value.stop();
      await postgres.value.stop();
    },
  };
}

/** Writes the prebuilt workflow bundle into `dir` (what a worker given WORKFLOW_BUNDLE loads). */
export function buildWorkflowBundle(dir: string): Promise<string> {
  return writeWorkflowBundle(path.join(dir, 'workflow-bundle.js'));
}

const ENTRIES = { worker: 'workers/main.ts', api: 'api/server.ts' } as const;

/**
 * A worker or API process as `npm run worker` / `npm run api` start it (same entry, same env contract). With
 * `ipc`, the child stops itself when this process goes away (see platform/run-main.ts).
 */
export function spawnService(
  kind: keyof typeof ENTRIES,
  options: { name?: string; env: NodeJS.ProcessEnv; ipc?: boolean; onLine?: (line: string) => void },
): Managed {
  const entry = fileURLToPath(new URL(`../${ENTRIES[kind]}`, import.meta.url));
  return startProcess(options.name ?? kind, process.execPath, ['--import', 'tsx', entry], {
    env: options.env,
    ...(options.ipc ? { ipc: true } : {}),
    ...(options.onLine ? { onLine: options.onLine } : {}),
  });
}

export interface InProcessWorker {
  worker: Worker;
  stop(): Promise<void>;
}

/** A worker in this process over the given activities (benchmarks); stop() drains it and closes its connection. */
export async function startInProcessWorker(options: {
  address: string;
  namespace?: string;
  taskQueue: string;
  activities: Activities;
  workflowBundle?: string;
}): Promise<InProcessWorker> {
  const connection = await NativeConnection.connect({ address: options.address });
  try {
    const worker = await createWorker({
      connection,
      namespace: options.namespace ?? 'default',
      taskQueue: options.taskQueue,
      activities: options.activities,
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
    });
    const running = worker.run();
    return {
      worker,
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await connection.close();
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client(adminUrl);
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
