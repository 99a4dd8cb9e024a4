/** SQL of rollouts: the routing mirror (+ NOTIFY), the routing history, rollout progress (+ NOTIFY), step figures. */
import {
  ROLLOUTS_CHANNEL,
  ROUTING_CHANNEL,
  type RolloutEvent,
  type RolloutProgress,
  type RoutingState,
  type StepFigures,
} from '../../contracts/routing.js';
import { withTransaction, type Pool } from '../pool.js';

export interface HistoryRow {
  revision: number;
  changedAt: string;
  actor: string;
  reason: string;
  change: unknown;
  state: RoutingState;
}

export type PublishOutcome =
  | { outcome: 'published' | 'same' }
  /** The mirror holds a newer revision (written by another controller): its state, for the caller to adopt. */
  | { outcome: 'stale'; mirror: RoutingState };

/**
 * Publishes a routing state in one transaction: the mirror moves forward only, the history gets one row per
 * revision, the production alias follows the champion, and every listener is told at commit. The same revision
 * again (a retried activity) changes nothing; an older one is refused with the mirror's state.
 */
export async function publishRouting(
  pool: Pool,
  state: RoutingState,
  change: unknown,
): Promise<PublishOutcome> {
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<{ revision: string; state: RoutingState }>(
      'SELECT revision, state FROM deployment_routing WHERE deployment = $1 FOR UPDATE',
      [state.deployment],
    );
    const current = rows[0];
    if (current && Number(current.revision) > state.revision)
      return { outcome: 'stale', mirror: current.state };
    if (current && Number(current.revision) === state.revision) return { outcome: 'same' };
    await db.query(
      `INSERT INTO routing_history (deployment, revision, changed_at, actor, reason, change, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (deployment, revision) DO NOTHING`,
      [
        state.deployment,
        state.revision,
        state.changedAt,
        state.changedBy,
        state.reason,
        JSON.stringify(change),
        JSON.stringify(state),
      ],
    );
    await db.query(
      `INSERT INTO deployment_routing (deployment, revision, state, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (deployment) DO UPDATE SET revision = EXCLUDED.revision, state = EXCLUDED.state, updated_at = now()`,
      [state.deployment, state.revision, JSON.stringify(state)],
    );
    await db.query(
      `INSERT INTO model_aliases (model_name, alias, version, updated_at) VALUES ($1, 'production', $2, now())
       ON CONFLICT (model_name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
       WHERE model_aliases.version IS DISTINCT FROM EXCLUDED.version`,
      [state.model, state.champion],
    );
    await db.query('SELECT pg_notify($1, $2), pg_notify($3, $4)', [
      ROUTING_CHANNEL,
      JSON.stringify({ deployment: state.deployment, revision: state.revision }),
      'model_aliases',
      JSON.stringify({ name: state.model, alias: 'production', version: state.champion }),
    ]);
    return { outcome: 'published' };
  });
}

export async function readRouting(pool: Pool): Promise<RoutingState[]> {
  const { rows } = await pool.query<{ state: RoutingState }>('SELECT state FROM deployment_routing');
  return rows.map((r) => r.state);
}

interface HistoryDbRow {
  revision: string;
  changed_at: Date;
  actor: string;
  reason: string;
  change: unknown;
  state: RoutingState;
}

const historyRow = (r: HistoryDbRow): HistoryRow => ({
  revision: Number(r.revision),
  changedAt: r.changed_at.toISOString(),
  actor: r.actor,
  reason: r.reason,
  change: r.change,
  state: r.state,
});

/** Changes of a deployment's routing, oldest first (at most `limit`, the newest ones). */
export async function routingHistory(pool: Pool, deployment: string, limit = 500): Promise<HistoryRow[]> {
  const { rows } = await pool.query<HistoryDbRow>(
    `SELECT * FROM (SELECT revision, changed_at, actor, reason, change, state FROM routing_history
                     WHERE deployment = $1 ORDER BY revision DESC LIMIT $2) h ORDER BY revision`,
    [deployment, limit],
  );
  return rows.map(historyRow);
}

/** The change in force at `at` (the last one at or before it), or null before the first. */
export async function routingAt(pool: Pool, deployment: string, at: Date): Promise<HistoryRow | null> {
  const { rows } = await pool.query<HistoryDbRow>(
    `SELECT revision, changed_at, actor, reason, change, state FROM routing_history
      WHERE deployment = $1 AND changed_at <= $2 ORDER BY changed_at DESC, revision DESC LIMIT 1`,
    [deployment, at],
  );
  return rows[0] ? historyRow(rows[0]) : null;
}

/** Saves a rollout's progress and announces it on ROLLOUTS_CHANNEL (RolloutEvent), in one statement. */
export async function saveRollout(pool: Pool, progress: RolloutProgress): Promise<void> {
  const event: RolloutEvent = {
    deployment: progress.spec.deployment,
    id: progress.spec.id,
    status: progress.status,
    step: progress.step,
  };
  await pool.query(
    `WITH saved AS (
       INSERT INTO rollouts (deployment, id, version, status, progress, started_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (deployment, id) DO UPDATE SET status = EXCLUDED.status, progress = EXCLUDED.progress,
         updated_at = now()
       RETURNING 1)
     SELECT pg_notify($7, $8) FROM saved`,
    [
      progress.spec.deployment,
      progress.spec.id,
      progress.spec.version,
      progress.status,
      JSON.stringify(progress),
      progress.startedAt,
      ROLLOUTS_CHANNEL,
      JSON.stringify(event),
    ],
  );
}

