/**
 * Activities that tell the world about a batch run: the `batch_runs` ledger row, `NOTIFY batch_runs` with the
 * summary, and an optional webhook POST whose final outcome is recorded on the row.
 */
import { Context } from '@temporalio/activity';
import type { BatchRunSummary } from '../contracts/batch.js';
import type { Pool } from '../db/pool.js';
import { postWebhook } from './webhook.js';
import { notifyBatchRun, setWebhookOutcome, upsertBatchRun } from '../db/queries/batch-runs.js';

export interface RecordRunInput {
  summary: BatchRunSummary;
  workflowId: string;
  partitionKey: string;
  parentRunId?: string;
  /** Also publish the summary on `NOTIFY batch_runs`. */
  notify: boolean;
}

export function createNotifyActivities(deps: { pool: Pool; webhookUrl?: string; webhookTimeoutMs?: number }) {
  const { pool } = deps;
  return {
    /** Writes (or finalizes) the run's batch_runs row, then NOTIFYs the summary when asked. Idempotent by run id. */
    async recordBatchRun(input: RecordRunInput): Promise<void> {
      const s = input.summary;
      await upsertBatchRun(pool, {
        runId: s.runId,
        workflowId: input.workflowId,
        parentRunId: input.parentRunId ?? null,
        partitionKey: input.partitionKey,
        from: s.partition.from,
        to: s.partition.to,
        modelName: s.model.name,
        modelVersion: s.model.version,
        status: s.status,
        rowsScored: s.rowsScored,
        rowsRejected: s.rowsRejected,
        rowsCompared: s.rowsCompared ?? 0,
        rmse: s.rmse,
        mae: s.mae,
        deployment: s.deployment ?? null,
        metrics: s.metrics && Object.keys(s.metrics).length > 0 ? { ...s.metrics } : null,
        startedAt: s.startedAt,
        finishedAt: s.status === 'running' ? null : s.finishedAt,
        error: s.error ?? null,
      });
      if (input.notify) await notifyBatchRun(pool, JSON.stringify(s));
    },

    /**
     * POSTs the summary to NOTIFY_WEBHOOK_URL. A non-2xx answer or a network error throws, so the activity retry
     * policy backs off and tries again; returns `skipped` when no URL is configured.
     */
    async postBatchWebhook(input: {
      summary: BatchRunSummary;
    }): Promise<{ status: string; attempts: number }> {
      const attempts = Context.current().info.attempt;
      if (!deps.webhookUrl) return { status: 'skipped', attempts: 0 };
      const status = await postWebhook(deps.webhookUrl, input.summary, {
        ...(deps.webhookTimeoutMs ? { timeoutMs: deps.webhookTimeoutMs } : {}),
      });
      return { status, attempts };
    },

    /** Records how the webhook delivery ended (after its retries). */
    async recordWebhookOutcome(input: { runId: string; status: string; attempts: number }): Promise<void> {
      await setWebhookOutcome(pool, input.runId, input.status, input.attempts);
    },
  };
}
