/**
 * `npm run bench:online`: the API as a separate process (`api/server.ts` on a private Postgres + Temporal dev
 * server), driven by autocannon: GET /health (trivial route), /predict, /predict/batch of 100, V2 infer JSON and
 * binary, at 1, 32 and 256 connections, with dynamic batching on and off (DYNAMIC_BATCHING). Prints a table and
 * writes bench/results/online-<timestamp>.json (req/s, rows/s, p50/p90/p99/max latency, batch stats, machine).
 * The classifier (penguin-species: string inputs, label + probabilities out) is measured on its generic route and
 * on V2 with BYTES tensors in JSON and binary.
 * Options: --duration 5 (seconds per cell), --warmup 1 (seconds of load before each cell, not counted; 0: none),
 * --connections 1,32,256, --routes health,predict,..., --modes on,off, --side-by-side <req/s> (then every variant's
 * /predict at once at that rate, --side-rounds 9 rounds of --side-seconds 10: bench/side-by-side.ts),
 * --cpu-prof <dir> (a CPU profile of each API process, written when it stops), --baseline <checkout> (also start
 * the API of another checkout, e.g. a worktree of an older commit, and interleave its cells with this one's on the
 * routes both serve: a before/after comparison in one run; its rollout variants route as this checkout's do when it
 * has the routing mirror).
 * Rollout variants: `--modes on,canary:10,shadow:10` adds API processes whose deployment routes to a challenger
 * (ride-duration 1 beside champion 2, each on its own database with the routing mirror row the controller would
 * write), and `--half-load` then drives each variant's /predict at half of the `on` variant's saturation rate
 * (32 connections) to compare the champion's latency with canary or shadow on. The challenger is placed as the API's
 * default places it (CHALLENGER_THREAD=auto); `canary:10:thread` keeps it in the scoring thread, `canary:10:main`
 * (and `shadow:10:main`) on the main thread;
 * `:hold<ms>` (e.g. `canary:10:hold0`, `shadow:10:hold20`) sets CANARY_HOLD_MS or SHADOW_HOLD_MS for that variant,
 * and `:call` sets ROUTING_DRAW=call (`canary:10:call`: a draw per call instead of one per event-loop turn).
 * Each cell also records the CPU outside the API that it used (Postgres, this process's autocannon, the whole
 * machine, and the hypervisor's steal), and the summary splits a variant's extra CPU per challenger call over them.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sideBySide, type SideBySideCell } from './side-by-side.js';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { publishRouting } from '../db/queries/routing.js';
import { createPool } from '../db/pool.js';
import { freePort, startProcess, waitFor, type Managed } from '../dev/process.js';
import { startTestServers } from '../dev/stack.js';
import {
  machineCpuSeconds,
  mainThreadCpuSeconds,
  postmasterPid,
  processCpuSeconds,
  treeCpuSeconds,
} from './proc-cpu.js';
import { machine, writeResults } from './results-file.js';
import { TWIN, twinModels } from './twin-model.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '1,32,256' },
    routes: {
      type: 'string',
      default:
        'health,predict,batch100,v2-json,v2-binary,model-predict,clf-predict,clf-v2-json,clf-v2-binary',
    },
    /** Server variants: `on` (defaults), `off`, or `on:<DYNAMIC_BATCH_MAX_DELAY_US>`. */
    modes: { type: 'string', default: 'on,off' },
    /** Writes a V8 CPU profile of each API process into this directory (node --cpu-prof), for finding hot spots. */
    'cpu-prof': { type: 'string' },
    baseline: { type: 'string' },
    /** Every cell this many times, interleaved round by round; the summary quotes medians and ranges. */
    rounds: { type: 'string', default: '1' },
    'half-load': { type: 'boolean', default: false },
    'side-by-side': { type: 'string' },
    'side-rounds': { type: 'string', default: '9' },
    'side-seconds': { type: 'string', default: '10' },
    /**
     * The rollout variants' challenger: a version (default 1, the course baseline, a different model), or `twin`: a
     * copy of version 2 under another name, so the figures show the routing's own cost, not a cheaper or dearer model.
     */
    challenger: { type: 'string', default: '1' },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
