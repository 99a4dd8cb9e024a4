/**
 * `npm run bench:batch -- --rows 1000000 [--chunk-size 50000] [--parallel 2] [--model ride-duration@2]`
 * End-to-end batch scoring on its own embedded Postgres + Temporal dev server + in-process worker: generates a
 * one-day partition, runs `batchScoring`, and compares with two references on the same rows and model: the
 * pandas + to_sql script (bench/batch-pandas.py) and the COPY floor (COPY rows out, COPY as many rows back in).
 * Each measured step starts right after a CHECKPOINT, so none pays for the WAL of the step (or data set-up) before.
 * Prints a table and writes bench/results/batch-<timestamp>.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import copyStreams from 'pg-copy-streams';
import { createActivities } from '../activities/index.js';
import { loadConfig } from '../config.js';
import { BATCH_WORKFLOW, type BatchRunSummary } from '../contracts/batch.js';
import type { Scorer } from '../contracts/scoring.js';
import { generateIntoDb } from '../data/generate-db.js';
import { migrate } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';
import { startTestServers } from '../dev/stack.js';
import { createScorer } from '../scoring/scorer.js';
import { createWorker } from '../workers/create-worker.js';
import { activityTimings } from './batch-history.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    'chunk-size': { type: 'string', default: '50000' },
    'batch-rows': { type: 'string', default: '25000' },
    parallel: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    /** Extra worker processes (test/worker-process.ts) on the task queue besides the in-process one. */
    'extra-workers': { type: 'string', default: '0' },
    model: { type: 'string', default: 'ride-duration@2' },
    'skip-pandas': { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const DAY = { from: '2031-01-15T00:00:00', to: '2031-01-16T00:00:00' };
const log = (m: string) => process.stdout.write(`[bench] ${m}\n`);
const secs = (ms: number) => ms / 1000;

/** Generates ROWS rides in January 2031 and folds them into one day, keeping each ride's time of day. */
async function preparePartition(pool: Pool): Promise<number> {
  const g = await generateIntoDb(pool, { month: '2031-01', rows: ROWS, seed: 1, badShare: 0.01 });
  log(`generated ${g.rowsRead} rides in ${g.seconds.toFixed(1)}s`);
  await pool.query(
    `UPDATE rides SET pickup_datetime = $1::timestamp + (pickup_datetime - date_trunc('day', pickup_datetime)),
       dropoff_datetime = $1::timestamp + (dropoff_datetime - date_trunc('day', pickup_datetime))`,
    [DAY.from],
  );
  await pool.query('VACUUM ANALYZE rides');
  const { rows } = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM rides WHERE pickup_datetime >= $1 AND pickup_datetime < $2',
    [DAY.from, DAY.to],
  );
  return Number(rows[0]?.n);
}

/** Cumulative WAL and checkpoint counters, to show what a measured step cost Postgres beyond its own rows. */
async function walStats(pool: Pool): Promise<{ walBytes: number; walFpi: number; checkpoints: number }> {
  const { rows } = await pool.query<{ bytes: string; fpi: string; checkpoints: string }>(
    `SELECT w.wal_bytes AS bytes, w.wal_fpi AS fpi, c.num_timed + c.num_requested AS checkpoints
     FROM pg_stat_wal w, pg_stat_checkpointer c`,
  );
  const r = rows[0];
  return { walBytes: Number(r?.bytes), walFpi: Number(r?.fpi), checkpoints: Number(r?.checkpoints) };
}
const walDelta = (a: Awaited<ReturnType<typeof walStats>>, b: Awaited<ReturnType<typeof walStats>>) => ({
  walMb: (b.walBytes - a.walBytes) / 2 ** 20,
  walFpi: b.walFpi - a.walFpi,
  checkpoints: b.checkpoints - a.checkpoints,
});

/** A scorer that adds up the time spent inside `score` (validation + features + ONNX runs). */
function timedScorer(inner: Scorer): Scorer & { ms: number } {
  const t = {
    ms: 0,
    resolve: (ref: string) => inner.resolve(ref),
    async score(ref: Parameters<Scorer['score']>[0], rows: Parameters<Scorer['score']>[1]) {
      const started = performance.now();
      try {
        return await inner.score(ref, rows);
      } finally {
        t.ms += performance.now() - started;
      }
    },
  };
  return t;
}

