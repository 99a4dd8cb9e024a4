/** What every fault scenario shares: its context, its result, and the waits and measures around a fault. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../../config.js';
import type { Pool } from '../../db/pool.js';
import type { BatchRunsListener, DeliveryCheck } from './consumers.js';
import type { Outcome } from './invariants.js';
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
  /** Listens on `batch_runs` for the whole suite, the way a downstream consumer would. */
  batchRuns: BatchRunsListener;
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
  /** Workers or APIs that exited by themselves during the scenario: any one fails it. */
  unplannedExits: string[];
  /** What consumers received, against each channel's guarantee. */
  deliveries: DeliveryCheck[];
}

export const MODEL = 'ride-duration@2';

/** Partitions of the generated month, one per scenario, so runs never share rides. */
export const PARTITIONS = Array.from({ length: 7 }, (_, k) => ({
  from: `2024-03-${String(1 + 4 * k).padStart(2, '0')}T00:00:00`,
  to: `2024-03-${String(5 + 4 * k).padStart(2, '0')}T00:00:00`,
}));

/** Waits for a workflow's result through server restarts (the client reconnects; a poll may fail meanwhile). */
export async function resultOf(handle: WorkflowHandle, timeoutMs = 300_000): Promise<unknown> {
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

export async function until(check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check()) && Date.now() < deadline) await sleep(25);
}

/** Processes that exited by themselves since `since` (the harness restarted them, but the scenario fails). */
export function unplannedSince(ctx: Ctx, since: number): string[] {
  return ctx.stack.unplannedExits
    .slice(since)
    .map((e) => `${e.name} exited by itself (code ${e.code}): ${e.tail.join(' | ')}`);
}

/** Time from the end of a fault until `progress()` moves past `before` (or the work is done). */
export async function timeToProgress(
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
