/**
 * `npm run bench:soak -- --minutes 10`: online load, a batch run and a stream at once against the real stack as
 * processes (Temporal dev server, Postgres, one worker, one API). Every interval it records online throughput and
 * p99, batch rows scored, stream events handled, and the RSS of the API and the worker; at the end it fits the RSS
 * trend of the second half to show that memory does not grow without bound.
 */
import { readFile, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectClient } from '../platform/temporal.js';
import { loadConfig } from '../config.js';
import { startBatchRun } from '../control/batch-runs.js';
import { sendEvents } from '../control/streams.js';
import { generateIntoDb } from '../data/generate-db.js';
import { createPool } from '../db/pool.js';
import { ensureTemporalBinary } from '../dev/tools.js';
import { buildWorkflowBundle } from '../dev/stack.js';
import { FaultStack, sleep } from '../test/faults/stack.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    interval: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    'stream-rate': { type: 'string', default: '100' },
    rows: { type: 'string', default: '600000' },
  },
});
const minutes = Number(values.minutes);
const intervalS = Number(values.interval);
const connections = Number(values.connections);
const streamRate = Number(values['stream-rate']);
const API_KEY = 'soak-benchmark-api-key-0123456789';

async function rssMiB(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0) : 0;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
    den += ((xs[i] ?? 0) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const dir = path.resolve('.data', `soak-${process.pid}`);
await mkdir(dir, { recursive: true });
const config0 = loadConfig();
const temporalBinary = await ensureTemporalBinary(config0.paths.tools, (m) => console.log(`[setup] ${m}`));
const workflowBundle = await buildWorkflowBundle(dir);
const taskQueue = `soak-${process.pid}`;
const stack = await FaultStack.start({
  dir,
  workers: 1,
  apis: 1,
  temporalBinary,
  workflowBundle,
  taskQueue,
  apiKey: API_KEY,
});
const pool = createPool(stack.databaseUrl, { max: 2 });
const client = await connectClient(stack.temporalAddress, 'default');
const config = loadConfig({
  TEMPORAL_TASK_QUEUE: taskQueue,
  TEMPORAL_ADDRESS: stack.temporalAddress,
  API_KEY,
});
console.log(`generating ${values.rows} rides for the batch run ...`);
await generateIntoDb(pool, { month: '2024-07', rows: Number(values.rows), seed: 11 });

const deadline = Date.now() + minutes * 60_000;
let latencies: number[] = [];
let errors = 0;
const online = Array.from({ length: connections }, async () => {
  const body = JSON.stringify({ PULocationID: 74, DOLocationID: 75, trip_distance: 2.5 });
  while (Date.now() < deadline) {
    const t0 = performance.now();
    const res = await fetch(`${stack.apiUrl()}/predict`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    }).catch(() => undefined);
    if (!res || res.status !== 200) errors += 1;
    await res?.arrayBuffer();
    latencies.push(performance.now() - t0);
  }
});

let batchRuns = 0;
const batch = (async () => {
  while (Date.now() < deadline) {
    const started = await startBatchRun(client, config, {
      from: '2024-07-01T00:00:00',
      to: '2024-08-01T00:00:00',
      model: 'ride-duration@2',
    });
    await client.workflow.getHandle(started.workflowId).result();
    batchRuns += 1;
  }
})();

let streamSent = 0;
const stream = (async () => {
  const perTick = Math.max(1, Math.round(streamRate / 10));
  while (Date.now() < deadline) {
    const events = Array.from({ length: perTick }, (_, i) => ({
      ride_id: streamSent + i,
      ride: {
        PULocationID: 1 + ((streamSent + i) % 265),
        DOLocationID: 1 + ((streamSent * 7 + i) % 265),
        trip_distance: 3.1,
      },
    }));
    streamSent += (await sendEvents(client, config, 'soak', events)).accepted;
    await sleep(100);
  }
})();

const samples: Record<string, number>[] = [];
const t0 = Date.now();
let lastHandled = 0;
console.log(
  '| t (s) | predict req/s | p99 ms | errors | batch rows/s | stream ev/s | API RSS MiB | worker RSS MiB |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
while (Date.now() < deadline) {
  await sleep(intervalS * 1000);
  const window = latencies;
  latencies = [];
  window.sort((a, b) => a - b);
  const scored = Number(
    (await pool.query<{ n: string }>('SELECT count(*) AS n FROM predictions')).rows[0]?.n ?? 0,
  );
  const handled = Number(
    (await pool.query<{ n: string }>("SELECT count(*) AS n FROM stream_predictions WHERE stream_id = 'soak'"))
      .rows[0]?.n ?? 0,
  );
  const sample = {
    t: Math.round((Date.now() - t0) / 1000),
    predictPerS: Math.round(window.length / intervalS),
    p99Ms: Math.round(percentile(window, 0.99) * 10) / 10,
    errors,
    batchRowsPerS: Math.round(scored / intervalS),
    streamPerS: Math.round(Math.max(0, handled - lastHandled) / intervalS),
    apiRssMiB: await rssMiB(stack.apis[0]?.child.pid),
    workerRssMiB: await rssMiB(stack.workers[0]?.child.pid),
  };
  lastHandled = handled;
  samples.push(sample);
  console.log(`| ${Object.values(sample).join(' | ')} |`);
}
await Promise.all([...online, stream]);
await batch.catch((err: Error) => console.log(`batch loop: ${err.message}`));

const half = samples.slice(Math.floor(samples.length / 2));
const minutesOf = half.map((s) => (s.t ?? 0) / 60);
const trend = {
  apiMiBPerMin:
    Math.round(
      slope(
        minutesOf,
        half.map((s) => s.apiRssMiB ?? 0),
      ) * 10,
    ) / 10,
  workerMiBPerMin:
    Math.round(
      slope(
        minutesOf,
        half.map((s) => s.workerRssMiB ?? 0),
      ) * 10,
    ) / 10,
};
console.log(
  `\nbatch runs completed: ${batchRuns}; stream events sent: ${streamSent}; online errors: ${errors}`,
);
console.log(
  `RSS trend over the second half: API ${trend.apiMiBPerMin} MiB/min, worker ${trend.workerMiBPerMin} MiB/min`,
);
const machine = {
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
};
await mkdir('bench/results', { recursive: true });
const file = `bench/results/soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await writeFile(
  file,
  JSON.stringify(
    { machine, minutes, connections, streamRate, batchRuns, streamSent, errors, trend, samples },
    null,
    2,
  ),
);
console.log(`wrote ${file}`);
await client.connection.close();
await pool.end();
await stack.stop();
await rm(dir, { recursive: true, force: true });