/** COPY the partition's rows out, then COPY as many prediction-shaped rows into a table like `predictions`. */
async function copyFloor(pool: Pool): Promise<{ outMs: number; inMs: number; rows: number }> {
  const client = await pool.connect();
  try {
    await client.query('DROP TABLE IF EXISTS predictions_floor');
    await client.query('CREATE TABLE predictions_floor (LIKE predictions INCLUDING ALL)');
    const t0 = performance.now();
    const lines: string[] = [];
    let rest = '';
    const source = client.query(
      copyStreams.to(
        `COPY (SELECT ride_id, pickup_datetime, pu_location_id, do_location_id, trip_distance, actual_duration
         FROM rides WHERE pickup_datetime >= '${DAY.from}' AND pickup_datetime < '${DAY.to}') TO STDOUT`,
      ),
    );
    await pipeline(
      source,
      new Writable({
        write(chunk: Buffer, _enc, done) {
          const parts = (rest + chunk.toString()).split('\n');
          rest = parts.pop() ?? '';
          for (const p of parts) lines.push(p);
          done();
        },
      }),
    );
    const t1 = performance.now();
    const out = lines.map((l) => {
      const cols = l.split('\t');
      return `${cols[0]}\tride-duration\t2\t12.5\t${cols[5]}\t1.5\tfloor\t2031-01-16 00:00:00+00\n`;
    });
    await pipeline(Readable.from(out), client.query(copyStreams.from('COPY predictions_floor FROM STDIN')));
    const t2 = performance.now();
    return { outMs: t1 - t0, inMs: t2 - t1, rows: lines.length };
  } finally {
    client.release();
  }
}

/** A worker in its own process (its own main thread for ONNX runs) polling the bench task queue. */
function startWorkerProcess(url: string, address: string, bundle: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/worker-process.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: 'bench-batch',
      WORKFLOW_BUNDLE: bundle,
      ORT_INTRA_OP_THREADS: args.threads,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('worker ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited (${code}) before ready`)));
  });
}

function runPandas(url: string): Promise<Record<string, number>> {
  const python = path.join(root, '.tools', 'venv-train', 'bin', 'python');
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['bench/batch-pandas.py', '--url', url, '--from', DAY.from, '--to', DAY.to], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number>)
        : reject(new Error(`pandas script exited ${code}`)),
    );
  });
}

