/**
 * `npm run bench:ui`: how long the dashboard's overview takes to be fully rendered with a year of data: 365 batch
 * runs, 10 streams (their predictions and a few dead letters) and 3 deployments (the repository's two and a third
 * one in a temporary DEPLOYMENT_DIR). The API runs as its own process (api/server.ts) on a private Postgres and
 * Temporal dev server; Chromium (the browser tests' launcher: the same flags, the outside network blocked) loads
 * /ui in a new tab each time, and the time is from navigation start to the five overview cards showing their
 * figures. The first load also bundles the front end (once per API process) and is reported apart.
 * Options: --runs 7 (warm loads), --predictions 500 (per stream). Writes bench/results/ui-<timestamp>.json.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';
import { CHROMIUM, findChromium } from '../dev/browser.js';
import { freePort, startProcess, waitFor } from '../dev/process.js';
import { startTestServers } from '../dev/stack.js';
import { launchBrowser } from '../test/ui/browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, predictions: { type: 'string', default: '500' } },
});
const RUNS = Number(values.runs);
const PER_STREAM = Number(values.predictions);
const BATCH_RUNS = 365;
const STREAMS = 10;
const API_KEY = 'bench-ui-key-0123456789abcdef';
const log = (line: string) => console.log(`[bench:ui] ${line}`);

/** One completed run per day of 2025, alternating between the two batch deployments. */
async function seedBatchRuns(pool: Pool): Promise<void> {
  await pool.query(
    `INSERT INTO batch_runs (run_id, workflow_id, partition_key, partition_from, partition_to, model_name,
                             model_version, status, rows_scored, rows_rejected, started_at, finished_at,
                             deployment, metrics)
     SELECT 'batch-' || d::date || '/run-' || i, 'batch-' || d::date, d::date::text, d, d + interval '1 day',
            CASE WHEN i % 2 = 0 THEN 'ride-duration' ELSE 'penguin-species' END, '1', 'completed',
            20000 + (i * 37) % 5000, i % 7, d + interval '3 hours', d + interval '3 hours 20 seconds',
            CASE WHEN i % 2 = 0 THEN 'ride-duration' ELSE 'penguin-species' END,
            jsonb_build_object('rmse', 5 + (i % 10) / 10.0, 'mae', 3 + (i % 10) / 10.0)
       FROM generate_series(1, $1) AS i, LATERAL (SELECT timestamp '2025-01-01' + (i - 1) * interval '1 day' AS d) t`,
    [BATCH_RUNS],
  );
}

/** `PER_STREAM` predictions for each of 10 streams, and 3 dead letters on every other stream. */
async function seedStreams(pool: Pool): Promise<void> {
  await pool.query(
    `INSERT INTO stream_predictions (stream_id, event_id, model, version, payload, received_at, scored_at,
                                     deployment, record_key, prediction, primary_value)
     SELECT 'bench-' || s, e::text, 'ride-duration', '2', jsonb_build_object('prediction', e),
            now() - (e || ' seconds')::interval, now() - (e || ' seconds')::interval + interval '12 ms',
            'ride-duration', e::text, jsonb_build_object('duration', 10 + e % 30), to_jsonb(10 + e % 30)
       FROM generate_series(1, $1) AS s, generate_series(1, $2) AS e`,
    [STREAMS, PER_STREAM],
  );
  await pool.query(
    `INSERT INTO dead_letters (stream_id, event_id, payload, error, attempts)
     SELECT 'bench-' || s, 'dead-' || e, jsonb_build_object('record', jsonb_build_object('PULocationID', 'x')),
            'PULocationID: must be a number', 1
       FROM generate_series(1, $1, 2) AS s, generate_series(1, 3) AS e`,
    [STREAMS],
  );
}

/** The repository's deployment files and a third, online and streaming only, in a temporary folder. */
async function deploymentDir(dir: string): Promise<string> {
  const out = path.join(dir, 'deployments');
  await mkdir(out, { recursive: true });
  await cp(path.join(root, 'deployments'), out, { recursive: true });
  const third = {
    name: 'ride-duration-staging',
    description: 'bench:ui: a third deployment (online and streaming) over the staging alias',
    model: 'ride-duration@staging',
    key_field: 'ride_id',
    streaming: {},
    online: {},
  };
  await writeFile(path.join(out, `${third.name}.json`), JSON.stringify(third, null, 2));
  return out;
}

/** The page's document, as far as `rendered` needs it (this file is type-checked without the DOM types). */
type PageDocument = {
  querySelector(selector: string): unknown;
  querySelectorAll(selector: string): { length: number };
};

/** Runs in the page: -1 when a card failed, performance.now() once all five cards show figures, else false. */
function rendered(): number | false {
  const doc = (globalThis as unknown as { document: PageDocument }).document;
  if (doc.querySelector('main .card-body .error')) return -1;
  const done =
    doc.querySelectorAll('main .card-body .big').length === 5 && !doc.querySelector('main[aria-busy]');
  return done ? performance.now() : false;
}

