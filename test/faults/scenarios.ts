/**
 * Fault scenarios over the real stack. Each one starts real work (a batch run, a stream), injects faults while it
 * is in flight, waits for the work to finish without any manual step, and reports what the database shows and
 * what the consumers received.
 */
import { sendEvents } from '../../control/streams.js';
import { listSchedules } from '../../control/schedules.js';
import { WEBHOOK_ATTEMPTS } from '../../workflows/batch-steps.js';
import { batchDeliveries, batchWithFaults, runRow, startRun } from './batch-faults.js';
import type { DeliveryCheck } from './consumers.js';
import { batchOutcome } from './invariants.js';
import { PARTITIONS, resultOf, unplannedSince, type Ctx, type ScenarioResult } from './scenario-kit.js';
import { sleep } from './stack.js';
import { rolloutWithFaults } from './rollout-faults.js';
import { streamWithFaults, type StreamEvents } from './stream-faults.js';

export type { Ctx, Scale, ScenarioResult } from './scenario-kit.js';

const viaClient = (ctx: Ctx) => async (streamId: string, events: StreamEvents) =>
  (await sendEvents(ctx.client, ctx.config, streamId, events)).accepted;

async function killAndRestartWorker(ctx: Ctx, i: number): Promise<void> {
  const index = i % ctx.stack.workers.length;
  await ctx.stack.killWorker(index, 'SIGKILL');
  await sleep(300);
  ctx.stack.startWorker(index);
}

const part = (k: number) => PARTITIONS[k] ?? PARTITIONS[0] ?? { from: '', to: '' };

/**
 * The webhook fails for real while two runs finish: run A's receiver answers 500, then resets the connection, then
 * answers after the activity's timeout, then accepts; run B's receiver answers 500 to every attempt. A must end
 * `delivered 200` after exactly the 4 attempts the receiver saw, B `failed` after all WEBHOOK_ATTEMPTS, and both
 * runs complete. Catches: a fault that did not take effect, a retry policy that gives up early or retries past its
 * limit, an outcome recorded as delivered when nothing was accepted, and a failed webhook that fails the run.
 */
async function webhookScenario(ctx: Ctx): Promise<ScenarioResult> {
  const exitsBefore = ctx.stack.unplannedExits.length;
  const a = part(3);
  const b = { from: '2024-03-25T00:00:00', to: '2024-03-25T06:00:00' };
  ctx.webhook.plan(a.from.slice(0, 10), ['http500', 'reset', 'slow']);
  ctx.webhook.plan(b.from.slice(0, 10), [], 'http500');
  const [idA, idB] = await Promise.all([startRun(ctx, a), startRun(ctx, b)]);
  await Promise.all([idA, idB].map((id) => resultOf(ctx.client.workflow.getHandle(id))));
  const outcome = await batchOutcome(ctx.pool, a, '2');
  const [rowA, rowB] = await Promise.all([runRow(ctx.pool, idA), runRow(ctx.pool, idB)]);
  const hookA = ctx.webhook.deliveries(rowA?.run_id ?? '');
  const hookB = ctx.webhook.deliveries(rowB?.run_id ?? '');
  const injected = (h: typeof hookA) => h.injected.http500 + h.injected.reset + h.injected.slow;
  const checks: DeliveryCheck[] = [
    ...(await batchDeliveries(ctx, rowA)).map((c) => ({ ...c, channel: `run A ${c.channel}` })),
    {
      channel: 'run A webhook faults',
      ok:
        hookA.injected.http500 === 1 &&
        hookA.injected.reset === 1 &&
        hookA.injected.slow === 1 &&
        hookA.requests === 4 &&
        hookA.delivered === 1 &&
        rowA?.webhook_attempts === 4,
      detail: `injected ${JSON.stringify(hookA.injected)}, ${hookA.requests} requests, ${hookA.delivered} accepted, run records ${rowA?.webhook_attempts ?? 0} attempts`,
    },
    ...(await batchDeliveries(ctx, rowB))
      .filter((c) => c.channel !== 'webhook')
      .map((c) => ({ ...c, channel: `run B ${c.channel}` })),
    {
      channel: 'run B webhook recorded as failed',
      ok:
        rowB?.status === 'completed' &&
        Boolean(rowB.webhook_status?.startsWith('failed')) &&
        rowB.webhook_attempts === WEBHOOK_ATTEMPTS &&
        hookB.requests === WEBHOOK_ATTEMPTS &&
        hookB.injected.http500 === WEBHOOK_ATTEMPTS &&
        hookB.delivered === 0,
      detail: `run ${rowB?.status ?? 'missing'}, webhook ${rowB?.webhook_status ?? 'nothing'} after ${rowB?.webhook_attempts ?? 0} attempts; receiver saw ${hookB.requests} requests, accepted ${hookB.delivered}`,
    },
  ];
  const unplannedExits = unplannedSince(ctx, exitsBefore);
  return {
    scenario: 'webhook-faults',
    faults: injected(hookA) + injected(hookB),
    // from the first webhook request of run A to the one it accepted
    recoverMs: (hookA.deliveredAt ?? 0) - (hookA.firstAt ?? 0),
    statusOk: rowA?.status === 'completed' && unplannedExits.length === 0,
    notes: `run A ${rowA?.webhook_status ?? 'no webhook outcome'}, run B ${rowB?.webhook_status ?? 'no webhook outcome'}`,
    unplannedExits,
    deliveries: checks,
    ...outcome,
  };
}

export function scenarios(ctx: Ctx): [string, () => Promise<ScenarioResult>][] {
  return [
    [
      'worker SIGKILL and Temporal restart during a rollout',
      () =>
        rolloutWithFaults(ctx, async (i) => {
          await killAndRestartWorker(ctx, i);
          await ctx.stack.restartTemporal('SIGKILL', 500);
        }),
    ],
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
    ['failing then slow webhook', () => webhookScenario(ctx)],
    [
      'two workers and two API processes at once',
      async () => {
        let next = 0;
        const viaApis = async (streamId: string, events: StreamEvents) => {
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
