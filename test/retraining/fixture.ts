/**
 * The retraining fixture: the penguin classifier in a temporary model folder (the repository's version 1, or a
 * deliberately poor version 1 trained with `--c 1e-4`), its deployment file with a given training command, a fresh
 * database holding the penguins table and their labels, a real worker (in this process, or none for a test that runs
 * its own) and the HTTP app, whose scorer is a second one (it learns new versions by NOTIFY model_versions).
 * Another deployment of the repository (the rides) takes the penguins' place with `deployment`.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createActivities } from '../../activities/index.js';
import { createApp } from '../../api/app.js';
import type { AppDeps } from '../../api/deps.js';
import { ensureTrainingVenv } from '../../cli/train.js';
import { loadConfig } from '../../config.js';
import {
  retrainingWorkflowId,
  type RetrainingResult,
  type RetrainingRun,
} from '../../contracts/retraining.js';
import { upsertLabels } from '../../db/queries/labels.js';
import type { Pool } from '../../db/pool.js';
import { createLogger } from '../../logger.js';
import { followModelVersions } from '../../platform/model-versions.js';
import { createScorer, type ModelScorer } from '../../scoring/scorer.js';
import {
  connectTestTemporal,
  createTestDatabase,
  loadTestDeployments,
  startTestWorker,
  TEST_API_KEY,
  TEST_DEPLOYMENT_DIR,
  TEST_MODEL_DIR,
  sendWithKey,
  uniqueId,
  waitFor,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from '../helpers.js';
import { loadPenguinTable, readPenguinGolden } from '../penguin-table.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TOOLS_DIR = path.join(ROOT, '.tools');
export const MODEL = 'penguin-species';
/** The repository's training command for the classifier (deployments/penguin-species.json). */
export const TRAIN = ['{python}', 'models/train/penguins.py', '--out', '{out}', '--version', '{version}'];

export interface RetrainingStack {
  /** The deployment retrained (its model has the same name). */
  deployment: string;
  dir: string;
  modelDir: string;
  deploymentDir: string;
  taskQueue: string;
  db: TestDatabase;
  temporal: TestTemporal;
  worker: TestWorker | undefined;
  apiScorer: ModelScorer;
  send(method: string, url: string, body?: unknown): Promise<Response>;
  /** Waits for a run's workflow to end and returns its result. */
  result(runId: string): Promise<RetrainingResult>;
  /** The deployment's runs as GET /deployments/{name}/retraining lists them (newest first). */
  runs(): Promise<RetrainingRun[]>;
  /** Waits (up to 20 s) until a run is listed, then answers the newest; `what` started it. */
  firstRun(what: string): Promise<RetrainingRun>;
  versionsOnDisk(): Promise<string[]>;
  close(): Promise<void>;
}

let poorChampion: Promise<string> | undefined;
/** A version 1 that mostly answers the commonest class (accuracy ~0.44), trained once per test file. */
function trainPoorChampion(python: string): Promise<string> {
  poorChampion ??= (async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'poor-penguin-'));
    const r = spawnSync(python, ['models/train/penguins.py', '--out', out, '--version', '1', '--c', '1e-4'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`poor champion training failed: ${r.stderr}`);
    return path.join(out, MODEL, '1');
  })();
  return poorChampion;
}

