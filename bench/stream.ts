/**
 * `npm run bench:stream`: on its own embedded Postgres + Temporal dev server + in-process worker, measures sustained
 * events/s for one stream and for 8 streams in parallel, and producer-request -> persisted-prediction latency
 * (p50/p99) at a fixed offered rate. Prints a table and writes bench/results/stream-<timestamp>.json.
 *
 *   npm run bench:stream -- [--events 20000] [--streams 8] [--per-signal 100] [--rate 100] [--seconds 30]
 *                           [--local on|off] [--max-run 200] [--only throughput|latency] [--coalesce on|off]
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import {
  createStreamSender,
  drainStream,
  getStreamState,
  sendEvents,
  streamPredictions,
} from '../control/streams.js';
import type { StreamOptions } from '../contracts/stream.js';
import type { RideEvent } from '../adapters/ride-duration/stream.js';
import { watchStreamRollovers } from '../control/stream-rollover.js';
import { startBenchStack, type BenchStack } from './stream-stack.js';
import { machine, writeResults } from './results-file.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    streams: { type: 'string', default: '8' },
    'per-signal': { type: 'string', default: '100' },
    producers: { type: 'string', default: '4' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '30' },
    local: { type: 'string' },
    'max-run': { type: 'string', default: '200' },
    'can-after': { type: 'string', default: '5000' },
    'can-after-history': { type: 'string' },
    rollover: { type: 'string', default: 'on' },
    only: { type: 'string' },
    coalesce: { type: 'string', default: 'on' },
    diagnose: { type: 'string', default: 'off' },
  },
});
const EVENTS = Number(values.events);
const STREAMS = Number(values.streams);
const PER_SIGNAL = Number(values['per-signal']);
const PRODUCERS = Number(values.producers);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
/** One event per request either way; `on` sends through a StreamSender (what the API uses), `off` one signal each. */
const COALESCE = values.coalesce !== 'off';
const STREAM_OPTIONS: Partial<StreamOptions> = {
  localActivities: values.local === undefined ? loadConfig().stream.localActivities : values.local === 'on',
  maxRun: Number(values['max-run']),
  canAfterEvents: Number(values['can-after']),
  ...(values['can-after-history'] ? { canAfterHistory: Number(values['can-after-history']) } : {}),
  // `off`: no hand-over announcement, producers are not told (the behaviour before it existed).
  ...(values.rollover === 'off' ? { rolloverGraceMs: 0 } : {}),
};
const log = (line: string) => process.stderr.write(`[bench:stream] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rides(count: number, prefix: string): RideEvent[] {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: count }, (_, i) => ({
    ride_id: `${prefix}-${i}`,
    ride: {
      PULocationID: 1 + Math.floor(next() * 265),
      DOLocationID: 1 + Math.floor(next() * 265),
      trip_distance: Math.round(next() * 1500) / 100,
      pickup_datetime: `2021-02-0${1 + (i % 7)}T${String(i % 24).padStart(2, '0')}:15:00`,
    },
  }));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

async function persisted(stack: BenchStack, streamIds: string[]): Promise<number> {
  const { rows } = await stack.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM stream_predictions WHERE stream_id = ANY($1::text[])',
    [streamIds],
  );
  return rows[0]?.n ?? 0;
}

/** All streams fed at once by `PRODUCERS` concurrent producers each; measured until every event is persisted. */
async function throughput(stack: BenchStack, streams: number, total: number, perSignal: number) {
  const config = {
    temporal: { ...loadConfig().temporal, taskQueue: stack.taskQueue },
    stream: loadConfig().stream,
  };
  const tag = `tp${streams}x${perSignal}-${Date.now()}`;
  const ids = Array.from({ length: streams }, (_, s) => `${tag}-${s}`);
  const perStream = Math.floor(total / streams);
  const started = performance.now();
  let producedAt = 0;
  const producing = Promise.all(
    ids.flatMap((id) => {
      const events = rides(perStream, id);
      const chunks: RideEvent[][] = [];
      for (let i = 0; i < events.length; i += perSignal) chunks.push(events.slice(i, i + perSignal));
      let next = 0;
      return Array.from({ length: PRODUCERS }, async () => {
        while (next < chunks.length) {
          const chunk = chunks[next++];
          if (chunk) await sendEvents(stack.client, config, id, chunk, { streamOptions: STREAM_OPTIONS });
        }
      });
    }),
  ).then(() => (producedAt = performance.now()));
  let done = 0;
  while (done < perStream * streams) {
    await sleep(200);
    done = await persisted(stack, ids);
    if (performance.now() - started > 900_000) throw new Error(`only ${done} persisted after 15 min`);
  }
  const seconds = (performance.now() - started) / 1000;
  await producing;
  const states = await Promise.all(ids.map((id) => getStreamState(stack.client, id)));
  await Promise.all(ids.map((id) => drainStream(stack.client, id)));
  return {
    streams,
    events: perStream * streams,
    eventsPerSignal: perSignal,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSecond: Math.round((perStream * streams) / seconds),
    producerSeconds: Math.round(((producedAt - started) / 1000) * 100) / 100,
    processed: states.reduce((n, st) => n + st.processed, 0),
    duplicates: states.reduce((n, st) => n + st.duplicates, 0),
    continueAsNew: states.reduce((n, st) => n + st.runs, 0),
  };
}

/** One event per request at a fixed offered rate; latency = request start -> prediction seen by a consumer. */
async function latency(stack: BenchStack, rate: number, seconds: number) {
  const config = {
    temporal: { ...loadConfig().temporal, taskQueue: stack.taskQueue },
    stream: loadConfig().stream,
  };
  const id = `lat-${Date.now()}`;
  const events = rides(Math.round(rate * seconds), id);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  // Warm the stream (first run, model resolution) before timing.
  await sendEvents(stack.client, config, id, rides(5, `${id}-warm`), { streamOptions: STREAM_OPTIONS });
  await sleep(1000);
  const abort = new AbortController();
  const consumer = (async () => {
    for await (const p of streamPredictions(stack.pool, id, { signal: abort.signal })) {
      const t0 = sentAt.get(p.eventId);
      if (t0 !== undefined) latencies.push(performance.now() - t0);
      if (latencies.length === events.length) abort.abort();
    }
  })();
  const rollover = values.rollover === 'off' ? undefined : await watchStreamRollovers({ pool: stack.pool });
  const sender = createStreamSender(stack.client, config, rollover ? { rollover } : {});
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const requestMs: number[] = [];
  const slow: { at: number; ms: number }[] = [];
  const start = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < events.length; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const event = events[i];
    if (!event) continue;
    sentAt.set(String(event.ride_id), performance.now());
    const t0 = performance.now();
    inFlight.push(
      (COALESCE
        ? sender.send(id, [event], { streamOptions: STREAM_OPTIONS })
        : sendEvents(stack.client, config, id, [event], { streamOptions: STREAM_OPTIONS })
      ).then(() => {
        requestMs.push(performance.now() - t0);
        slow.push({ at: Date.now() - (performance.now() - t0), ms: performance.now() - t0 });
      }),
    );
  }
  await Promise.all(inFlight);
  const deadline = performance.now() + 60_000;
  while (latencies.length < events.length && performance.now() < deadline) await sleep(100);
  abort.abort();
  await consumer;
  await drainStream(stack.client, id);
  const holds = rollover?.stats();
  await rollover?.close();
  const sorted = [...latencies].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  // The server-side part: accepted (received_at, stamped by sendEvents) -> committed (scored_at).
  const { rows } = await stack.pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM scored_at - received_at) * 1000 AS ms FROM stream_predictions
      WHERE stream_id = $1 AND event_id NOT LIKE '%-warm-%' ORDER BY 1`,
    [id],
  );
  const persist = rows.map((x) => Number(x.ms));
  if (values.diagnose === 'on') {
    await diagnose(stack, id);
    slow.sort((a, b) => b.ms - a.ms);
    log(
      `slowest requests: ${JSON.stringify(slow.slice(0, 5).map((x) => ({ at: new Date(x.at).toISOString(), ms: Math.round(x.ms) })))}`,
    );
    for await (const w of stack.client.workflow.list({ query: `WorkflowId = 'stream-${id}'` })) {
      const h = await stack.client.workflow.getHandle(`stream-${id}`, w.runId).fetchHistory();
      const failedTasks = (h.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
      const tail = (h.events ?? [])
        .slice(-12)
        .map((e) => `${String(e.eventType)}@${new Date(eventMs(e.eventTime)).toISOString().slice(17, 23)}`);
      log(
        `run ${w.runId} ${w.startTime.toISOString()} -> ${w.closeTime?.toISOString() ?? 'open'} ${w.status.name} history ${h.events?.length ?? 0} failed tasks ${failedTasks} tail ${tail.join(' ')}`,
      );
    }
  }
  return {
    offeredRate: rate,
    seconds,
    events: events.length,
    received: latencies.length,
    p50Ms: r(quantile(sorted, 0.5)),
    p90Ms: r(quantile(sorted, 0.9)),
    p99Ms: r(quantile(sorted, 0.99)),
    maxMs: r(sorted[sorted.length - 1] ?? NaN),
    eventLoopDelayMaxMs: r(loopDelay.max / 1e6),
    requestP50Ms: r(
      quantile(
        [...requestMs].sort((a, b) => a - b),
        0.5,
      ),
    ),
    requestP99Ms: r(
      quantile(
        [...requestMs].sort((a, b) => a - b),
        0.99,
      ),
    ),
    acceptedToPersistedP50Ms: r(quantile(persist, 0.5)),
    acceptedToPersistedP99Ms: r(quantile(persist, 0.99)),
    ...(holds ? { rolloverHolds: holds } : {}),
  };
}

