/**
 * Per-file test resources on the shared real servers: a fresh database cloned from the migrated template,
 * Temporal clients, unique task queues and ids, and a real in-process worker.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { connectClient } from '../platform/temporal.js';
import { NativeConnection, type Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createActivities, type Activities } from '../activities/index.js';
import { createPool, type Pool } from '../db/pool.js';
import { createLogger } from '../logger.js';
import { createScorer, type ModelScorer, type ScorerOptions } from '../scoring/scorer.js';
import { createSessionThread, type SessionThread } from '../scoring/session-thread.js';
import { createWorker, loadWorkerDeployments } from '../workers/create-worker.js';
import { createApp } from '../api/app.js';
import type { AppDeps } from '../api/deps.js';
import { createPredictionLog } from '../api/prediction-log.js';
import { loadConfig } from '../config.js';
import { installRuntimeLogger } from '../workers/runtime.js';
import { loadDeployments } from '../platform/deployments.js';

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/**
 * Waits until `check` holds, polling every `intervalMs` (default 10), and throws naming `what` after `timeoutMs`:
 * a test waits on the event it needs, never on a fixed sleep, and a wait that can never end fails instead of hanging.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; what: string; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 10));
  }
}

export function databaseUrl(database: string): string {
  return inject('pgUrlTemplate').replace('__DB__', database);
}

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A new database for one test file, with every migration applied (cloned from the template). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = uniqueId('t').replace('-', '_');
  const admin = new pg.Client(databaseUrl('postgres'));
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${pg.escapeIdentifier(inject('templateDb'))}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const pool = createPool(url, { max: 8 });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client(databaseUrl('postgres'));
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => c.end());
    },
  };
}

export interface TestTemporal {
  address: string;
  client: Client;
  close(): Promise<void>;
}

export async function connectTestTemporal(): Promise<TestTemporal> {
  const address = inject('temporalAddress');
  const client = await connectClient(address, 'default');
  return { address, client, close: () => client.connection.close() };
}

export interface TestWorker {
  taskQueue: string;
  worker: Worker;
  /** Resolves when the worker has shut down. */
  stop(): Promise<void>;
}

/** The repository's models (ride-duration 1 and 2). */
export const TEST_MODEL_DIR = fileURLToPath(new URL('../models/', import.meta.url));

/** A real scorer over the repository's models; aliases from `pool`'s model_aliases table (static when no pool). */
export function createTestScorer(pool?: Pool, options: Partial<ScorerOptions> = {}): Promise<ModelScorer> {
  return createScorer({
    modelDir: TEST_MODEL_DIR,
    intraOpThreads: 1,
    aliases: { 'ride-duration': { production: '2', staging: '1' } },
    ...(pool ? { pool } : {}),
    ...options,
  });
}

/** The repository's deployments (ride-duration, penguin-species). */
export const TEST_DEPLOYMENT_DIR = fileURLToPath(new URL('../deployments/', import.meta.url));

/**
 * The deployments a worker over `pool` serves, checked against their tables as the worker process does;
 * `createSinks` also creates missing sink tables (the worker process does at start; most test databases come
 * migrated, and a test that drops a sink wants the run to see it missing).
 */
export function loadTestDeployments(
  pool: Pool,
  scorer: ModelScorer,
  options: { dir?: string; createSinks?: boolean } = {},
) {
  return loadWorkerDeployments({
    pool,
    scorer,
    dir: options.dir ?? TEST_DEPLOYMENT_DIR,
    createSinks: options.createSinks ?? false,
  });
}

/**
 * Starts a real worker on its own task queue with the prebuilt workflow bundle. Without `activities`, they are
 * built over `pool` and `scorer` (a scorer made with createTestScorer(pool) and closed on stop when not given),
 * with the repository's deployments (or those of `deploymentDir`) loaded against `pool`.
 */
