/**
 * The retraining workflow on real Temporal, Postgres, ONNX Runtime and the real penguin training script: a better
 * version is registered (one rename into the model folder, loaded by the API's scorer through NOTIFY) and its
 * rollout starts with manual approval; a worse one is refused with the figures as its reason and registers nothing;
 * a failing command is recorded with its output and changes nothing; the API never takes a command; a worker
 * SIGKILLed mid-training is retried on a new worker and the run still ends registered, once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import type { RetrainingRun } from '../../contracts/retraining.js';
import { waitFor } from '../helpers.js';
import { MODEL, ROOT, startRetrainingStack, TOOLS_DIR, TRAIN, type RetrainingStack } from './fixture.js';

const R = `/deployments/${MODEL}/retraining`;
let stack: RetrainingStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(s: RetrainingStack, body: unknown = { reason: 'test' }): Promise<string> {
  const res = await s.send('POST', R, body);
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}
async function run(s: RetrainingStack, runId: string): Promise<RetrainingRun> {
  const res = await s.send('GET', `${R}/${runId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as RetrainingRun;
}
/** Whether anything is left in the model folder's staging area. */
const staged = (s: RetrainingStack) => {
  const dir = path.join(s.modelDir, '.staging');
  return existsSync(dir) && readdirSync(dir).length > 0;
};

