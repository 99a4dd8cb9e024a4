/**
 * Batch (offline) scoring contract: workflow type, input/output, query, schedule id.
 * Only bounds, counts and summaries travel through Temporal; rows stay in Postgres.
 */
export const BATCH_WORKFLOW = 'batchScoring';
export const DAILY_SCHEDULE_ID = 'daily-batch-scoring';

export interface BatchScoringInput {
  /** ISO timestamp, inclusive, on pickup time. Omitted when a schedule starts the run: derived from its time. */
  from?: string;
  /** ISO timestamp, exclusive. */
  to?: string;
  /** Model reference; defaults to `ride-duration@production`. Resolved once and pinned for the run. */
  model?: string;
  chunkSize?: number;
  notify?: boolean;
}

export type BatchRunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface BatchProgress {
  chunksTotal: number;
  chunksDone: number;
  rowsScored: number;
  rowsRejected: number;
  startedAt: string;
  modelVersion: string;
}

export interface BatchRunSummary {
  runId: string;
  partition: { from: string; to: string };
  model: { name: string; version: string };
  status: BatchRunStatus;
  rowsScored: number;
  rowsRejected: number;
  rmse: number | null;
  mae: number | null;
  startedAt: string;
  finishedAt: string;
  error?: string;
}

export const BATCH_PROGRESS_QUERY = 'progress';