export async function startTestWorker(options: {
  activities?: Activities;
  pool?: Pool;
  scorer?: ModelScorer;
  taskQueue?: string;
  deploymentDir?: string;
  createSinks?: boolean;
}): Promise<TestWorker> {
  const taskQueue = options.taskQueue ?? uniqueId('tq');
  installRuntimeLogger(createLogger({ log: { level: 'error', format: 'json' } }), 'ERROR');
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  let ownScorer: ModelScorer | undefined;
  let sessions: SessionThread | undefined;
  let activities = options.activities;
  if (!activities) {
    const pool = requirePool(options.pool);
    const scorer = options.scorer ?? (ownScorer = await createTestScorer(pool));
    const deployments = await loadTestDeployments(pool, scorer, {
      ...(options.deploymentDir ? { dir: options.deploymentDir } : {}),
      ...(options.createSinks ? { createSinks: true } : {}),
    });
    // As the worker runs by default (BATCH_SCORING_THREAD=on): batch pages' ONNX runs in a scoring thread.
    sessions = createSessionThread({ intraOpThreads: 1 });
    activities = createActivities({ pool, scorer, deployments, batchSessions: sessions });
  }
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    activities,
    workflowBundle: inject('workflowBundle'),
  });
  const running = worker.run();
  return {
    taskQueue,
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
      await sessions?.close();
      await ownScorer?.close();
    },
  };
}

function requirePool(pool: Pool | undefined): Pool {
  if (!pool) throw new Error('startTestWorker needs either activities or a pool');
  return pool;
}

/** A test API key (control routes); pass `env: { API_KEY: '' }` to test the disabled state. */
export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

/** A request to `app` with the test API key, and `body` (when given) as JSON. */
export function sendWithKey(
  app: { request(path: string, init: RequestInit): Response | Promise<Response> },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

export interface TestApp {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  db: TestDatabase;
  temporal: TestTemporal;
  scorer: ModelScorer;
  close(): Promise<void>;
}

/**
 * The real HTTP app over a fresh database, the shared Temporal server and a real scorer (aliases in Postgres:
 * production -> 2, staging -> 1). `env` overrides configuration (e.g. `{ PREDICTION_LOG: 'on' }`).
 */
export async function createTestApp(
  options: { env?: Record<string, string>; taskQueue?: string; deploymentDir?: string } = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const temporal = await connectTestTemporal();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    API_KEY: TEST_API_KEY,
    TEMPORAL_TASK_QUEUE: options.taskQueue ?? uniqueId('tq'),
    ...options.env,
  });
  const scorer = await createTestScorer(db.pool);
  await scorer.setAlias('ride-duration', 'production', '2');
  await scorer.setAlias('ride-duration', 'staging', '1');
  const predictionLog = config.models.predictionLog ? createPredictionLog({ pool: db.pool }) : undefined;
  const deployments = await loadDeployments({ dir: options.deploymentDir ?? TEST_DEPLOYMENT_DIR, scorer });
  const deps: AppDeps = {
    config,
    logger: createLogger(config),
    pool: db.pool,
    temporal: temporal.client,
    scorer,
    deployments,
    lifecycle: { shuttingDown: false },
    ...(predictionLog ? { predictionLog } : {}),
  };
  return {
    app: createApp(deps),
    deps,
    db,
    temporal,
    scorer,
    async close() {
      deps.lifecycle.shuttingDown = true; // ends open SSE streams, which hold pooled connections
      await predictionLog?.close();
      await scorer.close();
      await temporal.close();
      await db.drop();
    },
  };
}

export interface WorkerEnvironment {
  db: TestDatabase;
  temporal: TestTemporal;
  worker: TestWorker;
  /** Set when the environment was asked for its own scorer (`withScorer`). */
  scorer: ModelScorer | undefined;
}

/**
 * Registers the usual per-file fixture: a fresh database (optionally seeded), a Temporal client and a real
 * worker on its own task queue, torn down after the file. Read the fields inside tests and hooks, not at load.
 */
export function useWorkerEnvironment(
  options: { seed?: (db: TestDatabase) => Promise<unknown>; withScorer?: boolean } = {},
): WorkerEnvironment {
  const env = {} as WorkerEnvironment;
  beforeAll(async () => {
    env.db = await createTestDatabase();
    env.temporal = await connectTestTemporal();
    env.scorer = options.withScorer ? await createTestScorer(env.db.pool) : undefined;
    env.worker = await startTestWorker({ pool: env.db.pool, ...(env.scorer ? { scorer: env.scorer } : {}) });
    await options.seed?.(env.db);
  });
  afterAll(async () => {
    await env.worker?.stop();
    await env.scorer?.close();
    await env.temporal?.close();
    await env.db?.drop();
  });
  return env;
}