/** Seconds of load before each cell, not counted (0: none; short cells over many rounds). */
const WARMUP = Number(values.warmup);
const CONNECTIONS = values.connections.split(',').map(Number);

const ride = (i: number) => ({
  PULocationID: 1 + ((i * 37) % 265),
  DOLocationID: 1 + ((i * 91) % 265),
  trip_distance: 0.5 + (i % 40) / 2,
  lpep_pickup_datetime: `2021-02-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:15:00`,
});

function v2Bodies(n: number) {
  const rows = Array.from({ length: n }, (_, i) => ride(i));
  const cols = {
    PULocationID: new BigInt64Array(rows.map((r) => BigInt(r.PULocationID))),
    DOLocationID: new BigInt64Array(rows.map((r) => BigInt(r.DOLocationID))),
    trip_distance: new Float32Array(rows.map((r) => r.trip_distance)),
    pickup_hour: new Float32Array(rows.map((_, i) => (i % 24) + 0.25)),
    pickup_dow: new BigInt64Array(rows.map((_, i) => BigInt(i % 7))),
  };
  const type = (a: BigInt64Array | Float32Array) => (a instanceof BigInt64Array ? 'INT64' : 'FP32');
  const json = JSON.stringify({
    inputs: Object.entries(cols).map(([name, a]) => ({
      name,
      shape: [n, 1],
      datatype: type(a),
      data: Array.from(a, Number),
    })),
  });
  const header = Buffer.from(
    JSON.stringify({
      inputs: Object.entries(cols).map(([name, a]) => ({
        name,
        shape: [n, 1],
        datatype: type(a),
        parameters: { binary_data_size: a.byteLength },
      })),
      outputs: [{ name: 'duration', parameters: { binary_data: true } }],
    }),
  );
  const binary = Buffer.concat([header, ...Object.values(cols).map((a) => Buffer.from(a.buffer))]);
  return { json, binary, headerLength: header.length };
}

/** A classifier record: string island and sex, four measurements (one missing now and then), a year. */
const penguin = (i: number) => ({
  island: ['Biscoe', 'Dream', 'Torgersen'][i % 3],
  bill_length_mm: 35 + (i % 20),
  bill_depth_mm: i % 11 === 0 ? null : 14 + (i % 7),
  flipper_length_mm: 180 + (i % 40),
  body_mass_g: 3000 + 50 * (i % 50),
  sex: i % 2 ? 'female' : 'male',
  year: 2007 + (i % 3),
});

/** BYTES elements for the binary extension: a 4-byte little-endian length, then the UTF-8 bytes. */
function bytesTensor(values: string[]): Buffer {
  return Buffer.concat(
    values.map((v) => {
      const b = Buffer.from(v, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, b]);
    }),
  );
}

function classifierV2Bodies(n: number) {
  const rows = Array.from({ length: n }, (_, i) => penguin(i));
  const numbers = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'] as const;
  const inputs = [
    { name: 'island', datatype: 'BYTES', data: rows.map((r) => r.island ?? '') },
    ...numbers.map((name) => ({ name, datatype: 'FP32', data: rows.map((r) => r[name] ?? NaN) })),
    { name: 'sex', datatype: 'BYTES', data: rows.map((r) => r.sex) },
    { name: 'year', datatype: 'INT64', data: rows.map((r) => r.year) },
  ];
  const bytesOf = (i: (typeof inputs)[number]) =>
    i.datatype === 'BYTES'
      ? bytesTensor(i.data as string[])
      : i.datatype === 'INT64'
        ? Buffer.from(new BigInt64Array((i.data as number[]).map(BigInt)).buffer)
        : Buffer.from(new Float32Array(i.data as number[]).buffer);
  // JSON cannot carry NaN: the JSON body fills a missing measurement with the median a caller would impute.
  const json = JSON.stringify({
    inputs: inputs.map((i) => ({
      name: i.name,
      shape: [n, 1],
      datatype: i.datatype,
      data: (i.data as (number | string)[]).map((v) => (typeof v === 'number' && Number.isNaN(v) ? 17 : v)),
    })),
  });
  const tensors = inputs.map(bytesOf);
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map((i, k) => ({
        name: i.name,
        shape: [n, 1],
        datatype: i.datatype,
        parameters: { binary_data_size: tensors[k]?.length },
      })),
      outputs: [
        { name: 'output_label', parameters: { binary_data: true } },
        { name: 'output_probability', parameters: { binary_data: true } },
      ],
    }),
  );
  return { json, binary: Buffer.concat([header, ...tensors]), headerLength: header.length };
}

