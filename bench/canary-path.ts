/**
 * `npm run bench:canary-path`: what a canary call costs the API's main thread outside HTTP. In this process, the
 * API's record path (api/online.ts: the champion's dynamic batcher, the challenger's hold and scoring thread) is
 * driven by 32 callers in a closed loop, each yielding to the event loop between calls as an HTTP turn would, in
 * three variants interleaved round by round:
 * - `champion`: every call scored by ride-duration 2;
 * - `canary`: a share (default 10 %) scored by its twin (a copy of version 2), placed as the API places it
 *   (CHALLENGER_THREAD: auto, timed in the scoring thread and then on the main thread; on, in the scoring thread,
 *   held as the API holds them, CANARY_HOLD_MS; off, on the main thread);
 * - `canary+log`: the same, each canary call also writing its prediction-log row (api/prediction-log.ts, COPY into
 *   embedded Postgres), shaped as the predict route shapes it.
 * Reports the main thread's CPU per call (from /proc, Linux) and, paired per round against `champion`, what one
 * canary call adds to it. Compare with `npm run bench:online` (the same through HTTP) to see HTTP's share.
 * Options: --rounds 9, --seconds 2 (per cell), --share 10, --clients 32, --draw turn (the canary draw: one per
 * event-loop turn as the API's ROUTING_DRAW default, or `call`); the API's settings come from the environment
 * (e.g. `CANARY_HOLD_MS=0 npm run bench:canary-path` without the hold).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createMetrics } from '../api/metrics.js';
import { createOnline } from '../api/online.js';
import { placementFor } from '../api/placement.js';
import { createPredictionLog, type PredictionRecord } from '../api/prediction-log.js';
import { turnDraws } from '../api/routing.js';
import { loadConfig } from '../config.js';
import type { FieldRecord, ResolvedModel } from '../contracts/scoring.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { freePort } from '../dev/process.js';
import { startPostgres } from '../dev/stack.js';
import { createLogger } from '../logger.js';
import { predictionAt } from '../scoring/predictions.js';
import { createScorer } from '../scoring/scorer.js';
import { createThreadScorer } from '../scoring/score-thread.js';
import { formatSpread, roundOrder, spread } from './batch-stats.js';
import { mainThreadCpuSeconds } from './proc-cpu.js';
import { machine, writeResults } from './results-file.js';
import { TWIN, twinModels } from './twin-model.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    seconds: { type: 'string', default: '2' },
    share: { type: 'string', default: '10' },
    clients: { type: 'string', default: '32' },
    draw: { type: 'string', default: 'turn' },
  },
});
const ROUNDS = Number(values.rounds);
const CELL_MS = Number(values.seconds) * 1000;
const SHARE = Number(values.share);
const CLIENTS = Number(values.clients);
if (values.draw !== 'turn' && values.draw !== 'call') throw new Error('--draw: must be turn or call');
/** The canary draw as the API makes it (ROUTING_DRAW): one per event-loop turn (api/routing.ts), or one per call. */
const draws = values.draw === 'turn' ? turnDraws(64) : () => () => Math.random() * 100;
const VARIANTS = ['champion', 'canary', 'canary+log'] as const;
type Variant = (typeof VARIANTS)[number];

const ride = (i: number): FieldRecord => ({
  PULocationID: 1 + ((i * 37) % 265),
  DOLocationID: 1 + ((i * 91) % 265),
  trip_distance: 0.5 + (i % 40) / 2,
  lpep_pickup_datetime: `2021-02-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:15:00`,
});