describe('retraining', () => {
  it(
    'registers a version that beats the champion and starts its rollout with manual approval',
    { timeout: 120_000 },
    async () => {
      stack = await startRetrainingStack({ champion: 'poor' });
      const s = stack;
      const runId = await start(s, { reason: 'the champion is poor' });
      const result = await s.result(runId);
      expect(result).toMatchObject({ status: 'registered', version: '2' });
      expect(result.figures).toMatchObject({ metric: 'accuracy', rows: 97, margin: 0.01 });
      expect(result.figures?.champion).toBeLessThan(0.6);
      expect(result.figures?.candidate).toBeGreaterThan(0.95);
      expect(result.outcome).toMatch(
        /better by 0\.\d+, at least the margin 0\.01; rollout retrain-v2-\S+ started \(manual approval\)/,
      );
      expect(await s.versionsOnDisk()).toEqual(['1', '2']);
      expect(staged(s)).toBe(false);
      // The API process learns the new version; production stays on the champion until the rollout promotes.
      await waitFor(() => s.apiScorer.registry.get(MODEL, '2') !== undefined, {
        timeoutMs: 10_000,
        what: 'the API scorer to load version 2',
      });
      expect(s.apiScorer.resolveNow(MODEL).version).toBe('1');

      const rollout = await s.send('GET', `/deployments/${MODEL}/rollouts/${result.rollout}`);
      expect(rollout.status).toBe(200);
      const progress = (await rollout.json()) as {
        status: string;
        spec: { version: string; approval: string };
      };
      expect(progress.spec).toMatchObject({ version: '2', approval: 'manual' });
      expect(['running', 'awaiting_approval']).toContain(progress.status);
      const listed = (await (await s.send('GET', R)).json()) as { runs: RetrainingRun[] };
      expect(listed.runs).toHaveLength(1);
      expect(listed.runs[0]).toMatchObject({
        runId,
        status: 'registered',
        trigger: 'api',
        attempts: 1,
        rollout: result.rollout,
      });
      expect(listed.runs[0]?.reason).toMatch(/^the champion is poor/);
      const abort = await s.send('POST', `/deployments/${MODEL}/rollouts/${result.rollout}/abort`, {});
      expect(abort.status).toBe(200);
      // The abort hands the routing back through the controller; the worker must not stop in the middle of that.
      const status = async () =>
        (
          (await (await s.send('GET', `/deployments/${MODEL}/rollouts/${result.rollout}`)).json()) as {
            status: string;
          }
        ).status;
      await waitFor(async () => (await status()) === 'aborted', {
        timeoutMs: 30_000,
        what: 'the aborted rollout',
      });
      expect(s.apiScorer.resolveNow(MODEL).version).toBe('1');
    },
  );

  it(
    'refuses a worse version with its figures as the reason and registers nothing',
    { timeout: 120_000 },
    async () => {
      // The same script with a setting that makes it poor: almost no regularization budget (C = 1e-4).
      stack = await startRetrainingStack({ champion: 'repository', command: [...TRAIN, '--c', '1e-4'] });
      const s = stack;
      const runId = await start(s);
      const result = await s.result(runId);
      expect(result).toMatchObject({ status: 'refused', version: '2', rollout: null });
      expect(result.outcome).toMatch(
        /^accuracy 0\.4\d+ \(version 2\) against 1 \(champion 1\) on 97 labelled rows: gain -0\.5\d+, not better by the margin 0\.01$/,
      );
      expect(await s.versionsOnDisk()).toEqual(['1']);
      expect(staged(s)).toBe(false);
      expect(s.apiScorer.registry.versions(MODEL)).toEqual(['1']);
      expect(await run(s, runId)).toMatchObject({ status: 'refused', outcome: result.outcome });
      const rollouts = (await (await s.send('GET', `/deployments/${MODEL}/rollouts`)).json()) as {
        rollouts: unknown[];
      };
      expect(rollouts.rollouts).toEqual([]);
    },
  );

  it(
    'records a failing training command with its output and changes nothing',
    { timeout: 60_000 },
    async () => {
      stack = await startRetrainingStack({ champion: 'repository', command: [...TRAIN, '--no-such-flag'] });
      const s = stack;
      const runId = await start(s);
      const result = await s.result(runId);
      expect(result.status).toBe('failed');
      expect(result.outcome).toMatch(/^python exited with code 2: .*unrecognized arguments: --no-such-flag/);
      // A command that ran and failed is not retried: it would fail the same way.
      expect(await run(s, runId)).toMatchObject({ status: 'failed', attempts: 1, figures: null });
      expect(await s.versionsOnDisk()).toEqual(['1']);
      expect(staged(s)).toBe(false);
    },
  );

  it('takes a reason and a window from the API, never a command, and names the field it refuses', async () => {
    stack = await startRetrainingStack({ champion: 'repository', worker: false });
    const s = stack;
    const command = await s.send('POST', R, { command: ['rm', '-rf', '/'] });
    expect(command.status).toBe(400);
    expect(((await command.json()) as { errors: unknown[] }).errors).toEqual([
      {
        field: 'command',
        message:
          'is not accepted: the body may carry reason, from, to, train_from and train_to; what runs comes from the deployment file',
      },
    ]);
    const time = await s.send('POST', R, { from: 'yesterday', to: '2026-12-01T00:00:00Z' });
    expect(time.status).toBe(400);
    expect(((await time.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([
      'from',
    ]);
    const half = await s.send('POST', R, { from: '2026-12-01T00:00:00Z' });
    expect(((await half.json()) as { errors: unknown[] }).errors).toEqual([
      { field: 'to', message: 'from and to come together' },
    ]);
    const halfTraining = await s.send('POST', R, { train_from: '2022-01-01T00:00:00Z' });
    expect(((await halfTraining.json()) as { errors: unknown[] }).errors).toEqual([
      { field: 'train_to', message: 'train_from and train_to come together' },
    ]);
    const missing = await s.send('POST', '/deployments/no-such/retraining', {});
    expect(missing.status).toBe(404);
    const noRun = await s.send('GET', `${R}/no-such-run`);
    expect(noRun.status).toBe(404);
  });
});

describe('a worker killed mid-training', () => {
  let worker: ChildProcess | undefined;
  afterAll(async () => {
    if (worker && worker.exitCode === null) await kill(worker);
  });

  it('is retried on a new worker and the run still ends registered, once', { timeout: 180_000 }, async () => {
    stack = await startRetrainingStack({ champion: 'poor', worker: false });
    const s = stack;
    const env = {
      DATABASE_URL: s.db.url,
      TEMPORAL_ADDRESS: s.temporal.address,
      TEMPORAL_TASK_QUEUE: s.taskQueue,
      WORKFLOW_BUNDLE: inject('workflowBundle'),
      MODEL_DIR: s.modelDir,
      DEPLOYMENT_DIR: s.deploymentDir,
      TOOLS_DIR,
      LOG_LEVEL: 'error',
    };
    worker = await startWorkerProcess(env);
    const runId = await start(s, { reason: 'kill test' });
    // The attempt is counted just before the command is spawned: kill the worker while it trains.
    const attempts = async () =>
      Number(
        (
          await s.db.pool.query<{ attempts: number }>(
            'SELECT attempts FROM retraining_runs WHERE run_id = $1',
            [runId],
          )
        ).rows[0]?.attempts ?? 0,
      );
    await waitFor(async () => (await attempts()) >= 1, {
      timeoutMs: 60_000,
      what: 'the first training attempt',
    });
    await kill(worker);
    expect((await run(s, runId)).status).toBe('training');
    worker = await startWorkerProcess(env);
    const result = await s.result(runId);
    expect(result).toMatchObject({ status: 'registered', version: '2' });
    expect(await run(s, runId)).toMatchObject({ status: 'registered', attempts: 2 });
    expect(await s.versionsOnDisk()).toEqual(['1', '2']);
  });
});

function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/worker-process.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('worker ready')) resolve(child);
    });
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before ready:\n${out}`)));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