export async function startRetrainingStack(options: {
  champion: 'repository' | 'poor';
  command?: string[];
  retraining?: Record<string, unknown>;
  /** Default true: a worker in this process; false for a test that runs its own worker process. */
  worker?: boolean;
  /**
   * Another deployment of the repository instead of the penguins (`champion` is then ignored): its name (its
   * model's too), the versions copied from the repository's model folder (the newest is the champion), and what
   * loads its records and labels into the fresh database.
   */
  deployment?: { name: string; versions: readonly string[]; load: (pool: Pool) => Promise<void> };
}): Promise<RetrainingStack> {
  const python = await ensureTrainingVenv(TOOLS_DIR);
  const name = options.deployment?.name ?? MODEL;
  const dir = await mkdtemp(path.join(tmpdir(), 'retraining-'));
  const modelDir = path.join(dir, 'models');
  const deploymentDir = path.join(dir, 'deployments');
  await mkdir(path.join(modelDir, name), { recursive: true });
  await mkdir(deploymentDir, { recursive: true });
  if (options.deployment) {
    for (const v of options.deployment.versions)
      await cp(path.join(TEST_MODEL_DIR, name, v), path.join(modelDir, name, v), { recursive: true });
  } else {
    const championDir =
      options.champion === 'poor' ? await trainPoorChampion(python) : path.join(TEST_MODEL_DIR, MODEL, '1');
    await cp(championDir, path.join(modelDir, MODEL, '1'), { recursive: true });
  }
  const file = JSON.parse(await readFile(path.join(TEST_DEPLOYMENT_DIR, `${name}.json`), 'utf8')) as {
    retraining?: Record<string, unknown>;
  };
  file.retraining = {
    ...file.retraining,
    ...(options.command || !options.deployment ? { command: options.command ?? TRAIN } : {}),
    ...options.retraining,
  };
  await writeFile(path.join(deploymentDir, `${name}.json`), JSON.stringify(file, null, 2));

  const db = await createTestDatabase();
  if (options.deployment) await options.deployment.load(db.pool);
  else {
    const golden = await readPenguinGolden();
    await loadPenguinTable(db.pool, golden);
    await upsertLabels(
      db.pool,
      MODEL,
      golden.map((g, i) => ({ key: i + 1, label: g.species })),
      'api',
    );
  }
  const temporal = await connectTestTemporal();
  const taskQueue = uniqueId('tq-retrain');
  const scorers: ModelScorer[] = [];
  const scorer = async () => {
    const s = await createScorer({ modelDir, intraOpThreads: 1, pool: db.pool });
    scorers.push(s);
    return s;
  };
  let worker: TestWorker | undefined;
  if (options.worker !== false) {
    const workerScorer = await scorer();
    worker = await startTestWorker({
      taskQueue,
      activities: createActivities({
        pool: db.pool,
        scorer: workerScorer,
        deployments: await loadTestDeployments(db.pool, workerScorer, { dir: deploymentDir }),
        temporal: { client: () => Promise.resolve(temporal.client), taskQueue },
        retraining: { modelDir, python, cwd: ROOT },
      }),
    });
  }
  const apiScorer = await scorer();
  const versions = await followModelVersions(db.pool, apiScorer);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    API_KEY: TEST_API_KEY,
    TEMPORAL_TASK_QUEUE: taskQueue,
  });
  const deps: AppDeps = {
    config,
    logger: createLogger(config),
    pool: db.pool,
    temporal: temporal.client,
    scorer: apiScorer,
    deployments: await loadTestDeployments(db.pool, apiScorer, { dir: deploymentDir }),
    lifecycle: { shuttingDown: false },
  };
  const app = createApp(deps);
  const send: RetrainingStack['send'] = (method, url, body) => sendWithKey(app, method, url, body);
  const runs = async () =>
    ((await (await send('GET', `/deployments/${name}/retraining`)).json()) as { runs: RetrainingRun[] }).runs;
  return {
    deployment: name,
    dir,
    modelDir,
    deploymentDir,
    taskQueue,
    db,
    temporal,
    worker,
    apiScorer,
    send,
    runs,
    async firstRun(what) {
      await waitFor(async () => (await runs()).length > 0, { timeoutMs: 20_000, what });
      const [newest] = await runs();
      if (!newest) throw new Error(`no run listed after ${what}`);
      return newest;
    },
    async result(runId) {
      return (await temporal.client.workflow
        .getHandle(retrainingWorkflowId(taskQueue, name), runId)
        .result()) as RetrainingResult;
    },
    versionsOnDisk: async () => (await readdir(path.join(modelDir, name))).sort(),
    async close() {
      await worker?.stop();
      await versions.close();
      for (const s of scorers) await s.close();
      await temporal.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
