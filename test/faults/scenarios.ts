/**
 * Fault scenarios over the real stack. Each one starts real work (a batch run, a stream), injects faults while it
 * is in flight, waits for the work to finish without any manual step, and reports what the database shows.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../../config.js';
import { startBatchRun } from '../../control/batch-runs.js';
import { getStreamState, sendEvents } from '../../control/streams.js';
import { listSchedules } from '../../control/schedules.js';
import type { Pool } from '../../db/pool.js';
import { batchOutcome, streamOutcome, type Outcome } from './invariants.js';
import { sleep, type FaultStack } from './stack.js';
import type { WebhookReceiver } from './webhook.js';

export interface Scale {
  name: 'short' | 'full';
  faultsPerScenario: number;
  chunkSize: number;
  batchRows: number;
  streamEvents: number;
}

export interface Ctx {
  stack: FaultStack;
  pool: Pool;
  client: Client;
  config: Config;
  webhook: WebhookReceiver;
  scale: Scale;
  random: () => number;
  log: (line: string) => void;
}

export interface ScenarioResult extends Outcome {
  scenario: string;
  faults: number;
  recoverMs: number;
  statusOk: boolean;
  notes: string;
}

export const MODEL = 'ride-duration@2';

/** Waits for a workflow's result through server restarts (the client reconnects; a poll may fail meanwhile). */
async function resultOf(handle: WorkflowHandle, timeoutMs = 300_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await handle.result();
    } catch (err) {
      const message = (err as Error).message;
      if (Date.now() > deadline || !/unavailable|connect|deadline|transport|14 |socket/i.test(message))
        throw err;
      await sleep(500);
    }
  }
}