export async function listRollouts(pool: Pool, deployment: string, limit = 100): Promise<RolloutProgress[]> {
  const { rows } = await pool.query<{ progress: RolloutProgress }>(
    'SELECT progress FROM rollouts WHERE deployment = $1 ORDER BY started_at DESC LIMIT $2',
    [deployment, limit],
  );
  return rows.map((r) => r.progress);
}

export async function getRollout(
  pool: Pool,
  deployment: string,
  id: string,
): Promise<RolloutProgress | null> {
  const { rows } = await pool.query<{ progress: RolloutProgress }>(
    'SELECT progress FROM rollouts WHERE deployment = $1 AND id = $2',
    [deployment, id],
  );
  return rows[0]?.progress ?? null;
}

/**
 * What the challenger produced in [from, to): its online calls as canary (count, failures, p99 latency) and its
 * stream events as canary, and the shadow pairs (online and stream) with the mean distance from the champion.
 */
export async function stepFigures(
  pool: Pool,
  w: { deployment: string; version: string; from: string; to: string; pairsFrom: string },
): Promise<StepFigures> {
  const { rows } = await pool.query<{
    samples: string;
    errors: string;
    p99: number | null;
    pairs: string;
    diff_sum: number | null;
    shadow_errors: string;
    shadow_samples: string;
    labelled: string;
    label_error: number | null;
  }>(
    `WITH online AS (
       SELECT count(*) AS n, count(*) FILTER (WHERE error IS NOT NULL) AS errors,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
         FROM online_predictions
        WHERE deployment = $1 AND version = $2 AND role = 'canary' AND created_at >= $3 AND created_at < $4),
     stream AS (
       SELECT count(*) AS n FROM stream_predictions
        WHERE deployment = $1 AND version = $2 AND role = 'canary' AND scored_at >= $3 AND scored_at < $4),
     shadow AS (
       SELECT diff, error, (created_at >= $3) AS in_step FROM online_predictions
        WHERE deployment = $1 AND version = $2 AND role = 'shadow' AND created_at >= $5 AND created_at < $4
       UNION ALL
       SELECT diff, error, (scored_at >= $3) FROM stream_shadow_predictions
        WHERE deployment = $1 AND version = $2 AND scored_at >= $5 AND scored_at < $4),
     labelled AS (
       SELECT CASE WHEN jsonb_typeof(l.label) = 'number' THEN abs(p.prediction - (l.label #>> '{}')::float8)
                   ELSE ((p.output ->> 'label') IS DISTINCT FROM (l.label #>> '{}'))::int END AS e
         FROM online_predictions p JOIN labels l ON l.deployment = p.deployment AND l.record_key = p.record_key
        WHERE p.deployment = $1 AND p.version = $2 AND p.role = 'canary' AND p.error IS NULL
          AND p.created_at >= $5 AND p.created_at < $4
       UNION ALL
       SELECT CASE WHEN jsonb_typeof(l.label) = 'number'
                   THEN abs((p.primary_value #>> '{}')::float8 - (l.label #>> '{}')::float8)
                   ELSE ((p.primary_value #>> '{}') IS DISTINCT FROM (l.label #>> '{}'))::int END
         FROM stream_predictions p JOIN labels l ON l.deployment = p.deployment AND l.record_key = p.record_key
        WHERE p.deployment = $1 AND p.version = $2 AND p.role = 'canary' AND p.scored_at >= $5 AND p.scored_at < $4)
     SELECT (SELECT n FROM online) + (SELECT n FROM stream) AS samples,
            (SELECT errors FROM online) AS errors,
            (SELECT p99 FROM online) AS p99,
            (SELECT count(diff) FROM shadow) AS pairs,
            (SELECT sum(diff) FROM shadow) AS diff_sum,
            (SELECT count(*) FILTER (WHERE error IS NOT NULL AND in_step) FROM shadow) AS shadow_errors,
            (SELECT count(*) FILTER (WHERE in_step) FROM shadow) AS shadow_samples,
            (SELECT count(*) FROM labelled) AS labelled,
            (SELECT avg(e) FROM labelled) AS label_error`,
    [w.deployment, w.version, w.from, w.to, w.pairsFrom],
  );
  const r = rows[0];
  const samples = Number(r?.samples ?? 0) + Number(r?.shadow_samples ?? 0);
  const errors = Number(r?.errors ?? 0) + Number(r?.shadow_errors ?? 0);
  const pairs = Number(r?.pairs ?? 0);
  return {
    samples,
    errors,
    errorRate: samples > 0 ? errors / samples : null,
    p99Ms: r?.p99 ?? null,
    pairs,
    meanDiff: pairs > 0 && r?.diff_sum !== null && r?.diff_sum !== undefined ? r.diff_sum / pairs : null,
    labelled: Number(r?.labelled ?? 0),
    labelError: r?.label_error ?? null,
  };
}
