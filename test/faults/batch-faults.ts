/**
 * A batch run with faults injected while it is in flight, and what its consumers received: the
 * `NOTIFY batch_runs` summary and the webhook POST, both keyed by run id.
 */
import { startBatchRun } from '../../control/batch-runs.js';
import type { Pool } from '../../db/pool.js';
import { settle, type DeliveryCheck } from './consumers.js';
import { batchOutcome } from './invariants.js';
import {
  MODEL,
  resultOf,
  timeToProgress,
  unplannedSince,
  until,
  type Ctx,
  type ScenarioResult,
} from './scenario-kit.js';
import { sleep } from './stack.js';

async function countPredictions(pool: Pool, partition: { from: string; to: string }): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM predictions p JOIN rides r USING (ride_id)
      WHERE p.model_version = '2' AND r.pickup_datetime >= $1::timestamp AND r.pickup_datetime < $2::timestamp`,
    [partition.from, partition.to],
  );
  return rows[0]?.n ?? 0;
}

export interface RunRow {
  run_id: string;
  status: string;
  webhook_status: string | null;
  webhook_attempts: number | null;
}

/** The top-level batch_runs row of a workflow (its per-day children have a parent_run_id). */
export async function runRow(pool: Pool, workflowId: string): Promise<RunRow | undefined> {
  const { rows } = await pool.query<RunRow>(
    `SELECT run_id, status, webhook_status, webhook_attempts FROM batch_runs
      WHERE workflow_id = $1 AND parent_run_id IS NULL`,
    [workflowId],
  );
  return rows.length === 1 ? rows[0] : undefined;
}

/** Starts a batch run over `partition` pinned to MODEL; returns its workflow id. */
export async function startRun(ctx: Ctx, partition: { from: string; to: string }): Promise<string> {
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
  return started.workflowId;
}

/**
 * What a finished run's consumers got. `NOTIFY batch_runs` is at least once per finished run, run id the dedup
 * key: a run that finished without its summary reaching the listener (or with a non-final status) fails.
 * The webhook is at least once per finished run, run id the dedup key: a run with no accepted POST, or whose
 * recorded outcome is not `delivered`, fails.
 */
export async function batchDeliveries(ctx: Ctx, row: RunRow | undefined): Promise<DeliveryCheck[]> {
  if (!row) return [{ channel: 'batch_runs row', ok: false, detail: 'no top-level batch_runs row' }];
  await settle(() => (ctx.batchRuns.byRun.get(row.run_id)?.count ?? 0) > 0);
  const notified = ctx.batchRuns.byRun.get(row.run_id);
  const hook = ctx.webhook.deliveries(row.run_id);
  return [
    {
      channel: 'NOTIFY batch_runs',
      ok: (notified?.count ?? 0) >= 1 && (notified?.statuses ?? []).every((s) => s === row.status),
      detail: `${notified?.count ?? 0} summaries for ${row.run_id} (${(notified?.statuses ?? []).join(', ')}); listener connected ${ctx.batchRuns.connections}x`,
    },
    {
      channel: 'webhook',
      ok: hook.delivered >= 1 && row.webhook_status === 'delivered 200',
      detail: `${hook.delivered} accepted of ${hook.requests} requests; run records ${row.webhook_status ?? 'nothing'} after ${row.webhook_attempts ?? 0} attempts`,
    },
  ];
}

/** Runs a batch over `partition` and applies `fault` at random points while it runs. */
export async function batchWithFaults(
  ctx: Ctx,
  name: string,
  partition: { from: string; to: string },
  fault: (i: number) => Promise<void>,
  extraChecks: () => Promise<{ ok: boolean; notes: string }> = () => Promise.resolve({ ok: true, notes: '' }),
): Promise<ScenarioResult> {
  const exitsBefore = ctx.stack.unplannedExits.length;
  const workflowId = await startRun(ctx, partition);
  const handle = ctx.client.workflow.getHandle(workflowId);
  let finished = false;
  const result = resultOf(handle).finally(() => (finished = true));
  let faults = 0;
  let recoverMs = 0;
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
  const row = await runRow(ctx.pool, workflowId);
  const extra = await extraChecks();
  const unplannedExits = unplannedSince(ctx, exitsBefore);
  return {
    scenario: name,
    faults,
    recoverMs,
    statusOk: row?.status === 'completed' && extra.ok && unplannedExits.length === 0,
    notes: [`run ${row?.status ?? 'missing'}`, extra.notes].filter(Boolean).join('; '),
    unplannedExits,
    deliveries: await batchDeliveries(ctx, row),
    ...outcome,
  };
}
