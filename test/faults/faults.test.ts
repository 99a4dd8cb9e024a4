/**
 * Fault suite: the real stack as separate processes (Temporal dev server on SQLite, Postgres, 2 workers, 2 APIs),
 * faults injected while work is in flight, invariants read from the database and what consumers received (SSE,
 * NOTIFY, webhook) checked against each channel's guarantee; a process that exits by itself fails its scenario.
 * `npm test` runs the short form; `npm run test:faults` the full one (FAULTS_MODE=full), which also writes
 * bench/results/faults-*.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { generateIntoDb } from '../../data/generate-db.js';
import { createPool, type Pool } from '../../db/pool.js';
import { freePort } from '../../dev/process.js';
import { uniqueId } from '../helpers.js';
import { BatchRunsListener } from './consumers.js';
import { scenarios, type Ctx, type Scale, type ScenarioResult } from './scenarios.js';
import { FaultStack } from './stack.js';
import { WebhookReceiver } from './webhook.js';

const FULL = process.env.FAULTS_MODE === 'full';
const scale: Scale = FULL
  ? { name: 'full', faultsPerScenario: 4, chunkSize: 4000, batchRows: 1000, streamEvents: 3000 }
  : { name: 'short', faultsPerScenario: 2, chunkSize: 800, batchRows: 200, streamEvents: 1500 };
const MONTH_ROWS = FULL ? 600_000 : 120_000;
const API_KEY = 'fault-suite-api-key-0123456789';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe(`fault suite (${scale.name})`, { timeout: 600_000 }, () => {
  let stack: FaultStack;
  let pool: Pool;
  let connection: Connection;
  let webhook: WebhookReceiver;
  let batchRuns: BatchRunsListener;
  let ctx: Ctx;
  const results: ScenarioResult[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    webhook = await WebhookReceiver.start(await freePort());
    const taskQueue = uniqueId('faults');
    stack = await FaultStack.start({
      dir: path.join(inject('runDir'), uniqueId('faults')),
      workers: 2,
      apis: 2,
      temporalBinary: inject('temporalBinary'),
      workflowBundle: inject('workflowBundle'),
      taskQueue,
      apiKey: API_KEY,
      env: { NOTIFY_WEBHOOK_URL: webhook.url },
      log: (line) => (process.env.FAULTS_DEBUG ? console.log(line) : logLines.push(line)),
    });
    pool = createPool(stack.databaseUrl, { max: 4 });
    await generateIntoDb(pool, { month: '2024-03', rows: MONTH_ROWS, seed: 7, badShare: 0.02 });
    batchRuns = await BatchRunsListener.open(pool);
    connection = await Connection.connect({ address: stack.temporalAddress });
    const config = loadConfig({
      ...process.env,
      TEMPORAL_TASK_QUEUE: taskQueue,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      API_KEY,
    });
    ctx = {
      stack,
      pool,
      client: new Client({ connection, namespace: 'default' }),
      config,
      webhook,
      batchRuns,
      scale,
      random: seeded(20261124),
      log: (line) =>
        process.env.FAULTS_DEBUG ? console.log(`[suite] ${line}`) : logLines.push(`[suite] ${line}`),
    };
  }, 300_000);

  afterAll(async () => {
    if (results.length) {
      const table = [
        '| scenario | faults | work done | lost | duplicated | consumers received | time to recover | status |',
        '|---|---|---|---|---|---|---|---|',
        ...results.map(
          (r) =>
            `| ${r.scenario} | ${r.faults} | ${r.done}/${r.expected} (${r.detail}) | ${r.lost} | ${r.duplicated} | ${r.deliveries.map((d) => `${d.ok ? '' : 'FAILED '}${d.channel}: ${d.detail}`).join('<br>')} | ${(r.recoverMs / 1000).toFixed(1)} s | ${r.statusOk ? 'ok' : 'FAILED'}: ${[r.notes, ...r.unplannedExits].join('; ')} |`,
        ),
      ].join('\n');
      console.log(`\nFault suite (${scale.name}):\n${table}\n`);
      if (FULL) {
        await mkdir('bench/results', { recursive: true });
        const file = `bench/results/faults-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
        const machine = {
          cpu: os.cpus()[0]?.model,
          cores: os.cpus().length,
          memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        };
        await writeFile(file, JSON.stringify({ scale, machine, results }, null, 2));
      }
    }
    if (stack?.unplannedExits.length)
      console.log('unplanned exits:', JSON.stringify(stack.unplannedExits, null, 1));
    await connection?.close();
    await batchRuns?.close();
    await pool?.end();
    await stack?.stop();
    await webhook?.close();
  }, 120_000);

  const names = [
    'worker SIGKILL during a batch run',
    'worker SIGKILL during a stream',
    'Temporal SIGTERM and SIGKILL, restarted on its file',
    'Postgres stopped and started mid-run',
    'failing then slow webhook',
    'two workers and two API processes at once',
    'worker SIGKILL and Temporal restart during a rollout',
  ];
  for (const name of names) {
    it(name, async () => {
      const scenario = scenarios(ctx).find(([n]) => n === name);
      if (!scenario) throw new Error(`no scenario named ${name}`);
      const result = await scenario[1]();
      results.push(result);
      // A worker or API that crashed and was restarted by the harness is a failure, not a footnote.
      expect(result.unplannedExits, 'processes that exited by themselves').toEqual([]);
      // Primary keys make a duplicated row impossible; kept as a guard against a schema change.
      expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
      // What consumers received, against each channel's guarantee (test/faults/consumers.ts, docs/reliability.md).
      expect(result.deliveries.filter((d) => !d.ok)).toEqual([]);
      expect(result.deliveries.length, 'consumer checks ran').toBeGreaterThan(0);
      expect(result.done).toBe(result.expected);
      expect(result.expected).toBeGreaterThan(0);
      expect(result.statusOk, result.notes).toBe(true);
      if (!name.startsWith('two workers'))
        expect(result.faults, 'faults landed while work was in flight').toBeGreaterThan(0);
    });
  }
});
