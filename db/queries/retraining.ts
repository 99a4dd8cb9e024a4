/** SQL of retraining: the runs' record (idempotent by run id) and the latest labelled window of a deployment. */
import type {
  RetrainingFigures,
  RetrainingInput,
  RetrainingRun,
  RetrainingStatus,
} from '../../contracts/retraining.js';
import type { Pool } from '../pool.js';
import { quote, quoteTable } from './batch-tables.js';

/** Records a run as it starts; a retried start keeps the first row (and its version). */
export async function insertRun(
  pool: Pool,
  row: {
    runId: string;
    model: string;
    version: string;
    champion: string;
    command: string[];
  } & RetrainingInput,
): Promise<{ version: string }> {
  const { rows } = await pool.query<{ version: string }>(
    `INSERT INTO retraining_runs (run_id, deployment, model, version, champion, trigger, reason, command, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'training')
     ON CONFLICT (run_id) DO UPDATE SET run_id = EXCLUDED.run_id
     RETURNING version`,
    [
      row.runId,
      row.deployment,
      row.model,
      row.version,
      row.champion,
      row.trigger,
      row.reason,
      JSON.stringify(row.command),
    ],
  );
  return { version: rows[0]?.version ?? row.version };
}

/** Versions that runs of `model` have taken (a version is never handed out twice, even by a refused run). */
export async function takenVersions(pool: Pool, model: string): Promise<string[]> {
  const { rows } = await pool.query<{ version: string }>(
    'SELECT version FROM retraining_runs WHERE model = $1 AND version IS NOT NULL',
    [model],
  );
  return rows.map((r) => r.version);
}

export async function setStatus(
  pool: Pool,
  runId: string,
  status: RetrainingStatus,
  fields: { outcome?: string; figures?: RetrainingFigures | null; rollout?: string | null } = {},
): Promise<void> {
  const final = ['registered', 'refused', 'failed', 'cancelled'].includes(status);
  await pool.query(
    `UPDATE retraining_runs SET status = $2, outcome = COALESCE($3, outcome), figures = COALESCE($4, figures),
            rollout = COALESCE($5, rollout), ended_at = CASE WHEN $6 THEN COALESCE(ended_at, now()) END
      WHERE run_id = $1`,
    [
      runId,
      status,
      fields.outcome ?? null,
      fields.figures ? JSON.stringify(fields.figures) : null,
      fields.rollout ?? null,
      final,
    ],
  );
}

export async function countAttempt(pool: Pool, runId: string, attempt: number): Promise<void> {
  await pool.query('UPDATE retraining_runs SET attempts = GREATEST(attempts, $2) WHERE run_id = $1', [
    runId,
    attempt,
  ]);
}

/** When the deployment last registered a version (the start of `{from}`), or null. */
export async function lastTraining(pool: Pool, deployment: string): Promise<string | null> {
  const { rows } = await pool.query<{ at: Date | null }>(
    `SELECT max(ended_at) AS at FROM retraining_runs WHERE deployment = $1 AND status = 'registered'`,
    [deployment],
  );
  return rows[0]?.at ? rows[0].at.toISOString() : null;
}

const RUN_COLUMNS = `run_id AS "runId", deployment, model, version, trigger, reason, command, status,
  COALESCE(outcome, '') AS outcome, figures, rollout, attempts, started_at AS "startedAt", ended_at AS "endedAt"`;

type RunRow = Omit<RetrainingRun, 'startedAt' | 'endedAt'> & { startedAt: Date; endedAt: Date | null };
const toRun = (r: RunRow): RetrainingRun => ({
  ...r,
  startedAt: r.startedAt.toISOString(),
  endedAt: r.endedAt ? r.endedAt.toISOString() : null,
});

export async function listRuns(pool: Pool, deployment: string, limit = 100): Promise<RetrainingRun[]> {
  const { rows } = await pool.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM retraining_runs WHERE deployment = $1 ORDER BY started_at DESC LIMIT $2`,
    [deployment, limit],
  );
  return rows.map(toRun);
}

export async function getRun(pool: Pool, deployment: string, runId: string): Promise<RetrainingRun | null> {
  const { rows } = await pool.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM retraining_runs WHERE deployment = $1 AND run_id = $2`,
    [deployment, runId],
  );
  return rows[0] ? toRun(rows[0]) : null;
}

export interface LabelledRow {
  key: string;
  label: unknown;
  /** The record: the batch source's row (column names) or the online call's features (field names). */
  row: Record<string, unknown>;
  from: 'batch' | 'online';
}

/** The default window: the `days` before the latest label (its end just after it), or null without labels. */
export async function latestLabelWindow(
  pool: Pool,
  deployment: string,
  days: number,
): Promise<{ from: string; to: string } | null> {
  const { rows } = await pool.query<{ from: Date | null; to: Date | null }>(
    `SELECT max(received_at) - make_interval(secs => $2 * 86400) AS "from",
            max(received_at) + interval '1 millisecond' AS "to"
       FROM labels WHERE deployment = $1`,
    [deployment, days],
  );
  const w = rows[0];
  return w?.from && w.to ? { from: w.from.toISOString(), to: w.to.toISOString() } : null;
}

/**
 * The newest labelled records of a window of label arrival times [from, to): each label with the record it was a
 * prediction of, from the batch source (by its key) or else from a logged online call (its features).
 */
export async function labelledRows(
  pool: Pool,
  q: {
    deployment: string;
    from: string;
    to: string;
    limit: number;
    source?: { table: string; key: string };
  },
): Promise<LabelledRow[]> {
  const parts = [
    `SELECT DISTINCT ON (l.record_key) l.record_key AS key, l.label, l.received_at, p.features::jsonb AS row, 'online' AS src, 2 AS rank
       FROM labels l JOIN online_predictions p ON p.deployment = l.deployment AND p.record_key = l.record_key
      WHERE l.deployment = $1 AND l.received_at >= $2 AND l.received_at < $3 AND p.role <> 'shadow'
      ORDER BY l.record_key, p.created_at DESC`,
  ];
  if (q.source)
    parts.push(
      `SELECT l.record_key, l.label, l.received_at, to_jsonb(s), 'batch', 1
         FROM labels l JOIN ${quoteTable(q.source.table)} s ON s.${quote(q.source.key)}::text = l.record_key
        WHERE l.deployment = $1 AND l.received_at >= $2 AND l.received_at < $3`,
    );
  const { rows } = await pool.query<{
    key: string;
    label: unknown;
    row: Record<string, unknown>;
    src: 'batch' | 'online';
  }>(
    `WITH joined AS (${parts.map((p) => `(${p})`).join(' UNION ALL ')}),
          one AS (SELECT DISTINCT ON (key) * FROM joined ORDER BY key, rank)
     SELECT key, label, row, src FROM one ORDER BY received_at DESC, key LIMIT $4`,
    [q.deployment, q.from, q.to, q.limit],
  );
  return rows.map((r) => ({ key: r.key, label: r.label, row: r.row, from: r.src }));
}