interface Route {
  name: string;
  rows: number;
  path: string;
  options: Pick<autocannon.Options, 'method' | 'headers' | 'body'>;
  /** Routes an older checkout (--baseline) does not serve. */
  newOnly?: boolean;
}

const json = { 'content-type': 'application/json' };
const v2 = v2Bodies(1);
const clf = classifierV2Bodies(1);
const binaryHeaders = (length: number) => ({
  'content-type': 'application/octet-stream',
  'inference-header-content-length': String(length),
});
const ROUTES = (
  [
    { name: 'health', rows: 0, path: '/health', options: {} },
    {
      name: 'predict',
      rows: 1,
      path: '/predict',
      options: { method: 'POST', headers: json, body: JSON.stringify(ride(7)) },
    },
    {
      name: 'batch100',
      rows: 100,
      path: '/predict/batch',
      options: {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ rides: Array.from({ length: 100 }, (_, i) => ride(i)) }),
      },
    },
    {
      name: 'v2-json',
      rows: 1,
      path: '/v2/models/ride-duration/infer',
      options: { method: 'POST', headers: json, body: v2.json },
    },
    {
      name: 'v2-binary',
      rows: 1,
      path: '/v2/models/ride-duration/infer',
      options: {
        method: 'POST',
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(v2.headerLength),
        },
        body: v2.binary,
      },
    },
    {
      name: 'model-predict',
      rows: 1,
      path: '/models/ride-duration/predict',
      options: { method: 'POST', headers: json, body: JSON.stringify(ride(7)) },
      newOnly: true,
    },
    {
      name: 'clf-predict',
      rows: 1,
      path: '/models/penguin-species/predict',
      options: { method: 'POST', headers: json, body: JSON.stringify(penguin(7)) },
      newOnly: true,
    },
    {
      name: 'clf-v2-json',
      rows: 1,
      path: '/v2/models/penguin-species/infer',
      options: { method: 'POST', headers: json, body: clf.json },
      newOnly: true,
    },
    {
      name: 'clf-v2-binary',
      rows: 1,
      path: '/v2/models/penguin-species/infer',
      options: { method: 'POST', headers: binaryHeaders(clf.headerLength), body: clf.binary },
      newOnly: true,
    },
  ] satisfies Route[]
).filter((r) => values.routes.split(',').includes(r.name));

function rotate<T>(items: T[], round: number): T[] {
  const k = (round - 1) % Math.max(1, items.length);
  return [...items.slice(k), ...items.slice(0, k)];
}

interface SummaryCell {
  round: number;
  route: string;
  batching: string;
  connections: number;
  reqPerSec: number;
  serverCpuUsPerReq: number | null;
  mainThreadCpuUsPerReq: number | null;
  mainThreadBusy: number;
  postgresCpuUsPerReq?: number | null;
  loadCpuUsPerReq?: number | null;
  machineCpuUsPerReq?: number | null;
  stealCores?: number;
  p99: number;
}

/** The parts of a request's CPU the summary compares between variants (µs per request). */
const CPU_PARTS: [string, (c: SummaryCell) => number | null | undefined][] = [
  ['main', (c) => c.mainThreadCpuUsPerReq],
  [
    "API's other threads",
    (c) =>
      c.serverCpuUsPerReq === null || c.mainThreadCpuUsPerReq === null
        ? null
        : c.serverCpuUsPerReq - c.mainThreadCpuUsPerReq,
  ],
  ['Postgres', (c) => c.postgresCpuUsPerReq],
  ['autocannon', (c) => c.loadCpuUsPerReq],
  ['whole machine', (c) => c.machineCpuUsPerReq],
];

