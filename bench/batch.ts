/**
 * `npm run bench:batch -- --rows 1000000 [--runs 3] [--chunk-size 50000] [--parallel 2] [--model ride-duration@2]`
 * End-to-end batch scoring on its own embedded Postgres + Temporal dev server + in-process worker: generates a
 * one-day partition, then runs each side `--runs` times, interleaved round by round: the `batchScoring` workflow
 * (which computes the day's drift window at its end), the same workflow with `drift: false`, the same with the
 * scoring thread off (`inline`), the binary COPY floor on `--parallel` connections (bench/batch-floor.ts), and two Python references on the same
 * rows and model (pandas read_sql + onnxruntime + to_sql with a COPY writer; numpy + binary COPY), from a venv the
 * bench makes on first use (bench/batch-python.ts). Each measured step starts right after a CHECKPOINT. Prints the
 * median and range of each side and the ratios, and writes bench/results/batch-<timestamp>.json. Whatever happens
 * (a failure, Ctrl-C, SIGTERM) it stops what it started and removes its folder under .data/bench/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { type Config, loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { startTestServers } from '../dev/stack.js';
import { createScorer } from '../scoring/scorer.js';
import { createSessionThread, type SessionThread } from '../scoring/session-thread.js';
import { createWorker, loadWorkerDeployments } from '../workers/create-worker.js';
import { copyFloor } from './batch-floor.js';
import { writeResults } from './results-file.js';
import { ensureBenchPython, runPythonReference } from './batch-python.js';
import {
  cpuDelta,
  cpuUse,
  formatCpu,
  postmasterPid,
  processCpu,
  processCpuDelta,
  type CpuUse,
} from './proc-cpu.js';
import { buildReport, printTable, SIDES, type Side, type SideRuns } from './batch-report.js';
import { formatSpread, roundOrder, spread } from './batch-stats.js';
import {
  prepareClassifierTable,
  preparePartition,
  runWorkflowOnce,
  timedScorer,
  type WorkflowRun,
} from './batch-workflow.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    'chunk-size': { type: 'string', default: '50000' },
    'batch-rows': { type: 'string', default: '25000' },
    parallel: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    /** Extra worker processes (test/worker-process.ts) on the task queue besides the in-process one. */
    'extra-workers': { type: 'string', default: '0' },
    model: { type: 'string', default: 'ride-duration@2' },
    'skip-python': { type: 'boolean', default: false },
    'skip-pandas': { type: 'boolean', default: false },
    /** Leaves out the workflow side with `drift: false` (the cost of the partition's drift window). */
    'skip-drift-off': { type: 'boolean', default: false },
    /** Leaves out the workflow side with the scoring thread off (ONNX runs on the worker's main thread). */
    'skip-inline': { type: 'boolean', default: false },
    /** Rows of the classifier side (the penguin-species deployment over a generated table); 0 skips it. */
    'classifier-rows': { type: 'string', default: '200000' },
    /** `insert`: the pandas reference writes with to_sql's default INSERTs (its old writer) instead of COPY. */
    'pandas-method': { type: 'string', default: 'copy' },
    /** Prints, per side and round, which Postgres processes used the CPU (backends, checkpointer, autovacuum). */
    'cpu-detail': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const DAY = { from: '2031-01-15T00:00:00', to: '2031-01-16T00:00:00' };
const log = (m: string) => process.stdout.write(`[bench] ${m}\n`);

// Everything started is stopped by one cleanup, reached from `finally` and from the signal handlers alike.
const abort = new AbortController();
const stops: (() => Promise<unknown>)[] = [];
let closing: Promise<void> | undefined;
/** Registers a stop (run last-registered first); one registered while closing runs at once. */
function onCleanup(stop: () => Promise<unknown>): void {
  if (closing) void stop().catch((err: Error) => log(`stop failed: ${err.message}`));
  else stops.unshift(stop);
}
function cleanup(dir: string): Promise<void> {
  closing ??= (async () => {
    abort.abort();
    for (const stop of stops) await stop().catch((err: Error) => log(`stop failed: ${err.message}`));
    await rm(dir, { recursive: true, force: true });
    log(`removed ${path.relative(root, dir)}`);
  })();
  return closing;
}

/** Folders of earlier runs that were killed outright (SIGKILL leaves no time to clean): their pid is gone. */
async function removeLeftovers(benchDir: string): Promise<void> {
  for (const name of await readdir(benchDir).catch(() => [])) {
    const pid = /^batch-(\d+)$/.exec(name)?.[1];
    if (!pid || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      await rm(path.join(benchDir, name), { recursive: true, force: true });
      log(`removed ${name} left by a killed run (pid ${pid})`);
    }
  }
}

