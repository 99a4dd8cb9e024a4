/**
 * Read-only queries behind the dashboard's data routes (`/ui/api/*`): the batch run ledger (with the live progress
 * of running runs), the streams that have written anything, and one stream's latency and dead letters. Everything
 * here reads Postgres, never Temporal.
 */
import { listDeadLetters } from '../../control/streams.js';
import type { Pool } from '../../db/pool.js';
import { progressOfRuns, type RunProgress } from '../../db/queries/batch-progress.js';

export interface BatchRunItem {
  runId: string;
  workflowId: string;
  /** Temporal's run id of the run's first execution (the ledger's run_id is `<workflow id>/<run id>`). */
  temporalRunId: string | null;
  parentRunId: string | null;
  deployment: string | null;
  partition: string;
  from: string;
  to: string;
  model: string;
  version: string;
  status: string;
  rowsScored: number;
  rowsRejected: number;
  metrics: Record<string, number> | null;
  startedAt: string;
  finishedAt: string | null;
  /** Seconds from start to finish (to now while running). */
  durationS: number;
  error: string | null;
  /** A running run's committed rows and chunks so far (batch_run_progress); null otherwise or before its first. */
  progress: RunProgress | null;
}

interface BatchRunDbRow {
  run_id: string;
  workflow_id: string;
  parent_run_id: string | null;
  deployment: string | null;
  partition_key: string;
  partition_from: string;
  partition_to: string;
  model_name: string;
  model_version: string;
  status: string;
  rows_scored: number;
  rows_rejected: number;
  metrics: Record<string, number> | null;
  rmse: number | null;
  mae: number | null;
  started_at: Date;
  finished_at: Date | null;
  duration_s: number;
  error: string | null;
}

/** The newest `limit` ledger rows (a multi-day run's day children included), newest first. */
export async function listBatchRuns(pool: Pool, limit: number): Promise<BatchRunItem[]> {
  const { rows } = await pool.query<BatchRunDbRow>(
    `SELECT run_id, workflow_id, parent_run_id, deployment, partition_key, partition_from::text,
            partition_to::text, model_name, model_version, status, rows_scored::float8 AS rows_scored,
            rows_rejected::float8 AS rows_rejected, metrics, rmse, mae, started_at, finished_at,
            EXTRACT(EPOCH FROM COALESCE(finished_at, now()) - started_at)::float8 AS duration_s, error
       FROM batch_runs ORDER BY started_at DESC, run_id LIMIT $1`,
    [limit],
  );
  const live = await progressOfRuns(
    pool,
    rows.filter((r) => r.status === 'running').map((r) => r.run_id),
  );
  return rows.map((r) => {
    const prefix = `${r.workflow_id}/`;
    return {
      runId: r.run_id,
      workflowId: r.workflow_id,
      temporalRunId: r.run_id.startsWith(prefix) ? r.run_id.slice(prefix.length) : null,
      parentRunId: r.parent_run_id,
      deployment: r.deployment,
      partition: r.partition_key,
      from: r.partition_from,
      to: r.partition_to,
      model: r.model_name,
      version: r.model_version,
      status: r.status,
      rowsScored: r.rows_scored,
      rowsRejected: r.rows_rejected,
      metrics: r.metrics ?? legacyMetrics(r),
      startedAt: r.started_at.toISOString(),
      finishedAt: r.finished_at?.toISOString() ?? null,
      durationS: r.duration_s,
      error: r.error,
      progress: live.get(r.run_id) ?? null,
    };
  });
}

/** Rows written before the metrics column: their rmse/mae columns. */
function legacyMetrics(r: BatchRunDbRow): Record<string, number> | null {
  const out: Record<string, number> = {};
  if (r.rmse !== null) out.rmse = r.rmse;
  if (r.mae !== null) out.mae = r.mae;
  return Object.keys(out).length > 0 ? out : null;
}

export interface StreamItem {
  streamId: string;
  deployment: string | null;
  predictions: number;
  deadLetters: number;
  /** Dead letters not replayed yet. */
  pendingDeadLetters: number;
  lastScoredAt: string | null;
}

