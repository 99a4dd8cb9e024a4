/**
 * `npm run bench:log`: the online prediction log (api/prediction-log.ts) on embedded Postgres: rows like a canary
 * call's (features, output, deployment, role, record key) recorded 100 at a time and flushed, per round. Reports
 * per row: wall time, the CPU of this process (the API's share) and of the Postgres server tree (its share).
 * `--baseline <checkout>` loads the log module and the migrations of another checkout (a worktree of an older
 * commit: its encoding and its table's indexes) and runs both sides in one run, each into its own database,
 * rotating which goes first each round.
 * Options: --rows 20000 (per side and round), --rounds 7.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { PredictionLog, PredictionLogOptions, PredictionRecord } from '../api/prediction-log.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { freePort } from '../dev/process.js';
import { startPostgres } from '../dev/stack.js';
import { formatSpread, roundOrder, spread } from './batch-stats.js';
import { machine, writeResults } from './results-file.js';
import { postmasterPid, treeCpuSeconds } from './proc-cpu.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '7' },
    baseline: { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);

type CreateLog = (o: PredictionLogOptions) => PredictionLog;
type Migrate = (pool: ReturnType<typeof createPool>) => Promise<unknown>;
interface Side {
  label: string;
  create: CreateLog;
  migrate: Migrate;
  db: string;
}

const canaryRow = (i: number, at: Date): PredictionRecord => ({
  requestId: `r${i.toString(36)}-4f1c2b9e`,
  rowIndex: 0,
  route: '/predict',
  model: 'ride-duration',
  version: '2-twin',
  features: {
    PULocationID: 1 + ((i * 37) % 265),
    DOLocationID: 1 + ((i * 91) % 265),
    trip_distance: 0.5 + (i % 40) / 2,
    lpep_pickup_datetime: '2021-02-03T04:15:00',
  },
  prediction: 12.25 + (i % 7),
  output: { duration: 12.25 + (i % 7) },
  latencyMs: 1.5,
  createdAt: at,
  role: 'canary',
  deployment: 'ride-duration',
  recordKey: `r${i.toString(36)}-4f1c2b9e`,
});

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-log-'));
  const sides: Side[] = [
    {
      label: 'this checkout',
      create: (await import('../api/prediction-log.js')).createPredictionLog,
      migrate,
      db: 'log_this',
    },
  ];
  if (values.baseline) {
    const file = (f: string) => pathToFileURL(path.join(path.resolve(values.baseline ?? ''), f)).href;
    const mod = (await import(file('api/prediction-log.ts'))) as { createPredictionLog: CreateLog };
    const schema = (await import(file('db/migrate.ts'))) as { migrate: Migrate };
    sides.push({
      label: `baseline ${values.baseline}`,
      create: mod.createPredictionLog,
      migrate: schema.migrate,
      db: 'log_base',
    });
  }
  const pg = await startPostgres({
    dataDir: path.join(dir, 'pg'),
    port: await freePort(),
    databases: sides.map((s) => s.db),
    ephemeral: true,
  });
  const postmaster = postmasterPid(pg.dataDir);
  const samples = new Map(
    sides.map((s) => [s.label, { wall: [] as number[], node: [] as number[], pg: [] as number[] }]),
  );
  try {
    const pools = new Map(sides.map((s) => [s.label, createPool(pg.urlFor(s.db), { max: 2 })]));
    for (const side of sides) {
      const pool = pools.get(side.label);
      if (pool) await side.migrate(pool);
    }
    const at = new Date();
    const rows = Array.from({ length: ROWS }, (_, i) => canaryRow(i, at));
    for (let round = 0; round <= ROUNDS; round++) {
      for (const side of roundOrder(sides, round)) {
        const pool = pools.get(side.label);
        if (!pool) continue;
        const log = side.create({ pool, flushIntervalMs: 200 });
        const pg0 = treeCpuSeconds(postmaster);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < ROWS; i += 100) log.record(rows.slice(i, i + 100));
        await log.close();
        const wall = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const pgCpu = treeCpuSeconds(postmaster) - pg0;
        if (log.written() !== ROWS) throw new Error(`${side.label} wrote ${log.written()} of ${ROWS} rows`);
        // Round 0 warms up (connections, plans, the table's first pages) and is not counted.
        if (round === 0) continue;
        const s = samples.get(side.label);
        s?.wall.push((1000 * wall) / ROWS);
        s?.node.push((cpu.user + cpu.system) / ROWS);
        s?.pg.push((1e6 * pgCpu) / ROWS);
      }
    }
    for (const pool of pools.values()) await pool.end();
  } finally {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }

  console.log(
    `prediction log, ${ROWS} canary rows per side and round, ${ROUNDS} rounds: µs per row, median [min-max]`,
  );
  console.log(`${'side'.padEnd(36)} ${'wall'.padEnd(22)} ${'API process CPU'.padEnd(22)} Postgres CPU`);
  const results = sides.map((side) => {
    const s = samples.get(side.label) ?? { wall: [], node: [], pg: [] };
    const r = {
      side: side.label,
      wallUs: spread(s.wall),
      apiCpuUs: spread(s.node),
      postgresCpuUs: spread(s.pg),
    };
    console.log(
      `${side.label.padEnd(36)} ${formatSpread(r.wallUs, 1).padEnd(22)} ${formatSpread(r.apiCpuUs, 1).padEnd(22)} ${formatSpread(r.postgresCpuUs, 1)}`,
    );
    return r;
  });
  const createdAt = new Date().toISOString();
  const report = {
    name: 'prediction-log',
    createdAt,
    machine: machine(),
    settings: { rows: ROWS, rounds: ROUNDS, baseline: values.baseline ?? null },
    results,
  };
  console.log(`\nwrote ${await writeResults('prediction-log', createdAt, report)}`);
}

await main();
