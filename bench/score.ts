/**
 * `npm run bench:score`: the bare scorer (no database, static aliases) in rows/s at batch sizes 1, 100 and 10 000
 * for each version, plus a sweep of rows per ONNX run (maxBatchRows) and the feature code alone. Warm-up, then the
 * median of several iterations. Prints a table and writes bench/results/score-<timestamp>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RideInput } from '../contracts/scoring.js';
import { buildFeatures, prepareRows } from '../scoring/features.js';
import { goldenRides, readGolden } from '../scoring/golden.js';
import { createScorer, type ModelScorer } from '../scoring/scorer.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '7' },
    threads: { type: 'string', default: '1' },
    'model-dir': { type: 'string', default: path.join(root, 'models') },
  },
});
const ITERATIONS = Number(values.iterations);
const THREADS = Number(values.threads);
const MODEL_DIR = values['model-dir'];
const VERSIONS = ['1', '2'];
const BATCH_SIZES = [1, 100, 10_000];
const SWEEP = [128, 256, 512, 1024, 4096, 10_000];
/** Rows scored per timed iteration (so batch 1 and batch 10 000 iterations take comparable time). */
const ROWS_PER_ITERATION = { 1: 2_000, 100: 20_000, 10_000: 50_000 } as Record<number, number>;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

function batches(pool: RideInput[], size: number, count: number): RideInput[][] {
  return Array.from({ length: count }, (_, b) =>
    Array.from({ length: size }, (_, i) => pool[(b * size + i) % pool.length] as RideInput),
  );
}

interface Measurement {
  /** Median over the iterations. */
  rowsPerSec: number;
  /** Best iteration: closer to capacity when other processes share the cores. */
  bestRowsPerSec: number;
  /** Rows per second of this process's CPU time (all threads): robust when the machine is shared. */
  rowsPerCpuSec: number;
  msPerCall: number;
  iterations: number[];
}

async function measure(
  run: (rows: RideInput[]) => Promise<unknown>,
  rows: RideInput[],
  size: number,
): Promise<Measurement> {
  const calls = Math.max(1, Math.round((ROWS_PER_ITERATION[size] ?? 50_000) / size));
  const work = batches(rows, size, calls);
  for (const b of work.slice(0, Math.min(calls, 50))) await run(b); // warm-up
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let it = 0; it < ITERATIONS; it++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const b of work) await run(b);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    rates.push((calls * size) / seconds);
    cpuRates.push((calls * size) / ((cpu.user + cpu.system) / 1e6));
  }
  const rowsPerSec = median(rates);
  return {
    rowsPerSec,
    bestRowsPerSec: Math.max(...rates),
    rowsPerCpuSec: median(cpuRates),
    msPerCall: (size / rowsPerSec) * 1000,
    iterations: rates.map(Math.round),
  };
}

async function main() {
  const golden = await readGolden(path.join(MODEL_DIR, 'ride-duration', '2'));
  const rows = goldenRides(golden);
  const results: Record<string, unknown>[] = [];
  const line = (cols: (string | number)[]) => console.log(cols.map((c) => String(c).padStart(12)).join(''));

  const scorer: ModelScorer = await createScorer({
    modelDir: MODEL_DIR,
    intraOpThreads: THREADS,
    aliases: {},
  });
  console.log(`\nscore(): rows/s (median of ${ITERATIONS}), intra-op threads ${THREADS}`);
  line(['version', 'batch', 'rows/s', 'best', 'rows/cpu-s', 'ms/call', 'run rows']);
  for (const version of VERSIONS) {
    const model = scorer.registry.get('ride-duration', version);
    for (const size of BATCH_SIZES) {
      const m = await measure((b) => scorer.score(`ride-duration@${version}`, b), rows, size);
      results.push({ kind: 'score', version, batch: size, maxBatchRows: model?.maxBatchRows, ...m });
      line([
        version,
        size,
        Math.round(m.rowsPerSec),
        Math.round(m.bestRowsPerSec),
        Math.round(m.rowsPerCpuSec),
        m.msPerCall.toFixed(3),
        model?.maxBatchRows ?? '-',
      ]);
    }
  }
  await scorer.close();

  console.log('\nrows per ONNX run (maxBatchRows) at batch 10 000 (rss: process high-water mark so far)');
  line(['version', 'run rows', 'rows/s', 'best', 'rows/cpu-s', 'rss MB']);
  for (const version of VERSIONS) {
    for (const maxBatchRows of SWEEP) {
      const s = await createScorer({
        modelDir: MODEL_DIR,
        intraOpThreads: THREADS,
        aliases: {},
        maxBatchRows,
      });
      const m = await measure((b) => s.score(`ride-duration@${version}`, b), rows, 10_000);
      const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
      await s.close();
      results.push({ kind: 'sweep', version, batch: 10_000, maxBatchRows, rssMb, ...m });
      line([
        version,
        maxBatchRows,
        Math.round(m.rowsPerSec),
        Math.round(m.bestRowsPerSec),
        Math.round(m.rowsPerCpuSec),
        rssMb,
      ]);
    }
  }

  console.log('\nfeature code alone (validate + typed arrays), batch 10 000');
  line(['version', 'rows/s', 'rows/cpu-s']);
  const features = {
    '1': ['PULocationID', 'DOLocationID', 'trip_distance'],
    '2': ['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_hour', 'pickup_dow'],
  } as const;
  for (const version of VERSIONS) {
    const names = features[version as '1' | '2'];
    const m = await measure(
      (b) => {
        const p = prepareRows(b, names.length > 3);
        return Promise.resolve(buildFeatures(b, p, names, 0, p.count));
      },
      rows,
      10_000,
    );
    results.push({ kind: 'features', version, batch: 10_000, ...m });
    line([version, Math.round(m.rowsPerSec), Math.round(m.rowsPerCpuSec)]);
  }

  const cpus = os.cpus();
  const report = {
    name: 'score',
    createdAt: new Date().toISOString(),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.platform()} ${os.release()}`,
      node: process.version,
    },
    settings: { iterations: ITERATIONS, intraOpThreads: THREADS, rowsPerIteration: ROWS_PER_ITERATION },
    loadAverage: os.loadavg(),
    results,
  };
  const dir = path.join(root, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `score-${report.createdAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(root, file)}`);
}

await main();