/** The CPU outside the API a cell used: Postgres (postmaster and backends), this process (autocannon), the machine. */
const budget = (postgresPid: number) => ({
  postgres: treeCpuSeconds(postgresPid),
  load: processCpuSeconds(process.pid),
  ...machineCpuSeconds(),
});
function budgetSince(postgresPid: number, before: ReturnType<typeof budget>) {
  const now = budget(postgresPid);
  return {
    postgres: now.postgres - before.postgres,
    load: now.load - before.load,
    machine: now.busy - before.busy,
    steal: now.steal - before.steal,
  };
}
const perRequest = (seconds: number, requests: number) =>
  requests > 0 && Number.isFinite(seconds) ? Math.round((seconds / requests) * 1e6) : null;

/** A difference with its sign: +12, -7, +0. */
const signed = (us: number) => `${us < 0 ? '-' : '+'}${Math.abs(Math.round(us))}`;

const medianOf = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

/** Per route, connections and variant: median req/s [min-max] over the rounds, and each variant's ratio to the
 * first variant and its extra main-thread CPU per request, round by round (median [min-max]). */
function printSummary(cells: SummaryCell[]): void {
  if (ROUNDS < 2) return;
  console.log(
    `\nsummary over ${ROUNDS} rounds: req/s median [min-max]; ratio to the first variant, per round`,
  );
  const keys = [...new Set(cells.map((c) => `${c.route}|${c.connections}`))];
  for (const key of keys) {
    const mine = cells.filter((c) => `${c.route}|${c.connections}` === key);
    const variants = [...new Set(mine.map((c) => c.batching))];
    const first = variants[0];
    for (const v of variants) {
      const xs = mine.filter((c) => c.batching === v);
      const rps = xs.map((c) => c.reqPerSec);
      const cpu = xs.flatMap((c) => (c.serverCpuUsPerReq === null ? [] : [c.serverCpuUsPerReq]));
      const main = xs.flatMap((c) => (c.mainThreadCpuUsPerReq === null ? [] : [c.mainThreadCpuUsPerReq]));
      const busy = xs.map((c) => c.mainThreadBusy);
      const steal = xs.flatMap((c) => (c.stealCores === undefined ? [] : [c.stealCores]));
      const ratios = xs.flatMap((c) => {
        const base = mine.find((b) => b.batching === first && b.round === c.round);
        return base && base.reqPerSec > 0 ? [c.reqPerSec / base.reqPerSec] : [];
      });
      // A part's extra CPU per request against the first variant, paired per round; with perCall, what that makes
      // per challenger call at the variant's share (canary:<pct>, shadow:<pct>).
      const pairedExtra = (part: (c: SummaryCell) => number | null | undefined) =>
        xs.flatMap((c) => {
          const base = mine.find((b) => b.batching === first && b.round === c.round);
          const here = part(c);
          const there = base ? part(base) : undefined;
          return typeof here === 'number' && typeof there === 'number' ? [here - there] : [];
        });
      const extra = pairedExtra((c) => c.mainThreadCpuUsPerReq);
      const share = routingModes().find((m) => m.mode === v)?.share ?? 0;
      const perCall = (us: number) => Math.round((us * 100) / share);
      const added =
        v === first || extra.length === 0
          ? ''
          : `main ${signed(medianOf(extra))} [${Math.min(...extra)}..${Math.max(...extra)}] us/req` +
            (share > 0
              ? `, ${signed(perCall(medianOf(extra)))} [${perCall(Math.min(...extra))}..${perCall(Math.max(...extra))}] us per challenger call`
              : '');
      const [route, conns] = key.split('|');
      console.log(
        [
          (route ?? '').padEnd(14),
          `c=${conns}`.padEnd(6),
          v.padEnd(10),
          `${Math.round(medianOf(rps))} [${Math.min(...rps)}-${Math.max(...rps)}] req/s`.padEnd(30),
          `cpu ${Math.round(medianOf(cpu))} us/req`.padEnd(16),
          `main ${Math.round(medianOf(main))} us/req busy ${medianOf(busy).toFixed(2)}`.padEnd(26),
          steal.length > 0 ? `steal ${medianOf(steal).toFixed(2)}` : '',
          v === first
            ? ''
            : `x ${medianOf(ratios).toFixed(3)} [${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}] of ${first}`,
          added,
        ].join(' '),
      );
      if (v === first) continue;
      // Where the variant's extra CPU went, over the machine's two cores: the main thread, the API's scoring thread
      // (and its other threads), Postgres (the prediction log's COPY), the load generator, everything at once.
      const parts = CPU_PARTS.flatMap(([label, part]) => {
        const d = pairedExtra(part);
        if (d.length === 0) return [];
        const us = medianOf(d);
        return [`${label} ${signed(share > 0 ? perCall(us) : us)}`];
      });
      if (parts.length > 0)
        console.log(
          `${''.padEnd(21)}${share > 0 ? 'per challenger call' : 'per request'}, us (paired medians): ${parts.join(', ')}`,
        );
    }
  }
}

