/** The workflow side of `bench:batch`: the partition it scores, and one measured `batchScoring` run over it. */
import type { Client } from '@temporalio/client';
import { BATCH_WORKFLOW, type BatchRunSummary } from '../contracts/batch.js';
import type { Scorer } from '../contracts/scoring.js';
import { generateIntoDb } from '../data/generate-db.js';
import type { Pool } from '../db/pool.js';
import { activityTimings, type StepTiming } from './batch-history.js';

/** Generates `rows` rides in January 2031 and folds them into one day, keeping each ride's time of day. */
export async function preparePartition(
  pool: Pool,
  rows: number,
  day: { from: string; to: string },
  log: (m: string) => void,
): Promise<number> {
  const g = await generateIntoDb(pool, { month: '2031-01', rows, seed: 1, badShare: 0.01 });
  log(`generated ${g.rowsRead} rides in ${g.seconds.toFixed(1)}s`);
  await pool.query(
    `UPDATE rides SET pickup_datetime = $1::timestamp + (pickup_datetime - date_trunc('day', pickup_datetime)),
       dropoff_datetime = $1::timestamp + (dropoff_datetime - date_trunc('day', pickup_datetime))`,
    [day.from],
  );
  await pool.query('VACUUM ANALYZE rides');
  const { rows: counted } = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM rides WHERE pickup_datetime >= $1 AND pickup_datetime < $2',
    [day.from, day.to],
  );
  return Number(counted[0]?.n);
}

interface WalCounters {
  walBytes: number;
  walFpi: number;
  checkpoints: number;
}

/** Cumulative WAL and checkpoint counters, to show what a measured step cost Postgres beyond its own rows. */
async function walStats(pool: Pool): Promise<WalCounters> {
  const { rows } = await pool.query<{ bytes: string; fpi: string; checkpoints: string }>(
    `SELECT w.wal_bytes AS bytes, w.wal_fpi AS fpi, c.num_timed + c.num_requested AS checkpoints
     FROM pg_stat_wal w, pg_stat_checkpointer c`,
  );
  const r = rows[0];
  return { walBytes: Number(r?.bytes), walFpi: Number(r?.fpi), checkpoints: Number(r?.checkpoints) };
}
const walDelta = (a: WalCounters, b: WalCounters) => ({
  walMb: (b.walBytes - a.walBytes) / 2 ** 20,
  walFpi: b.walFpi - a.walFpi,
  checkpoints: b.checkpoints - a.checkpoints,
});

/**
 * The scorer with its `score` timed: adds up the time spent inside it (validation + features + ONNX runs). Every
 * other member is the scorer's own, so the activities get the whole model core as they would in the worker.
 */
export function timedScorer<S extends Scorer>(inner: S): S & { ms: number } {
  const timing = { ms: 0 };
  const score: Scorer['score'] = async (ref, rows) => {
    const started = performance.now();
    try {
      return await inner.score(ref, rows);
    } finally {
      timing.ms += performance.now() - started;
    }
  };
  const proxy = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'score') return score;
      if (prop === 'ms') return timing.ms;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return proxy as S & { ms: number };
}

export interface WorkflowRun {
  seconds: number;
  rowsPerSecond: number;
  steps: Record<string, StepTiming>;
  scoreMs: number;
  workerCpuSeconds: number;
  rowsPerWorkerCpuSecond: number;
  postgresInChunksMs: number;
  wal: ReturnType<typeof walDelta>;
  summary: BatchRunSummary;
}

export interface WorkflowRunOptions {
  pool: Pool;
  client: Client;
  scorer: { ms: number };
  input: {
    from?: string;
    to?: string;
    model?: string;
    deployment?: string;
    chunkSize: number;
    batchRows: number;
    maxParallelChunks: number;
  };
  /** Tables emptied before the run (default the ride deployment's sink and rejected tables). */
  truncate?: string[];
  rows: number;
  /** Cancels the pending Temporal calls when the bench stops, so none retries on a closed connection. */
  signal: AbortSignal;
}

/**
 * One `batchScoring` run over the partition, timed from start to result. Predictions and rejections of the run
 * before are truncated first, so every run takes the first-run path (direct COPY, no upsert).
 */
export function runWorkflowOnce(o: WorkflowRunOptions): Promise<WorkflowRun> {
  return o.client.withAbortSignal(o.signal, () => measuredRun(o));
}

async function measuredRun(o: WorkflowRunOptions): Promise<WorkflowRun> {
  for (const table of o.truncate ?? ['predictions', 'rejected_rows'])
    await o.pool.query(
      `TRUNCATE ${table
        .split('.')
        .map((t) => `"${t.replace(/"/g, '""')}"`)
        .join('.')}`,
    );
  await o.pool.query('CHECKPOINT');
  const wal0 = await walStats(o.pool);
  const score0 = o.scorer.ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const handle = await o.client.workflow.start(BATCH_WORKFLOW, {
    taskQueue: 'bench-batch',
    workflowId: `bench-${Date.now()}`,
    args: [o.input],
  });
  const summary = (await handle.result()) as BatchRunSummary;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const wal = walDelta(wal0, await walStats(o.pool));
  const workerCpuSeconds = (cpu.user + cpu.system) / 1e6; // this process: worker, scorer, ORT threads
  const steps = activityTimings(await handle.fetchHistory());
  const scoreMs = o.scorer.ms - score0;
  return {
    seconds: ms / 1000,
    rowsPerSecond: o.rows / (ms / 1000),
    steps,
    scoreMs,
    workerCpuSeconds,
    rowsPerWorkerCpuSecond: o.rows / workerCpuSeconds,
    postgresInChunksMs: (steps.scoreChunk?.busyMs ?? 0) - scoreMs,
    wal,
    summary,
  };
}

/**
 * A classifier's source table for the penguin-species deployment: `rows` records with string islands and sexes,
 * a missing measurement now and then, in key order (deterministic, no random source).
 */
export async function prepareClassifierTable(pool: Pool, rows: number): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS penguins (
    penguin_id bigint PRIMARY KEY, species text, island text, bill_length_mm double precision,
    bill_depth_mm double precision, flipper_length_mm double precision, body_mass_g double precision,
    sex text, year bigint)`);
  await pool.query('TRUNCATE penguins');
  await pool.query(
    `INSERT INTO penguins
     SELECT i, (ARRAY['Adelie','Chinstrap','Gentoo'])[1 + i % 3], (ARRAY['Biscoe','Dream','Torgersen'])[1 + (i / 3) % 3],
            CASE WHEN i % 97 = 0 THEN NULL ELSE 34 + (i * 7) % 20 END, 13 + (i * 11) % 9,
            175 + (i * 13) % 50, 2800 + (i * 17) % 3500,
            CASE WHEN i % 41 = 0 THEN NULL WHEN i % 2 = 0 THEN 'male' ELSE 'female' END, 2007 + i % 3
     FROM generate_series(1, $1::int) AS i`,
    [rows],
  );
  await pool.query('VACUUM ANALYZE penguins');
}