/** Milliseconds from navigation start to every overview card showing its figures, checked against the seed. */
async function loadOverview(page: Page, url: string): Promise<number> {
  await page.goto(url, { waitUntil: 'commit' });
  const handle = await page.waitForFunction(rendered, undefined, { polling: 'raf', timeout: 30_000 });
  const ms = (await handle.jsonValue()) as number;
  const text = await page.locator('main').innerText();
  if (ms < 0) throw new Error(`an overview card failed: ${text}`);
  for (const expected of ['3 of 3 ready', `${STREAMS} streams`, '50+ runs'])
    if (!text.includes(expected)) throw new Error(`the overview does not show "${expected}": ${text}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

async function main(): Promise<void> {
  const chromium = findChromium();
  if (!chromium.ok) throw new Error(`no browser: ${chromium.reason}`);
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const dataDir = path.resolve(config.paths.data);
  await mkdir(dataDir, { recursive: true });
  const dir = await mkdtemp(path.join(dataDir, 'bench-ui-'));
  log('starting Postgres and the Temporal dev server');
  const servers = await startTestServers({ dir, toolsDir: config.paths.tools, databases: ['bench'] });
  const pool = createPool(servers.postgres.urlFor('bench'), { max: 4 });
  let api: ReturnType<typeof startProcess> | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  try {
    await migrate(pool);
    await seedBatchRuns(pool);
    await seedStreams(pool);
    const port = await freePort();
    const lines: string[] = [];
    api = startProcess('api', process.execPath, ['--import', 'tsx', path.join(root, 'api/server.ts')], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        API_KEY,
        DATABASE_URL: servers.postgres.urlFor('bench'),
        TEMPORAL_ADDRESS: servers.temporal.address,
        DEPLOYMENT_DIR: await deploymentDir(dir),
      },
      onLine: (l) => lines.push(l),
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the API', async () => (await fetch(`${base}/ready`)).ok, 60_000, 200).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${lines.join('\n')}`);
      },
    );
    const { deployments } = (await (
      await fetch(`${base}/deployments`, { headers: { authorization: `Bearer ${API_KEY}` } })
    ).json()) as { deployments: { name: string; status: string }[] };
    log(`API up; deployments: ${deployments.map((d) => `${d.name} (${d.status})`).join(', ')}`);

    browser = await launchBrowser();
    const context = browser.context;
    await context.addInitScript(
      `sessionStorage.setItem('model-serving.api-key', ${JSON.stringify(API_KEY)})`,
    );
    const load = async () => {
      const page = await context.newPage();
      try {
        return await loadOverview(page, `${base}/ui`);
      } finally {
        await page.close();
      }
    };
    const coldMs = await load();
    log(`first load (bundles the front end): ${coldMs.toFixed(0)} ms`);
    const warmMs: number[] = [];
    for (let i = 0; i < RUNS; i++) warmMs.push(await load());
    if (browser.outside.length > 0)
      throw new Error(`requests off this machine: ${browser.outside.join(', ')}`);

    const cpus = os.cpus();
    const result = {
      bench: 'ui',
      date: new Date().toISOString(),
      what: 'navigation start to the overview fully rendered (5 cards with figures), new tab per load',
      seeded: {
        batchRuns: BATCH_RUNS,
        streams: STREAMS,
        streamPredictions: STREAMS * PER_STREAM,
        deployments: deployments.length,
      },
      coldMs: Math.round(coldMs),
      warmMs: warmMs.map((m) => Math.round(m)),
      medianMs: Math.round(median(warmMs)),
      minMs: Math.round(Math.min(...warmMs)),
      maxMs: Math.round(Math.max(...warmMs)),
      machine: {
        cpu: cpus[0]?.model ?? 'unknown',
        cores: cpus.length,
        node: process.version,
        /** Others share the machine: the 1-minute load average when the loads ended. */
        loadAverage1m: Number((os.loadavg()[0] ?? 0).toFixed(2)),
        chromium: execFileSync(CHROMIUM, ['--version'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim(),
      },
    };
    const outDir = path.join(root, 'bench/results');
    await mkdir(outDir, { recursive: true });
    const file = path.join(outDir, `ui-${result.date.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    log(
      `overview with ${BATCH_RUNS} batch runs, ${STREAMS} streams, ${deployments.length} deployments: ` +
        `median ${result.medianMs} ms [${result.minMs}-${result.maxMs}] over ${RUNS} loads ` +
        `(first load ${result.coldMs} ms); ${result.machine.cpu}, ${result.machine.cores} cores`,
    );
    log(`wrote ${path.relative(root, file)}`);
  } finally {
    await browser?.close();
    await api?.stop();
    await pool.end();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