async function main() {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
  const dir = path.resolve(config.paths.data, 'bench', `batch-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const servers = await startTestServers({
    dir,
    toolsDir: config.paths.tools,
    databases: ['rides'],
    bundle: true,
  });
  const { postgres: pg, temporal, workflowBundle: bundle = '' } = servers;
  const stops: (() => Promise<unknown>)[] = [() => temporal.stop(), () => pg.stop()];
  try {
    const url = pg.urlFor('rides');
    const pool = createPool(url, { max: 16 });
    stops.unshift(() => pool.end());
    await migrate(pool);
    const rows = await preparePartition(pool);
    log(`partition ${DAY.from}..${DAY.to}: ${rows} rows`);

    const inner = await createScorer({
      intraOpThreads: Number(args.threads),
      modelDir: path.join(root, 'models'),
      aliases: { 'ride-duration': { production: '2', staging: '1' } },
    });
    const scorer = timedScorer(inner);
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const worker = await createWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue: 'bench-batch',
      activities: createActivities({ pool, scorer }),
      workflowBundle: bundle,
    });
    const running = worker.run();
    const extra = await Promise.all(
      Array.from({ length: Number(args['extra-workers']) }, () =>
        startWorkerProcess(url, temporal.address, bundle),
      ),
    );
    stops.unshift(async () => {
      for (const child of extra) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    });
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: 'default' });
    stops.unshift(async () => {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await inner.close();
    });

    const input = {
      ...DAY,
      model: args.model,
      chunkSize: Number(args['chunk-size']),
      batchRows: Number(args['batch-rows']),
      maxParallelChunks: Number(args.parallel),
    };
    log(`running ${BATCH_WORKFLOW} ${JSON.stringify(input)}`);
    await pool.query('CHECKPOINT'); // the generated partition's WAL is flushed before, not during, the measured run
    const wal0 = await walStats(pool);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const handle = await client.workflow.start(BATCH_WORKFLOW, {
      taskQueue: 'bench-batch',
      workflowId: `bench-${Date.now()}`,
      args: [input],
    });
    const summary = (await handle.result()) as BatchRunSummary;
    const e2eMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const wal = walDelta(wal0, await walStats(pool));
    const workerCpuS = (cpu.user + cpu.system) / 1e6; // this process: worker, scorer, ORT threads
    const steps = activityTimings(await handle.fetchHistory());
    const chunkBusyMs = steps.scoreChunk?.busyMs ?? 0;
    const e2e = {
      seconds: secs(e2eMs),
      rowsPerSecond: rows / secs(e2eMs),
      steps,
      scoreMs: scorer.ms,
      workerCpuSeconds: workerCpuS,
      rowsPerWorkerCpuSecond: rows / workerCpuS,
      postgresInChunksMs: chunkBusyMs - scorer.ms,
      wal,
      summary,
    };
    log(`workflow: ${e2e.seconds.toFixed(2)}s, ${Math.round(e2e.rowsPerSecond)} rows/s`);

    await pool.query('CHECKPOINT'); // each measured step starts without the previous one's checkpoint debt
    const floor = await copyFloor(pool);
    const floorS = secs(floor.outMs + floor.inMs);
    log(`COPY floor: ${floorS.toFixed(2)}s`);
    let pandas: Record<string, number> | undefined;
    if (!args['skip-pandas']) {
      await pool.query('CHECKPOINT');
      pandas = await runPandas(url);
      log(`pandas: ${pandas.total_s?.toFixed(2)}s`);
    }

    const cpus = os.cpus();
    const report = {
      bench: 'batch',
      at: new Date().toISOString(),
      machine: {
        loadAverage1m: os.loadavg()[0],
        cpu: cpus[0]?.model ?? 'unknown',
        cores: cpus.length,
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
      },
      rows,
      input: { ...input, workers: 1 + Number(args['extra-workers']), ortThreads: Number(args.threads) },
      endToEnd: e2e,
      copyFloor: {
        seconds: floorS,
        rowsPerSecond: rows / floorS,
        outSeconds: secs(floor.outMs),
        inSeconds: secs(floor.inMs),
      },
      pandas: pandas ? { ...pandas, rowsPerSecond: rows / (pandas.total_s ?? NaN) } : null,
      targets: {
        endToEndRowsPerSecond: { target: 100_000, measured: e2e.rowsPerSecond },
        vsPandas: { target: 5, measured: pandas ? (pandas.total_s ?? NaN) / e2e.seconds : null },
        vsCopyFloor: { target: 0.4, measured: floorS / e2e.seconds },
      },
    };
    const table = [
      ['what', 'seconds', 'rows/s'],
      ['batchScoring end to end', e2e.seconds.toFixed(2), Math.round(e2e.rowsPerSecond).toString()],
      ...Object.entries(steps).map(([name, s]) => [
        `  ${name} (x${s.count}, busy)`,
        secs(s.busyMs).toFixed(2),
        '',
      ]),
      [
        '  worker process CPU (rows per CPU-s)',
        workerCpuS.toFixed(2),
        Math.round(rows / workerCpuS).toString(),
      ],
      ['  inside chunks: scorer', secs(scorer.ms).toFixed(2), ''],
      ['  inside chunks: Postgres read+write', secs(e2e.postgresInChunksMs).toFixed(2), ''],
      [`  WAL ${Math.round(wal.walMb)} MB, ${wal.walFpi} full-page images, ${wal.checkpoints} checkpoints`],
      ['COPY floor (out + in)', floorS.toFixed(2), Math.round(rows / floorS).toString()],
      ...(pandas
        ? [
            [
              'pandas read_sql + predict + to_sql',
              (pandas.total_s ?? NaN).toFixed(2),
              Math.round(rows / (pandas.total_s ?? NaN)).toString(),
            ],
          ]
        : []),
    ];
    for (const r of table)
      process.stdout.write(
        `${(r[0] ?? '').padEnd(44)}${(r[1] ?? '').padStart(9)}${(r[2] ?? '').padStart(10)}\n`,
      );
    const outDir = path.join(root, 'bench', 'results');
    await mkdir(outDir, { recursive: true });
    const file = path.join(outDir, `batch-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${path.relative(root, file)}`);
  } finally {
    for (const stop of stops) await stop().catch((err: Error) => log(`stop failed: ${err.message}`));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