async function startApi(
  env: Record<string, string>,
  checkout = root,
): Promise<{ url: string; proc: Managed }> {
  const port = await freePort();
  const lines: string[] = [];
  const profile = values['cpu-prof']
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof'])}`]
    : [];
  const args = [...profile, '--import', 'tsx', path.join(checkout, 'api/server.ts')];
  const proc = startProcess('api', process.execPath, args, {
    cwd: checkout,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    onLine: (l) => lines.push(l),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the API', async () => (await fetch(`${url}/ready`)).ok, 60_000, 200).catch((err: Error) => {
    throw new Error(`${err.message}\n${lines.join('\n')}`);
  });
  return { url, proc };
}

async function batchStats(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) =>
    [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} ([\\d.e+]+)$`, 'gm'))].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );
  return { calls: read('inference_batch_rows_count'), rows: read('inference_batch_rows_sum') };
}

/**
 * Lone-request cost of each variant: one request at a time over keep-alive HTTP, the variants interleaved request
 * by request (so machine noise is shared), median wall time in microseconds.
 */
async function measureLoneRequest(
  modes: string[],
  urls: string[],
  rounds = 1500,
): Promise<Record<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify(ride(3));
  const once = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const req = http.request(
        `${url}/predict`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve((performance.now() - started) * 1000));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const samples = modes.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) {
    for (const [m, url] of urls.entries()) {
      const us = await once(url);
      if (i >= 100) samples[m]?.push(us); // first 100 rounds warm up
    }
  }
  agent.destroy();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return Object.fromEntries(modes.map((mode, m) => [mode, Math.round(median(samples[m] ?? []))]));
}

/**
 * `canary:<pct>` and `shadow:<pct>` modes: a challenger on its own database, placed as the API's default places it
 * (CHALLENGER_THREAD=auto: timed in the scoring thread, then on the main thread while its runs are short);
 * `:thread` keeps it in the scoring thread (CHALLENGER_THREAD=on), `:main` on the main thread (off);
 * `:hold<ms>` sets CANARY_HOLD_MS, or SHADOW_HOLD_MS for a shadow variant (`canary:10:main:hold0`, `shadow:10:hold20`);
 * `:call` sets ROUTING_DRAW=call (a draw per call instead of one per event-loop turn).
 */
type RoutingMode = {
  mode: string;
  kind: 'canary' | 'shadow';
  share: number;
  db: string;
  /** CHALLENGER_THREAD for this variant. */
  thread: 'auto' | 'on' | 'off';
  /** CANARY_HOLD_MS (SHADOW_HOLD_MS for shadow) for this variant (`:hold<ms>`); absent: the default. */
  holdMs: string | undefined;
  /** ROUTING_DRAW=call (`:call`): a draw per call instead of one per event-loop turn. */
  perCall: boolean;
};
function routingModes(): RoutingMode[] {
  const out: RoutingMode[] = [];
  for (const mode of values.modes.split(',')) {
    const [kind, share, ...options] = mode.split(':');
    const pct = Number(share ?? 10);
    const thread = options.includes('main') ? 'off' : options.includes('thread') ? 'on' : 'auto';
    const holdMs = options.find((o) => /^hold\d+$/.test(o))?.slice('hold'.length);
    const perCall = options.includes('call');
    const db = `bench_${kind}${pct}${thread === 'auto' ? '' : thread === 'on' ? '_thread' : '_main'}${holdMs === undefined ? '' : `_hold${holdMs}`}${perCall ? '_call' : ''}`;
    if (kind === 'canary' || kind === 'shadow')
      out.push({ mode, kind, share: pct, db, thread, holdMs, perCall });
  }
  return out;
}

/** Migrates a variant's database and writes the routing the controller would publish for it. */
async function prepareRouting(url: string, m: RoutingMode): Promise<void> {
  const pool = createPool(url, { max: 2 });
  try {
    await migrate(pool);
    const at = new Date().toISOString();
    await publishRouting(
      pool,
      {
        deployment: 'ride-duration',
        model: 'ride-duration',
        champion: '2',
        challenger: values.challenger === 'twin' ? TWIN : values.challenger,
        canary: m.kind === 'canary' ? m.share : 0,
        shadow: m.kind === 'shadow' ? m.share : 0,
        sticky: null,
        rollout: null,
        revision: 1,
        changedAt: at,
        changedBy: 'bench',
        reason: `bench: ${m.mode}`,
      },
      { bench: m.mode },
    );
  } finally {
    await pool.end();
  }
}

const halfLoadOut: Record<string, unknown>[] = [];
let sideBySideOut: SideBySideCell[] = [];
/**
 * Each variant's /predict at half of the `on` variant's median saturation rate at 32 connections (a fixed
 * request rate, so latency is not the saturation queue), the variants interleaved round by round.
 */
async function halfLoad(modes: string[], servers: { url: string }[]): Promise<void> {
  const saturated = cellsOut
    .filter((c) => c.route === 'predict' && c.batching === 'on' && c.connections === 32)
    .map((c) => Number(c.reqPerSec));
  if (saturated.length === 0)
    throw new Error('--half-load needs the predict route at 32 connections in mode on');
  const rate = Math.round(medianOf(saturated) / 2);
  console.log(`half load: ${rate} req/s (half of ${medianOf(saturated)})`);
  const route = ROUTES.find((r) => r.name === 'predict');
  if (!route) return;
  for (let round = 1; round <= ROUNDS; round++)
    for (const [m, mode] of rotate([...modes.entries()], round)) {
      const api = servers[m];
      if (!api || mode.startsWith('base:')) continue;
      const r = await autocannon({
        url: api.url + route.path,
        ...route.options,
        connections: 32,
        overallRate: rate,
        duration: DURATION,
      });
      const cell = {
        round,
        mode,
        rate,
        reqPerSec: Math.round(r.requests.average),
        p50: r.latency.p50,
        p99: r.latency.p99,
        non2xx: r.non2xx,
      };
      halfLoadOut.push(cell);
      console.log(
        `half-load ${mode.padEnd(12)} ${cell.reqPerSec} req/s  p50 ${cell.p50} ms  p99 ${cell.p99} ms`,
      );
    }
  const first = modes[0];
  const p99In = (mode: string, round: number) =>
    halfLoadOut.find((c) => c.mode === mode && c.round === round)?.p99 as number | undefined;
  for (const mode of modes) {
    const p99 = halfLoadOut.filter((c) => c.mode === mode).map((c) => Number(c.p99));
    if (p99.length === 0) continue;
    // Against the first variant in the same round (the rounds share the machine's state): the p99's difference.
    const paired: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const [a, b] = [p99In(mode, round), first === undefined ? undefined : p99In(first, round)];
      if (a !== undefined && b !== undefined) paired.push(a - b);
    }
    const vs =
      mode !== first && paired.length > 0
        ? `; paired against ${first}: ${signed(medianOf(paired))} ms [${signed(Math.min(...paired))}..${signed(Math.max(...paired))}]`
        : '';
    console.log(
      `half-load ${mode}: p99 median ${medianOf(p99)} ms [${Math.min(...p99)}-${Math.max(...p99)}]${vs}`,
    );
  }
}

let loneRequest: Record<string, number> = {};
const cellsOut: Record<string, unknown>[] = [];
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
// A fresh clone has no data folder yet.
await mkdir(path.resolve(config.paths.data), { recursive: true });
const dir = await mkdtemp(path.join(path.resolve(config.paths.data), 'bench-online-'));
const { postgres: pg, temporal } = await startTestServers({
  dir,
  toolsDir: config.paths.tools,
  databases: ['bench', 'bench_baseline', ...routingModes().map((m) => m.db)],
  onLine: (source, line) => {
    if (source === 'setup') console.log(line);
  },
});
const postgresPid = postmasterPid(pg.dataDir);
try {
  const pool = createPool(pg.urlFor('bench'), { max: 1 });
  await migrate(pool).finally(() => pool.end());
  for (const m of routingModes()) await prepareRouting(pg.urlFor(m.db), m);
  const twinDir = values.challenger === 'twin' ? await twinModels(dir) : undefined;
  const baseline = values.baseline ? path.resolve(values.baseline) : undefined;
  const checkouts = [{ label: '', dir: root, db: 'bench' }];
  if (baseline) checkouts.push({ label: 'base:', dir: baseline, db: 'bench_baseline' });
  const variants = checkouts.flatMap((c) => values.modes.split(',').map((mode) => ({ ...c, mode })));
  const modes = variants.map((v) => `${v.label}${v.mode}`);
  // Every variant runs at once, and cells alternate between them, so drifting machine load hits all alike.
  const servers = await Promise.all(
    variants.map((v) => {
      const [toggle, delay] = v.mode.split(':');
      // Both names: an older checkout reads BATCH_MAX_DELAY_US, this one DYNAMIC_BATCH_MAX_DELAY_US.
      const delayEnv = delay
        ? { [v.label ? 'BATCH_MAX_DELAY_US' : 'DYNAMIC_BATCH_MAX_DELAY_US']: delay }
        : {};
      const routed = routingModes().find((m) => m.mode === v.mode);
      // A baseline checkout routes too when it has the routing mirror (db/migrations/011-routing.sql), on the same
      // database as this checkout's variant; an older one serves its plain database.
      const routes = routed && (!v.label || existsSync(path.join(v.dir, 'db/migrations/011-routing.sql')));
      return startApi(
        {
          DATABASE_URL: pg.urlFor(routes ? routed.db : v.db),
          TEMPORAL_ADDRESS: temporal.address,
          MODEL_DIR: routed && twinDir ? twinDir : path.join(v.dir, 'models'),
          DYNAMIC_BATCHING: toggle === 'off' ? 'off' : 'on',
          ...(routed
            ? {
                // auto is the default: left unset, so an older checkout (--baseline) runs its own default.
                ...(routed.thread === 'auto' ? {} : { CHALLENGER_THREAD: routed.thread }),
                ...(routed.perCall ? { ROUTING_DRAW: 'call' } : {}),
                ...(routed.holdMs === undefined
                  ? {}
                  : { [routed.kind === 'shadow' ? 'SHADOW_HOLD_MS' : 'CANARY_HOLD_MS']: routed.holdMs }),
              }
            : delayEnv),
        },
        v.dir,
      );
    }),
  );
  try {
    loneRequest = await measureLoneRequest(
      modes,
      servers.map((s) => s.url),
    );
    for (const [mode, us] of Object.entries(loneRequest))
      console.log(`lone /predict median ${mode}: ${us} us`);
    for (let round = 1; round <= ROUNDS; round++)
      for (const route of ROUTES) {
        for (const connections of CONNECTIONS) {
          // Rotate which variant goes first each round: the first and the second server of a pair differ by up to
          // a quarter on this 2-core machine (an A/A run shows it), so order must not favour one side.
          for (const [m, batching] of rotate([...modes.entries()], round)) {
            const api = servers[m];
            if (!api || (route.newOnly && batching.startsWith('base:'))) continue;
            if (WARMUP > 0)
              await autocannon({
                url: api.url + route.path,
                ...route.options,
                connections,
                duration: WARMUP,
              });
            const before = await batchStats(api.url);
            // CPU time, steady under shared cores, unlike wall-clock req/s.
            const cpuBefore = processCpuSeconds(api.proc.child.pid);
            const mainBefore = mainThreadCpuSeconds(api.proc.child.pid);
            const budgetBefore = budget(postgresPid);
            const r = await autocannon({
              url: api.url + route.path,
              ...route.options,
              connections,
              duration: DURATION,
            });
            const cpu = processCpuSeconds(api.proc.child.pid) - cpuBefore;
            const main = mainThreadCpuSeconds(api.proc.child.pid) - mainBefore;
            const used = budgetSince(postgresPid, budgetBefore);
            const after = await batchStats(api.url);
            const calls = after.calls - before.calls;
            const cell = {
              round,
              route: route.name,
              batching,
              connections,
              reqPerSec: Math.round(r.requests.average),
              /** Server CPU per request (µs): what a request costs when the cores are free. */
              serverCpuUsPerReq: r.requests.total > 0 ? Math.round((cpu / r.requests.total) * 1e6) : null,
              /** The API's main thread alone (µs per request), and how busy it was over the cell (1 = a whole core). */
              mainThreadCpuUsPerReq:
                r.requests.total > 0 ? Math.round((main / r.requests.total) * 1e6) : null,
              mainThreadBusy: Math.round((main / DURATION) * 100) / 100,
              /** Where else the machine's CPU went, per request (µs): Postgres, this process (autocannon), every core. */
              postgresCpuUsPerReq: perRequest(used.postgres, r.requests.total),
              loadCpuUsPerReq: perRequest(used.load, r.requests.total),
              machineCpuUsPerReq: perRequest(used.machine, r.requests.total),
              /** CPU the hypervisor took from this machine over the cell, in cores. */
              stealCores: Math.round((used.steal / DURATION) * 100) / 100,
              rowsPerSec: Math.round(r.requests.average * route.rows),
              p50: r.latency.p50,
              p90: r.latency.p90,
              p99: r.latency.p99,
              max: r.latency.max,
              non2xx: r.non2xx,
              errors: r.errors,
              timeouts: r.timeouts,
              scoringCalls: calls,
              rowsPerScoringCall:
                calls > 0 ? Math.round(((after.rows - before.rows) / calls) * 10) / 10 : null,
            };
            cellsOut.push(cell);
            console.log(
              [
                cell.route.padEnd(10),
                `batch=${batching}`.padEnd(14),
                `c=${connections}`.padEnd(6),
                `${cell.reqPerSec} req/s`.padEnd(12),
                `${cell.serverCpuUsPerReq ?? '-'} cpu-us/req`.padEnd(16),
                `main ${cell.mainThreadCpuUsPerReq ?? '-'} us/req busy ${cell.mainThreadBusy}`.padEnd(26),
                `${cell.rowsPerSec} rows/s`.padEnd(14),
                `p50 ${cell.p50} p90 ${cell.p90} p99 ${cell.p99} max ${cell.max} ms`.padEnd(40),
                `rows/call ${cell.rowsPerScoringCall ?? '-'}`.padEnd(14),
                `steal ${cell.stealCores} cores`,
                cell.non2xx || cell.errors ? `non2xx ${cell.non2xx} errors ${cell.errors}` : '',
              ].join(' '),
            );
          }
        }
      }
    if (values['half-load']) await halfLoad(modes, servers);
    if (values['side-by-side']) {
      const route = ROUTES.find((r) => r.name === 'predict') ?? ROUTES[0];
      if (route)
        sideBySideOut = await sideBySide({
          servers: modes.map((mode, m) => ({
            mode,
            url: servers[m]?.url ?? '',
            pid: servers[m]?.proc.child.pid,
          })),
          rate: Number(values['side-by-side']),
          seconds: Number(values['side-seconds']),
          rounds: Number(values['side-rounds']),
          path: route.path,
          options: route.options,
        });
    }
  } finally {
    await Promise.all(servers.map((s) => s.proc.stop()));
  }
} finally {
  await temporal.stop();
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}

printSummary(cellsOut as unknown as SummaryCell[]);

const result = {
  bench: 'online',
  date: new Date().toISOString(),
  durationSeconds: DURATION,
  warmupSeconds: WARMUP,
  machine: machine(),
  loneRequestMedianUs: loneRequest,
  cells: cellsOut,
  halfLoad: halfLoadOut,
  sideBySide: sideBySideOut,
};
console.log(`wrote ${await writeResults('online', result.date, result)}`);