const config = loadConfig({ ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn' });
const logger = createLogger(config);
const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-canary-path-'));
const pg = await startPostgres({
  dataDir: path.join(dir, 'pg'),
  port: await freePort(),
  databases: ['canary_path'],
  ephemeral: true,
});
const pool = createPool(pg.urlFor('canary_path'), { max: 2 });
const scorer = await createScorer({
  modelDir: await twinModels(dir),
  intraOpThreads: config.models.intraOpThreads,
  aliases: { 'ride-duration': { production: '2' } },
});
const thread = createThreadScorer(
  { intraOpThreads: config.models.intraOpThreads, maxBatchSize: config.batching.maxSize },
  logger,
);
const log = createPredictionLog({ pool, logger });
const champion = scorer.resolveNow('ride-duration@2');
const twin = scorer.resolveNow(`ride-duration@${TWIN}`);
const twinModel = scorer.registry.get('ride-duration', TWIN);
if (!twinModel) throw new Error(`ride-duration@${TWIN} did not load`);
const online = createOnline(config, scorer, createMetrics(), {
  is: (m) => m.version === TWIN,
  thread: config.api.challengerThread === 'off' ? undefined : thread,
  placement: placementFor(config),
  holdMs: config.api.canaryHoldMs,
});

/** The row the predict route logs for a canary call of one record. */
function canaryRow(id: string, record: FieldRecord, out: Awaited<ReturnType<typeof online.records.score>>) {
  const rows: PredictionRecord[] = [];
  if (!twinModel) return rows;
  out.scored.forEach((index, k) =>
    rows.push({
      requestId: id,
      rowIndex: index,
      route: '/predict',
      model: twin.name,
      version: twin.version,
      features: { ...record },
      prediction: typeof out.predictions[index] === 'number' ? out.predictions[index] : null,
      output: predictionAt(twinModel, out, k),
      latencyMs: 1,
      createdAt: new Date(),
      role: 'canary',
      deployment: 'ride-duration',
      recordKey: id,
    }),
  );
  return rows;
}

async function cell(variant: Variant, ms: number): Promise<{ calls: number; usPerCall: number }> {
  const share = variant === 'champion' ? 0 : SHARE;
  const logs = variant === 'canary+log';
  let calls = 0;
  let stop = false;
  const caller = async (c: number) => {
    while (!stop) {
      const model: ResolvedModel = draws('ride-duration')() < share ? twin : champion;
      const record = ride(calls + c);
      const out = await online.records.score(model, [record]);
      if (logs && model === twin) log.record(canaryRow(`r${calls}`, record, out));
      calls++;
      await new Promise((resolve) => setImmediate(resolve)); // an HTTP turn's yield to the event loop
    }
  };
  const cpu0 = mainThreadCpuSeconds(process.pid);
  const callers = Array.from({ length: CLIENTS }, (_, c) => caller(c));
  await new Promise((resolve) => setTimeout(resolve, ms));
  stop = true;
  await Promise.all(callers);
  const cpu = mainThreadCpuSeconds(process.pid) - cpu0;
  return { calls, usPerCall: (cpu / calls) * 1e6 };
}

const cells: { round: number; variant: Variant; calls: number; usPerCall: number }[] = [];
let logged = { written: 0, dropped: 0 };
try {
  await migrate(pool);
  for (const v of VARIANTS) await cell(v, 500); // warm-up: sessions, the thread, the log's connection
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of roundOrder([...VARIANTS], round)) {
      const c = await cell(variant, CELL_MS);
      cells.push({ round, variant, ...c, usPerCall: Math.round(c.usPerCall * 100) / 100 });
      console.log(
        `round ${round} ${variant.padEnd(10)} ${c.calls} calls, main thread ${c.usPerCall.toFixed(2)} µs/call`,
      );
    }
  }
} finally {
  await log.close();
  logged = { written: log.written(), dropped: log.dropped() };
  await thread.close();
  await scorer.close();
  await pool.end();
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}

// The log variant measured what it claims only if its rows reached Postgres.
console.log(`prediction log: ${logged.written} rows written, ${logged.dropped} dropped`);
if (logged.written === 0 || logged.dropped > 0)
  throw new Error('the canary+log variant did not log its rows');

const perCall = (v: Variant) => cells.filter((c) => c.variant === v).map((c) => c.usPerCall);
/** What one canary call adds to the main thread, per round: the difference per call over the canary share. */
const perCanary = (v: Variant) =>
  cells
    .filter((c) => c.variant === v)
    .map((c) => {
      const base = cells.find((b) => b.variant === 'champion' && b.round === c.round);
      return base ? ((c.usPerCall - base.usPerCall) * 100) / SHARE : NaN;
    });
const summary = Object.fromEntries(
  VARIANTS.map((v) => [
    v,
    {
      mainUsPerCall: spread(perCall(v)),
      ...(v === 'champion' ? {} : { addedUsPerCanaryCall: spread(perCanary(v)) }),
    },
  ]),
);
console.log(
  `\nmain thread per call, median [min-max] over ${ROUNDS} rounds (${SHARE} % canary drawn per ${values.draw}, CHALLENGER_THREAD ${config.api.challengerThread}, CANARY_HOLD_MS ${config.api.canaryHoldMs}):`,
);
for (const v of VARIANTS)
  console.log(
    `${v.padEnd(10)} ${formatSpread(spread(perCall(v)), 1)} µs` +
      (v === 'champion' ? '' : `; one canary call adds ${formatSpread(spread(perCanary(v)), 0)} µs`),
  );
const at = new Date().toISOString();
const result = {
  bench: 'canary-path',
  date: at,
  machine: machine(),
  share: SHARE,
  draw: values.draw,
  challengerThread: config.api.challengerThread,
  clients: CLIENTS,
  canaryHoldMs: config.api.canaryHoldMs,
  logged,
  summary,
  cells,
};
console.log(`wrote ${await writeResults('canary-path', at, result)}`);