async function countPredictions(pool: Pool, partition: { from: string; to: string }): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM predictions p JOIN rides r USING (ride_id)
      WHERE p.model_version = '2' AND r.pickup_datetime >= $1::timestamp AND r.pickup_datetime < $2::timestamp`,
    [partition.from, partition.to],
  );
  return rows[0]?.n ?? 0;
}

async function until(check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check()) && Date.now() < deadline) await sleep(25);
}

/** Processes that exited by themselves during the scenario (restarted by the harness, like a process manager). */
function unplanned(ctx: Ctx, since: number): string {
  const exits = ctx.stack.unplannedExits.slice(since);
  return exits.length
    ? `unplanned exits restarted by the harness: ${exits.map((e) => `${e.name} (code ${e.code})`).join(', ')}`
    : '';
}

/** Time from the end of a fault until `progress()` moves past `before` (or the work is done). */
async function timeToProgress(
  progress: () => Promise<number>,
  before: number,
  done: () => boolean,
  limitMs = 180_000,
): Promise<number> {
  const start = Date.now();
  while (!done() && Date.now() - start < limitMs) {
    const now = await progress().catch(() => before);
    if (now > before) break;
    await sleep(100);
  }
  return Date.now() - start;
}

/** Runs a batch over `partition` and applies `fault` at random points while it runs. */
async function batchWithFaults(
  ctx: Ctx,
  name: string,
  partition: { from: string; to: string },
  fault: (i: number) => Promise<void>,
  extraChecks: () => Promise<{ ok: boolean; notes: string }> = () => Promise.resolve({ ok: true, notes: '' }),
): Promise<ScenarioResult> {
  const started = await startBatchRun(
    ctx.client,
    ctx.config,
    {
      ...partition,
      model: MODEL,
      chunkSize: ctx.scale.chunkSize,
      batchRows: ctx.scale.batchRows,
      maxParallelChunks: 2,
    },
    { taskQueue: ctx.config.temporal.taskQueue },
  );
  const handle = ctx.client.workflow.getHandle(started.workflowId);
  let finished = false;
  const result = resultOf(handle).finally(() => (finished = true));
  let faults = 0;
  let recoverMs = 0;
  const exitsBefore = ctx.stack.unplannedExits.length;
  for (let i = 0; i < ctx.scale.faultsPerScenario && !finished; i++) {
    // The first fault lands as soon as rows are being written; later ones at random points after it.
    if (i === 0) await until(async () => finished || (await countPredictions(ctx.pool, partition)) > 0);
    else await sleep(300 + Math.floor(ctx.random() * 1200));
    if (finished) break;
    const before = await countPredictions(ctx.pool, partition);
    ctx.log(`${name}: fault ${i + 1} at ${before} predictions`);
    await fault(i);
    faults += 1;
    recoverMs = Math.max(
      recoverMs,
      await timeToProgress(
        () => countPredictions(ctx.pool, partition),
        before,
        () => finished,
      ),
    );
  }
  await result;
  const outcome = await batchOutcome(ctx.pool, partition, '2');
  const { rows } = await ctx.pool.query<{ status: string; rows_scored: string }>(
    'SELECT status, rows_scored FROM batch_runs WHERE workflow_id = $1 AND parent_run_id IS NULL',
    [started.workflowId],
  );
  const extra = await extraChecks();
  const statusOk = rows.length === 1 && rows[0]?.status === 'completed' && extra.ok;
  return {
    scenario: name,
    faults,
    recoverMs,
    statusOk,
    notes: [`run ${rows[0]?.status ?? 'missing'}`, extra.notes, unplanned(ctx, exitsBefore)]
      .filter(Boolean)
      .join('; '),
    ...outcome,
  };
}

function streamEvents(streamId: string, count: number, random: () => number) {
  return Array.from({ length: count }, (_, i) => ({
    event_id: `${streamId}-${i}`,
    ride_id: i,
    ride: {
      PULocationID: 1 + Math.floor(random() * 265),
      DOLocationID: 1 + Math.floor(random() * 265),
      // one in a hundred is poison: the scorer rejects a negative distance and the event goes to dead_letters
      trip_distance: i % 100 === 99 ? -1 : Math.round(random() * 150) / 10,
    },
  }));
}

/** Feeds a stream (through `send`) while faults hit, then waits until every accepted event was handled. */
async function streamWithFaults(
  ctx: Ctx,
  name: string,
  send: (streamId: string, events: ReturnType<typeof streamEvents>) => Promise<number>,
  fault: (i: number) => Promise<void>,
): Promise<ScenarioResult> {
  const streamId = `${name}-${Date.now()}`;
  const events = streamEvents(streamId, ctx.scale.streamEvents, ctx.random);
  let accepted = 0;
  let sending = true;
  const producer = (async () => {
    for (let i = 0; i < events.length; i += 50) {
      accepted += await send(streamId, events.slice(i, i + 50));
      await sleep(20);
    }
    sending = false;
  })();
  let lastHandled = 0;
  const handled = async () => {
    const s = await getStreamState(ctx.client, streamId);
    lastHandled = s.processed + s.failed;
    return lastHandled;
  };
  const allHandled = () => !sending && lastHandled >= accepted;
  let faults = 0;
  let recoverMs = 0;
  const exitsBefore = ctx.stack.unplannedExits.length;
  for (let i = 0; i < ctx.scale.faultsPerScenario; i++) {
    if (i === 0) await until(async () => (await handled().catch(() => 0)) > 0);
    else await sleep(400 + Math.floor(ctx.random() * 800));
    const before = await handled().catch(() => 0);
    ctx.log(`${name}: fault ${i + 1} at ${before} handled`);
    await fault(i);
    faults += 1;
    recoverMs = Math.max(recoverMs, await timeToProgress(handled, before, allHandled));
  }
  await producer;
  const deadline = Date.now() + 180_000;
  while ((await handled().catch(() => -1)) < accepted) {
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const outcome = await streamOutcome(
    ctx.pool,
    streamId,
    events.map((e) => e.event_id),
  );
  return {
    scenario: name,
    faults,
    recoverMs,
    statusOk: !sending && accepted === events.length,
    notes: [`${accepted} accepted`, unplanned(ctx, exitsBefore)].filter(Boolean).join('; '),
    ...outcome,
  };
}

const viaClient = (ctx: Ctx) => async (streamId: string, events: ReturnType<typeof streamEvents>) =>
  (await sendEvents(ctx.client, ctx.config, streamId, events)).accepted;

async function killAndRestartWorker(ctx: Ctx, i: number): Promise<void> {
  const index = i % ctx.stack.workers.length;
  await ctx.stack.killWorker(index, 'SIGKILL');
  await sleep(300);
  ctx.stack.startWorker(index);
}

/** Partitions of the generated month, one per scenario, so runs never share rides. */
export const PARTITIONS = Array.from({ length: 7 }, (_, k) => ({
  from: `2024-03-${String(1 + 4 * k).padStart(2, '0')}T00:00:00`,
  to: `2024-03-${String(5 + 4 * k).padStart(2, '0')}T00:00:00`,
}));

export function scenarios(ctx: Ctx): [string, () => Promise<ScenarioResult>][] {
  const part = (k: number) => PARTITIONS[k] ?? PARTITIONS[0] ?? { from: '', to: '' };
  return [
    [
      'worker SIGKILL during a batch run',
      () => batchWithFaults(ctx, 'batch-worker-kill', part(0), (i) => killAndRestartWorker(ctx, i)),
    ],
    [
      'worker SIGKILL during a stream',
      () => streamWithFaults(ctx, 'stream-worker-kill', viaClient(ctx), (i) => killAndRestartWorker(ctx, i)),
    ],
    [
      'Temporal SIGTERM and SIGKILL, restarted on its file',
      () =>
        batchWithFaults(ctx, 'temporal-restart', part(1), (i) =>
          ctx.stack.restartTemporal(i % 2 === 0 ? 'SIGTERM' : 'SIGKILL', 500),
        ),
    ],
    [
      'Postgres stopped and started mid-run',
      () => {
        const notes: string[] = [];
        return batchWithFaults(
          ctx,
          'postgres-restart',
          part(2),
          async () => {
            await ctx.stack.stopPostgres();
            const ready = await fetch(`${ctx.stack.apiUrl(0)}/ready`).then(
              (r) => r.status,
              () => 0,
            );
            notes.push(`/ready while down: ${ready}`);
            await sleep(1500);
            await ctx.stack.startPostgres();
            const back = Date.now();
            await ctx.stack.waitApisReady(60_000);
            notes.push(`/ready 200 again after ${Date.now() - back} ms`);
          },
          () =>
            Promise.resolve({ ok: notes.every((n) => !n.includes('down: 200')), notes: notes.join(', ') }),
        );
      },
    ],
    [
      'failing then slow webhook',
      async () => {
        const failures = 3;
        ctx.webhook.setMode({ failures, delayMs: 2500 });
        const result = await batchWithFaults(
          ctx,
          'webhook-faults',
          part(3),
          async () => {},
          async () => {
            const { rows } = await ctx.pool.query<{
              webhook_status: string | null;
              webhook_attempts: number | null;
            }>(
              `SELECT webhook_status, webhook_attempts FROM batch_runs
                WHERE partition_from = $1::timestamp AND parent_run_id IS NULL ORDER BY started_at DESC LIMIT 1`,
              [part(3).from],
            );
            const row = rows[0];
            return {
              ok: Boolean(row?.webhook_status?.startsWith('delivered')) && ctx.webhook.attempts > failures,
              notes: `webhook ${row?.webhook_status ?? 'none'} (run's attempts ${row?.webhook_attempts ?? 0}; receiver saw ${ctx.webhook.attempts} requests, the first ${failures} answered 503, the rest after 2.5 s)`,
            };
          },
        );
        ctx.webhook.setMode({ failures: 0, delayMs: 0 });
        return { ...result, faults: failures + 1 };
      },
    ],
    [
      'two workers and two API processes at once',
      async () => {
        let next = 0;
        const viaApis = async (streamId: string, events: ReturnType<typeof streamEvents>) => {
          const api = ctx.stack.apiUrl(next++ % 2);
          const res = await fetch(`${api}/streams/${streamId}/events`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${ctx.config.api.apiKey ?? ''}`,
            },
            body: JSON.stringify(events),
          });
          if (res.status !== 202)
            throw new Error(`POST /streams/${streamId}/events answered ${res.status}: ${await res.text()}`);
          return ((await res.json()) as { accepted: number }).accepted;
        };
        const result = await streamWithFaults(ctx, 'two-apis', viaApis, () => Promise.resolve());
        const schedules = (await listSchedules(ctx.client)).filter((s) =>
          s.scheduleId.startsWith('daily-batch-scoring'),
        );
        return {
          ...result,
          faults: 0,
          statusOk: result.statusOk && schedules.length === 1,
          notes: `${result.notes}; ${schedules.length} daily schedule(s)`,
        };
      },
    ],
  ];
}
