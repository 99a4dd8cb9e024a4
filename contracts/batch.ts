/**
 * Batch (offline) scoring contract: workflow type, input/output, the progress query, the default schedule id.
 * A run scores one deployment's batch source (deployments/<name>.json); only names, bounds, counts and summaries
 * travel through Temporal, rows stay in Postgres.
 */
import { defineQuery } from '@temporalio/workflow';

export const BATCH_WORKFLOW = 'batchScoring';
/** The default deployment's schedule id when its file names none (kept for the course: daily-batch-scoring). */
export const DAILY_SCHEDULE_ID = 'daily-batch-scoring';
export const BATCH_PROGRESS_QUERY = 'progress';

export interface BatchScoringInput {
  /**
   * The deployment whose batch block is scored (default: the deployment marked `"default": true`). A deployment
   * without `event_time` takes no from/to: each run scores its whole source table.
   */
  deployment?: string;
  /** ISO timestamp, inclusive, on the source's event time. Omitted when a schedule starts the run. */
  from?: string;
  /** ISO timestamp, exclusive. */
  to?: string;
  /** Model reference; defaults to the deployment's model. Resolved once and pinned for the run. */
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
  /**
   * Compute the partition's drift window when the run ends (default true; only for a deployment with a monitoring
   * block and a version with a reference profile). A drifted partition raises one alert (NOTIFY and webhook).
   */
  drift?: boolean;
  /** Internal: state carried across continue-as-new and from a multi-day parent to its day children. */
  carry?: BatchCarry;
}

/**
 * A position in the source's page order: (event time, key), or the key alone for a source without event time.
 * `time` is the text Postgres prints for the event time; `key` the key's text, cast back to its column type in SQL.
 */
export interface PageKey {
  time?: string;
  key: string;
}

/** One chunk: rows with key >= start and < end (end null = the end of the partition). */
export interface ChunkPlan {
  index: number;
  start: PageKey;
  end: PageKey | null;
  rows: number;
}

/** Additive totals of scored rows: metrics are derived from the sums, so totals combine across chunks. */
export interface BatchTotals {
  scored: number;
  rejected: number;
  /** Scored rows with a known label (the metrics cover these). */
  compared: number;
  /** Regression: sums of (predicted - actual)^2 and |predicted - actual|. */
  sumSquaredError: number;
  sumAbsError: number;
  /** Classification: compared rows whose predicted label equals the label. */
  correct: number;
}

export const emptyTotals = (): BatchTotals => ({
  scored: 0,
  rejected: 0,
  compared: 0,
  sumSquaredError: 0,
  sumAbsError: 0,
  correct: 0,
});

/** What the resolve step pinned for the whole run (the deployment's name, the model version, its page order). */
export interface ResolvedBatchRun {
  deployment: string;
  model: { name: string; version: string };
  /** The source has an event-time column: runs take from/to (or a schedule's day); otherwise the whole table. */
  eventTime: boolean;
  task: 'regression' | 'classification';
}

export interface BatchCarry {
  /** The logical run id (`<workflow id>/<first run id>`), kept across continue-as-new. */
  runId?: string;
  /** The pinned deployment and version; a child or a continued run never resolves the alias again. */
  resolved?: ResolvedBatchRun;
  startedAt?: string;
  parentRunId?: string;
  /** Set after the first run planned: where the next run continues. */
  cursor?: PageKey;
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

/** NOTIFY channel of every finished run's summary (BatchRunSummary), for listeners outside the platform. */
export const BATCH_RUNS_CHANNEL = 'batch_runs';
/** NOTIFY channel of runs' live progress (BatchProgressEvent): a run's start and end, and each committed batch. */
export const BATCH_PROGRESS_CHANNEL = 'batch_progress';

/**
 * One announcement on BATCH_PROGRESS_CHANNEL. A chunk's committed batch sends `running` with the run's rows done
 * so far (every chunk's committed rows, summed in Postgres); the ledger's start and final writes send the run's
 * status (a day child of a multi-day run included), with `rowsDone` the ledger's rows and no chunk figures.
 */
export interface BatchProgressEvent {
  runId: string;
  workflowId: string;
  deployment: string | null;
  partition: string;
  status: BatchRunStatus;
  /** Rows read so far (scored + rejected). */
  rowsDone: number;
  /** Rows of the partition as planned; null before the plan (or in a start or end announcement). */
  rowsTotal: number | null;
  chunksDone: number | null;
  chunksTotal: number | null;
  /** When Postgres wrote it (ISO). */
  at: string;
}

/** Live progress of a run (chunk counts are day partitions for a multi-day run). */
export const batchProgressQuery = defineQuery<BatchProgress>(BATCH_PROGRESS_QUERY);

/** Metrics of a run over its rows with a known label: regression RMSE/MAE, classification accuracy. */
export interface BatchMetrics {
  rmse?: number;
  mae?: number;
  accuracy?: number;
}

export interface BatchRunSummary {
  runId: string;
  /** Naive bounds of the event time; `-infinity`..`infinity` for a source without event time (whole table). */
  partition: { from: string; to: string };
  model: { name: string; version: string };
  status: BatchRunStatus;
  rowsScored: number;
  rowsRejected: number;
  /** Regression metrics (null otherwise, or when no row had a label). */
  rmse: number | null;
  mae: number | null;
  /** Rows with a known label that the metrics cover. */
  rowsCompared?: number;
  startedAt: string;
  finishedAt: string;
  error?: string;
  /** The deployment scored (absent when the run failed before resolving it). */
  deployment?: string;
  metrics?: BatchMetrics;
}

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