/** Every stream with a persisted prediction or a dead letter, most recently active first. */
export async function listStreams(pool: Pool): Promise<StreamItem[]> {
  const { rows } = await pool.query<{
    stream_id: string;
    deployment: string | null;
    predictions: number;
    dead_letters: number;
    pending: number;
    last_scored_at: Date | null;
  }>(
    `WITH p AS (SELECT stream_id, max(deployment) AS deployment, count(*)::float8 AS predictions,
                       max(scored_at) AS last_scored_at
                  FROM stream_predictions GROUP BY stream_id),
          d AS (SELECT stream_id, count(*)::float8 AS dead_letters,
                       (count(*) FILTER (WHERE replayed_at IS NULL))::float8 AS pending, max(created_at) AS last_at
                  FROM dead_letters GROUP BY stream_id)
     SELECT COALESCE(p.stream_id, d.stream_id) AS stream_id, p.deployment,
            COALESCE(p.predictions, 0) AS predictions, COALESCE(d.dead_letters, 0) AS dead_letters,
            COALESCE(d.pending, 0) AS pending, p.last_scored_at
       FROM p FULL OUTER JOIN d ON p.stream_id = d.stream_id
      ORDER BY GREATEST(p.last_scored_at, d.last_at) DESC NULLS LAST, 1`,
  );
  return rows.map((r) => ({
    streamId: r.stream_id,
    deployment: r.deployment,
    predictions: r.predictions,
    deadLetters: r.dead_letters,
    pendingDeadLetters: r.pending,
    lastScoredAt: r.last_scored_at?.toISOString() ?? null,
  }));
}

export interface StreamDetail {
  streamId: string;
  /** Arrival (accepted by the API) to persisted prediction, over the newest `LATENCY_WINDOW` predictions, ms. */
  latency: { count: number; p50: number | null; p99: number | null };
  /** Predictions persisted in the last minute, per second. */
  eventsPerSecond: number;
  /** Resume the SSE feed after this id to receive the newest `TAIL` predictions, then live ones. */
  tailAfterId: string;
  deadLetters: {
    eventId: string;
    error: string;
    attempts: number;
    createdAt: string;
    replayedAt: string | null;
    record: unknown;
  }[];
}

const LATENCY_WINDOW = 1000;
const TAIL = 50;

export async function streamDetail(pool: Pool, streamId: string): Promise<StreamDetail> {
  const [latency, rate, tail, dead] = await Promise.all([
    pool.query<{ count: number; p50: number | null; p99: number | null }>(
      `WITH recent AS (
         SELECT EXTRACT(EPOCH FROM scored_at - received_at)::float8 * 1000 AS ms
           FROM stream_predictions WHERE stream_id = $1 ORDER BY id DESC LIMIT $2)
       SELECT count(*)::float8 AS count, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99 FROM recent`,
      [streamId, LATENCY_WINDOW],
    ),
    pool.query<{ n: number }>(
      `SELECT count(*)::float8 AS n FROM stream_predictions
        WHERE stream_id = $1 AND scored_at > now() - interval '60 seconds'`,
      [streamId],
    ),
    pool.query<{ id: string }>(
      `SELECT id::text AS id FROM stream_predictions WHERE stream_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1`,
      [streamId, TAIL],
    ),
    listDeadLetters(pool, streamId, 100),
  ]);
  const l = latency.rows[0];
  return {
    streamId,
    latency: { count: l?.count ?? 0, p50: l?.p50 ?? null, p99: l?.p99 ?? null },
    eventsPerSecond: (rate.rows[0]?.n ?? 0) / 60,
    tailAfterId: tail.rows[0]?.id ?? '0',
    deadLetters: dead.map((d) => ({
      eventId: d.event_id,
      error: d.error,
      attempts: d.attempts,
      createdAt: d.created_at.toISOString(),
      replayedAt: d.replayed_at?.toISOString() ?? null,
      record: d.payload.record,
    })),
  };
}
