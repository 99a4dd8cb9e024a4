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
  /** Rows per chunk activity (default 50 000; the starters pass BATCH_CHUNK_SIZE). */
  chunkSize?: number;
  /** Send the summary to `NOTIFY batch_runs` and the webhook (default true). The batch_runs row is always written. */
  notify?: boolean;
  /** Chunks of one partition scored at once (default 2; the starters pass BATCH_MAX_PARALLEL_CHUNKS). */
  maxParallelChunks?: number;
  /** IANA zone of the starting schedule: a scheduled run scores the previous day there (default UTC). */
  timeZone?: string;
  /** Rows read, scored and committed per transaction inside a chunk (default 25 000): the resume granularity. */
  batchRows?: number;
  /** Chunks per workflow run before it continues as new (default 400), bounding history; tests lower it. */
  maxChunksPerRun?: number;
  /** Internal: state carried across continue-as-new and from a multi-day parent to its day children. */
  carry?: BatchCarry;
}

/** A position in the (pickup_datetime, ride_id) order; `ts` is the naive `YYYY-MM-DDTHH:MM:SS` text. */
export interface RideKey {
  ts: string;
  id: string;
}

/** One chunk: rows with key >= start and < end (end null = the partition's `to`). */
export interface ChunkPlan {
  index: number;
  start: RideKey;
  end: RideKey | null;
  rows: number;
}

/** Additive totals of scored rows; RMSE/MAE are derived from the sums, so totals combine across chunks. */
export interface BatchTotals {
  scored: number;
  rejected: number;
  /** Rows with a known actual_duration (the error metrics cover these). */
  compared: number;
  sumSquaredError: number;
  sumAbsError: number;
}

export const emptyTotals = (): BatchTotals => ({
  scored: 0,
  rejected: 0,
  compared: 0,
  sumSquaredError: 0,
  sumAbsError: 0,
});

export interface BatchCarry {
  /** The logical run id (`<workflow id>/<first run id>`), kept across continue-as-new. */
  runId?: string;
  /** The pinned version; a child or a continued run never resolves the alias again. */
  model?: { name: string; version: string };
  startedAt?: string;
  parentRunId?: string;
  /** Set after the first run planned: where the next run continues. */
  cursor?: RideKey;
  rowsTotal?: number;
  chunksTotal?: number;
  chunksDone?: number;
  totals?: BatchTotals;
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
  /** Rows with a known actual_duration that RMSE/MAE cover. */
  rowsCompared?: number;
  startedAt: string;
  finishedAt: string;
  error?: string;
}

export const BATCH_PROGRESS_QUERY = 'progress';

/** What `getBatchRun` returns: Temporal's status plus live progress or the final summary. */
export interface BatchRunView {
  workflowId: string;
  runId: string;
  status: BatchRunStatus | 'terminated' | 'timed_out';
  progress?: BatchProgress;
  summary?: BatchRunSummary;
  error?: string;
  webUiUrl: string;
}
