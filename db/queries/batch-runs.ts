/** The batch_runs ledger: one row per run (and per day child), its NOTIFY channels and the webhook outcome. */
import { BATCH_PROGRESS_CHANNEL, BATCH_RUNS_CHANNEL } from '../../contracts/batch.js';
import type { Pool } from '../pool.js';

/** A batch_runs row as the batch mode writes it. */
export interface BatchRunRow {
  runId: string;
  workflowId: string;
  parentRunId: string | null;
  deployment: string | null;
  partitionKey: string;
  from: string;
  to: string;
  modelName: string;
  modelVersion: string;
  status: string;
  rowsScored: number;
  rowsRejected: number;
  rowsCompared: number;
  rmse: number | null;
  mae: number | null;
  /** Every metric of the run by name (rmse/mae also have their own columns). */
  metrics: Record<string, number> | null;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

/**
 * Inserts or updates the run's ledger row (the final write of a run wins over its `running` row) and announces its
 * status on batch_progress (a day child's too); the final write also drops the run's live progress rows.
 */
export async function upsertBatchRun(pool: Pool, r: BatchRunRow): Promise<void> {
  await pool.query(
    `WITH up AS (
     INSERT INTO batch_runs (run_id, workflow_id, parent_run_id, partition_key, partition_from, partition_to,
       model_name, model_version, status, rows_scored, rows_rejected, rows_compared, rmse, mae, started_at,
       finished_at, error, deployment, metrics)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     ON CONFLICT (run_id) DO UPDATE SET
       model_name = EXCLUDED.model_name, model_version = EXCLUDED.model_version, status = EXCLUDED.status,
       rows_scored = EXCLUDED.rows_scored, rows_rejected = EXCLUDED.rows_rejected,
       rows_compared = EXCLUDED.rows_compared, rmse = EXCLUDED.rmse, mae = EXCLUDED.mae,
       finished_at = EXCLUDED.finished_at, error = EXCLUDED.error,
       deployment = COALESCE(EXCLUDED.deployment, batch_runs.deployment), metrics = EXCLUDED.metrics,
       updated_at = now()
     RETURNING run_id, workflow_id, deployment, partition_key, status,
               (rows_scored + rows_rejected)::float8 AS rows_done),
     cleared AS (DELETE FROM batch_run_progress WHERE run_id = $1 AND $9::text <> 'running' RETURNING 1)
     SELECT pg_notify('${BATCH_PROGRESS_CHANNEL}', json_build_object(
              'runId', run_id, 'workflowId', workflow_id, 'deployment', deployment, 'partition', partition_key,
              'status', status, 'rowsDone', rows_done, 'rowsTotal', NULL, 'chunksDone', NULL, 'chunksTotal', NULL,
              'at', clock_timestamp())::text)
       FROM up`,
    [
      r.runId,
      r.workflowId,
      r.parentRunId,
      r.partitionKey,
      r.from,
      r.to,
      r.modelName,
      r.modelVersion,
      r.status,
      r.rowsScored,
      r.rowsRejected,
      r.rowsCompared,
      r.rmse,
      r.mae,
      r.startedAt,
      r.finishedAt,
      r.error,
      r.deployment,
      r.metrics === null ? null : JSON.stringify(r.metrics),
    ],
  );
}

/** Publishes a summary on channel `batch_runs` (payloads stay far below NOTIFY's 8000-byte limit). */
export async function notifyBatchRun(pool: Pool, payload: string): Promise<void> {
  await pool.query(`SELECT pg_notify($1, $2)`, [BATCH_RUNS_CHANNEL, payload]);
}

export async function setWebhookOutcome(
  pool: Pool,
  runId: string,
  status: string,
  attempts: number,
): Promise<void> {
  await pool.query(
    `UPDATE batch_runs SET webhook_status = $2, webhook_attempts = $3, updated_at = now() WHERE run_id = $1`,
    [runId, status, attempts],
  );
}