function eventMs(t: unknown): number {
  const ts = t as { seconds?: { toNumber(): number } | number; nanos?: number } | undefined;
  const sec = typeof ts?.seconds === 'number' ? ts.seconds : (ts?.seconds?.toNumber() ?? 0);
  return sec * 1000 + (ts?.nanos ?? 0) / 1e6;
}

/** Prints the slowest steps of the stream's history (diagnostics for latency tails). */
async function diagnose(stack: BenchStack, id: string) {
  const history = await stack.client.workflow.getHandle(`stream-${id}`).fetchHistory();
  const events = history.events ?? [];
  const ms = eventMs;
  const gaps = events.slice(1).map((e, i) => ({
    gapMs: Math.round(ms(e.eventTime) - ms(events[i]?.eventTime)),
    from: `${events[i]?.eventId?.toString()}:${String(events[i]?.eventType)}`,
    to: `${e.eventId?.toString()}:${String(e.eventType)}`,
  }));
  gaps.sort((a, b) => b.gapMs - a.gapMs);
  const byType: Record<string, number> = {};
  for (const e of events) byType[String(e.eventType)] = (byType[String(e.eventType)] ?? 0) + 1;
  log(`history ${events.length} events by type ${JSON.stringify(byType)}`);
  log(`slowest steps: ${JSON.stringify(gaps.slice(0, 12))}`);
}

