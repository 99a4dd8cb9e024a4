/**
 * Measurements that used to be test assertions, moved here because wall-clock time and heap size depend on the
 * machine: how closely `npm run stream -- send --rate N` keeps its rate, and whether the heap stays on a plateau
 * across rounds of bad requests like those of test/security/fuzz-routes.test.ts. Prints two tables.
 * Run: npx tsx bench/timing.ts [--rounds 8]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parseArgs } from 'node:util';
import { createApp } from '../api/app.js';
import type { AppDeps } from '../api/deps.js';
import { sendFile } from '../cli/stream.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startBenchStack } from './stream-stack.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' } } });
const ROUNDS = Number(values.rounds);
const log = (line: string) => console.error(`[bench:timing] ${line}`);

/** Bad bodies of every shape the fuzz test sends (a fixed sample: rounds must be comparable). */
function badRequests(): [string, string][] {
  const routes = ['/predict', '/predict/batch', '/v2/models/ride-duration/infer', '/streams/fuzz/events'];
  const ride = '{"PULocationID": 10, "DOLocationID": 50, "trip_distance": 40}';
  const bodies = [
    ...['NaN', 'Infinity', '1e400', '-0', '0x10'].map((n) => ride.replace('40', n)),
    ...Array.from({ length: 20 }, (_, n) => ride.slice(0, n * 3)),
    '['.repeat(3000) + ']'.repeat(3000),
    '{"a":'.repeat(1500) + '1' + '}'.repeat(1500),
    '{"PULocationID": "x", "DOLocationID": [], "trip_distance": {}}',
    'é漢字🙂'.repeat(20),
  ];
  return Array.from({ length: 2000 }, (_, i) => [
    routes[i % routes.length] ?? '/predict',
    bodies[i % bodies.length] ?? '',
  ]);
}

const stack = await startBenchStack(log);
const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-timing-'));
try {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', TEMPORAL_TASK_QUEUE: stack.taskQueue });

  // 1. The CLI's rate: N events at R events/s should take about N / R seconds (never much less).
  const file = path.join(dir, 'events.jsonl');
  const events = Array.from({ length: 400 }, (_, i) => ({
    ride_id: i,
    ride: { PULocationID: 1 + (i % 265), DOLocationID: 1 + ((i * 7) % 265), trip_distance: (i % 40) / 3 },
  }));
  await writeFile(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const rateRows: string[] = [];
  for (const [rate, limit] of [
    [100, 30],
    [100, 200],
    [400, 400],
  ] as const) {
    const started = performance.now();
    const summary = await sendFile(stack.client, config, {
      stream: `timing-${rate}-${limit}-${Date.now()}`,
      file,
      rate,
      limit,
    });
    const elapsed = performance.now() - started;
    const ideal = (limit / rate) * 1000;
    rateRows.push(
      `| ${rate}/s | ${summary.accepted} | ${ideal.toFixed(0)} ms | ${elapsed.toFixed(0)} ms | ${((limit / elapsed) * 1000).toFixed(0)}/s |`,
    );
  }
  console.log('\n`stream send --rate`:\n');
  console.log('| rate | events | ideal | took | achieved |\n|---|---|---|---|---|');
  console.log(rateRows.join('\n'));

  // 2. The heap across rounds of 2 000 bad requests, after a forced GC each round.
  v8.setFlagsFromString('--expose_gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const deps: AppDeps = {
    config: { ...config, api: { ...config.api, apiKey: 'bench-timing-key-0123456789' } },
    logger: createLogger(config),
    pool: stack.pool,
    temporal: stack.client,
    scorer: stack.scorer,
    lifecycle: { shuttingDown: false },
  };
  const app = createApp(deps);
  const requests = badRequests();
  const round = async () => {
    for (const [route, body] of requests)
      await (
        await app.request(route, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            authorization: 'Bearer bench-timing-key-0123456789',
          },
        })
      ).text();
  };
  for (let i = 0; i < 3; i++) await round(); // warm caches, JIT and pools first
  gc();
  const before = process.memoryUsage().heapUsed;
  console.log('\nheap after each round of 2 000 bad requests (forced GC):\n');
  console.log('| round | heap used | vs before |\n|---|---|---|');
  for (let i = 1; i <= ROUNDS; i++) {
    await round();
    gc();
    const used = process.memoryUsage().heapUsed;
    console.log(
      `| ${i} | ${(used / 2 ** 20).toFixed(1)} MiB | ${((used - before) / 2 ** 20).toFixed(1)} MiB |`,
    );
  }
  deps.lifecycle.shuttingDown = true;
} finally {
  await rm(dir, { recursive: true, force: true });
  await stack.stop();
}