/** A session thread whose runs go back to the model's own session (the main thread) while `onThread` is false. */
function switchableSessions(thread: SessionThread): SessionThread & { onThread: boolean } {
  const s: SessionThread & { onThread: boolean } = {
    onThread: true,
    run: (model, feeds, fetches) =>
      s.onThread ? thread.run(model, feeds, fetches) : model.session.run(feeds, fetches),
    close: () => thread.close(),
  };
  return s;
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
  onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('worker ready')) resolve(child);
    });
    child.once('error', (err) => reject(new Error(`worker process: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`worker process exited (${code}) before ready`)));
  });
}

async function main(config: Config, dir: string) {
  await removeLeftovers(path.dirname(dir));
  await mkdir(dir, { recursive: true });
  const python = args['skip-python']
    ? { skip: '--skip-python' }
    : await ensureBenchPython(root, config.paths.tools, log, abort.signal);
  if ('skip' in python) log(`skipping the Python references: ${python.skip}`);

  // dev/stack.ts stops whichever server did start when another fails, so one cleanup covers both.
  const servers = await startTestServers({
    dir,
    toolsDir: config.paths.tools,
    databases: ['rides'],
    bundle: true,
    onLine: (source, line) => {
      if (source === 'setup') log(line);
    },
  });
  onCleanup(() => servers.stop());
  const { postgres: pg, temporal, workflowBundle: bundle = '' } = servers;
  const url = pg.urlFor('rides');
  const pool = createPool(url, { max: 16 });
  onCleanup(() => pool.end());
  await migrate(pool);
  const rows = await preparePartition(pool, Number(args.rows), DAY, log);
  log(`partition ${DAY.from}..${DAY.to}: ${rows} rows`);

  const inner = await createScorer({
    intraOpThreads: Number(args.threads),
    modelDir: path.join(root, 'models'),
    aliases: { 'ride-duration': { production: '2', staging: '1' } },
  });
  onCleanup(() => inner.close());
  const model = await inner.resolve(args.model);
  const scorer = timedScorer(inner);
  // The repository's deployments, checked against this database like the worker does (ride-duration is default).
  const deployments = await loadWorkerDeployments({
    pool,
    scorer: inner,
    dir: path.resolve(root, config.deployments.dir),
  });
  // The worker's scoring thread (BATCH_SCORING_THREAD=on, the default), switched off for the `inline` side only.
  const sessions = switchableSessions(createSessionThread({ intraOpThreads: Number(args.threads) }));
  onCleanup(() => sessions.close());
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  onCleanup(() => nativeConnection.close());
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue: 'bench-batch',
    activities: createActivities({ pool, scorer, deployments, batchSessions: sessions }),
    workflowBundle: bundle,
  });
  const running = worker.run().catch((err: Error) => log(`worker stopped: ${err.message}`));
  onCleanup(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  });
  await Promise.all(
    Array.from({ length: Number(args['extra-workers']) }, () =>
      startWorkerProcess(url, temporal.address, bundle),
    ),
  );
  const connection = await Connection.connect({ address: temporal.address });
  onCleanup(() => connection.close());
  const client = new Client({ connection, namespace: 'default' });

  const input = {
    ...DAY,
    model: args.model,
    chunkSize: Number(args['chunk-size']),
    batchRows: Number(args['batch-rows']),
    maxParallelChunks: Number(args.parallel),
  };
  const pyArgs = ['--from', DAY.from, '--to', DAY.to, '--threads', args.threads];
  pyArgs.push('--model-dir', path.join(root, 'models', model.name, model.version));
  const runs: SideRuns = { workflow: [], nodrift: [], inline: [], floor: [], pandas: [], numpy: [] };
  const runPy = async (script: string, into: Record<string, number>[], extra: string[] = []) => {
    if ('skip' in python) return NaN;
    // The URL (with the embedded cluster's password) goes through the environment, not the command line.
    const r = await runPythonReference(python.python, script, [...pyArgs, ...extra], {
      root,
      env: { ...process.env, DATABASE_URL: url },
      signal: abort.signal,
    });
    into.push(r);
    return r.total_s ?? NaN;
  };
  /** Each side's one measured run; resolves to its seconds. */
  const measure: Partial<Record<Side, () => Promise<number>>> = {
    workflow: async () => {
      const r = await runWorkflowOnce({ pool, client, scorer, input, rows, signal: abort.signal });
      runs.workflow.push(r);
      return r.seconds;
    },
    ...(args['skip-drift-off']
      ? {}
      : {
          nodrift: async () => {
            const noDrift = { ...input, drift: false };
            const r = await runWorkflowOnce({
              pool,
              client,
              scorer,
              input: noDrift,
              rows,
              signal: abort.signal,
            });
            runs.nodrift.push(r);
            return r.seconds;
          },
        }),
    ...(args['skip-inline']
      ? {}
      : {
          inline: async () => {
            sessions.onThread = false;
            try {
              const r = await runWorkflowOnce({ pool, client, scorer, input, rows, signal: abort.signal });
              runs.inline.push(r);
              return r.seconds;
            } finally {
              sessions.onThread = true;
            }
          },
        }),
    floor: async () => {
      const f = await copyFloor(pool, DAY, input.maxParallelChunks, model);
      runs.floor.push(f);
      return (f.outMs + f.inMs) / 1000;
    },
  };
  if (!('skip' in python)) {
    if (!args['skip-pandas'])
      measure.pandas = () => runPy('bench/batch-pandas.py', runs.pandas, ['--method', args['pandas-method']]);
    measure.numpy = () => runPy('bench/batch-numpy-copy.py', runs.numpy);
  }
  const sides = SIDES.filter((s) => measure[s]);
  log(`${RUNS} rounds of ${sides.join(', ')} (order rotated each round); ${describeInput(input)}`);
  // CPU per side: Postgres (postmaster, backends, ended backends), this process (worker, scorer, COPY client),
  // the children it reaped (a Python reference) and the rest of its tree (the Temporal dev server).
  const pgPid = postmasterPid(pg.dataDir);
  const cpu: Partial<Record<Side, CpuUse[]>> = {};
  for (let round = 0; round < RUNS; round++) {
    for (const side of roundOrder(sides, round)) {
      await pool.query('CHECKPOINT'); // no step pays for the WAL of the one before
      const before = cpuUse(pgPid);
      const detail = args['cpu-detail'] ? processCpu(pgPid) : undefined;
      const seconds = (await measure[side]?.()) ?? NaN;
      const used = cpuDelta(before, cpuUse(pgPid));
      if (detail)
        for (const p of processCpuDelta(detail, processCpu(pgPid)))
          log(`  ${side} Postgres CPU ${p.seconds.toFixed(2)} s: ${p.cmd}`);
      (cpu[side] ??= []).push(used);
      log(`round ${round + 1}/${RUNS} ${side}: ${seconds.toFixed(2)} s (CPU s: ${formatCpu(used)})`);
    }
  }
  const classifier = await measureClassifier(pool, client, scorer, input, Number(args['classifier-rows']));
  const report = buildReport({
    rows,
    runs,
    input: { ...input, workers: 1 + Number(args['extra-workers']), ortThreads: Number(args.threads) },
    skipped: 'skip' in python ? python.skip : undefined,
    pandasMethod: args['pandas-method'],
  });
  printTable(report);
  for (const side of sides) {
    const runsOf = cpu[side] ?? [];
    const med = (k: keyof CpuUse) => spread(runsOf.map((c) => c[k])).median;
    log(
      `CPU of ${side}, median s: ${formatCpu({ postgres: med('postgres'), bench: med('bench'), python: med('python'), temporal: med('temporal') })}`,
    );
  }
  if (classifier.length > 0) {
    const seconds = spread(classifier.map((r) => r.seconds));
    log(
      `classifier (penguin-species, ${classifier[0]?.summary.rowsScored ?? 0} of ${args['classifier-rows']} rows scored, ` +
        `label + probabilities): ${formatSpread(seconds)} s, ${Math.round(Number(args['classifier-rows']) / seconds.median)} rows/s`,
    );
  }
  const classifierRuns = classifier.map((r) => ({
    seconds: r.seconds,
    rowsPerSecond: r.rowsPerSecond,
    summary: r.summary,
  }));
  const file = await writeResults('batch', new Date().toISOString(), {
    ...report,
    cpuSeconds: cpu,
    classifier: classifierRuns,
  });
  log(`wrote ${file}`);
}

/**
 * The classifier deployment (string inputs, label + probabilities jsonb out) through the same workflow, RUNS times
 * over a generated penguins table; 0 rows skips it.
 */
async function measureClassifier(
  pool: Parameters<typeof prepareClassifierTable>[0],
  client: Parameters<typeof runWorkflowOnce>[0]['client'],
  scorer: { ms: number },
  input: { chunkSize: number; batchRows: number; maxParallelChunks: number },
  rows: number,
): Promise<WorkflowRun[]> {
  if (rows <= 0) return [];
  await prepareClassifierTable(pool, rows);
  const out: WorkflowRun[] = [];
  for (let round = 0; round < RUNS; round++) {
    const truncate = round === 0 ? [] : ['penguin_predictions', 'penguin_predictions_rejected'];
    await pool.query('CHECKPOINT');
    const r = await runWorkflowOnce({
      pool,
      client,
      scorer,
      input: {
        deployment: 'penguin-species',
        chunkSize: input.chunkSize,
        batchRows: input.batchRows,
        maxParallelChunks: input.maxParallelChunks,
      },
      rows,
      truncate,
      signal: abort.signal,
    });
    log(
      `classifier round ${round + 1}/${RUNS}: ${r.seconds.toFixed(2)} s (${r.summary.rowsScored} scored, ${r.summary.rowsRejected} rejected)`,
    );
    out.push(r);
  }
  return out;
}

const describeInput = (i: { chunkSize: number; batchRows: number; maxParallelChunks: number }) =>
  `workflow chunks of ${i.chunkSize} rows, batches of ${i.batchRows}, ${i.maxParallelChunks} chunks in flight`;

const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
const dir = path.resolve(config.paths.data, 'bench', `batch-${process.pid}`);
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and a signal with
  // no listener left would kill it halfway through the cleanup.
  process.on(signal, () => {
    if (closing) return log(`${signal}: already stopping`);
    log(`${signal}: stopping what the bench started`);
    void cleanup(dir).finally(() => process.exit(code));
  });
}
try {
  await main(config, dir);
} catch (err) {
  // After a signal, failures of steps cut short by the cleanup are expected; anything else is reported.
  if (!abort.signal.aborted) {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
} finally {
  await cleanup(dir);
}