async function main() {
  const loadBefore = os.loadavg();
  const stack = await startBenchStack(log);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void stack.stop().finally(() => process.exit(130)));
  const results: Record<string, unknown> = {};
  try {
    if (values.only !== 'latency') {
      log(`one stream: ${EVENTS} events, ${PER_SIGNAL} per signal`);
      results.oneStream = await throughput(stack, 1, EVENTS, PER_SIGNAL);
      log(JSON.stringify(results.oneStream));
      log(`one stream: ${Math.min(EVENTS, 5000)} events, 1 per signal (one request per event)`);
      results.oneStreamPerEventSignals = await throughput(stack, 1, Math.min(EVENTS, 5000), 1);
      log(JSON.stringify(results.oneStreamPerEventSignals));
      log(`${STREAMS} streams: ${EVENTS} events in all, ${PER_SIGNAL} per signal`);
      results.parallelStreams = await throughput(stack, STREAMS, EVENTS, PER_SIGNAL);
      log(JSON.stringify(results.parallelStreams));
    }
    if (values.only !== 'throughput') {
      log(`latency at ${RATE} events/s for ${SECONDS} s (one event per request)`);
      results.latency = await latency(stack, RATE, SECONDS);
      log(JSON.stringify(results.latency));
    }
  } finally {
    await stack.stop();
  }
  const report = {
    bench: 'stream',
    at: new Date().toISOString(),
    machine: {
      ...machine(),
      /** 1-minute load average before and after: other processes share these cores. */
      loadAvg1m: {
        before: Math.round((loadBefore[0] ?? 0) * 10) / 10,
        after: Math.round((os.loadavg()[0] ?? 0) * 10) / 10,
      },
    },
    options: { ...STREAM_OPTIONS, producersPerStream: PRODUCERS, latencyCoalescing: COALESCE },
    results,
  };
  const file = await writeResults('stream', report.at, report);
  console.table(
    Object.entries(results).map(([name, r]) => ({ scenario: name, ...(r as Record<string, unknown>) })),
  );
  log(`written ${file}`);
}

await main();
