/** SQL of monitoring: labels (idempotent by key) and performance joined to the predictions of every mode. */
import type { LabelInput, PerformanceRow, Window } from '../../contracts/monitoring.js';
import type { Pool } from '../pool.js';
import { quote, quoteTable, type SinkLayout } from './batch-tables.js';

/** Writes labels; a key seen before takes the new label. Returns how many were new and how many replaced one. */
export async function upsertLabels(
  pool: Pool,
  deployment: string,
  labels: readonly LabelInput[],
  source: 'api' | 'stream' | 'batch',
): Promise<{ inserted: number; updated: number; unchanged: number }> {
  if (labels.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  // One statement may touch a row once: a key sent again (a stream's signals written together) keeps its last label.
  const last = new Map<string, string>();
  for (const l of labels) {
    const key = String(l.key);
    last.delete(key);
    last.set(key, JSON.stringify(l.label));
  }
  const { rows } = await pool.query<{ inserted: boolean }>(
    `INSERT INTO labels (deployment, record_key, label, source)
     SELECT $1, k, l::jsonb, $4 FROM unnest($2::text[], $3::text[]) AS x(k, l)
     ON CONFLICT (deployment, record_key) DO UPDATE
       SET label = EXCLUDED.label, source = EXCLUDED.source, received_at = now()
       WHERE labels.label IS DISTINCT FROM EXCLUDED.label
     RETURNING (xmax = 0) AS inserted`,
    [deployment, [...last.keys()], [...last.values()], source],
  );
  const inserted = rows.filter((r) => r.inserted).length;
  return { inserted, updated: rows.length - inserted, unchanged: last.size - rows.length };
}

export interface PerformanceQuery {
  deployment: string;
  task: 'regression' | 'classification';
  from: string;
  to: string;
  window: Window;
  /** Regression: the card's declared target range (e.g. 1..60 minutes). */
  range?: { min: number; max: number };
  /** The batch sink, when the deployment has a batch block. */
  sink?: SinkLayout;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * Performance per mode, version and window, aggregated in Postgres (no row comes to the process): online and stream
 * predictions by their time, batch predictions by their run's partition (a whole-table run: by when it ran), each
 * joined to its label.
 */
export async function performance(pool: Pool, q: PerformanceQuery): Promise<PerformanceRow[]> {
  const regression = q.task === 'regression';
  // value: the numeric prediction (regression) / predicted: the label text (classification).
  const predicted = regression
    ? {
        online: 'p.prediction',
        stream: "(p.primary_value #>> '{}')::float8",
        batch: (c: string) => `s.${c}::float8`,
      }
    : {
        online: "p.output ->> 'label'",
        stream: "p.primary_value #>> '{}'",
        batch: (c: string) => `s.${c}::text`,
      };
  const truth = regression ? "(l.label #>> '{}')::float8" : "l.label #>> '{}'";
  const parts = [
    `SELECT 'online' AS mode, p.version, date_trunc($4, p.created_at) AS w, ${predicted.online} AS yhat, ${truth} AS y
       FROM online_predictions p JOIN labels l ON l.deployment = p.deployment AND l.record_key = p.record_key
      WHERE p.deployment = $1 AND p.role <> 'shadow' AND p.error IS NULL AND p.created_at >= $2 AND p.created_at < $3`,
    `SELECT 'streaming', p.version, date_trunc($4, p.scored_at), ${predicted.stream}, ${truth}
       FROM stream_predictions p JOIN labels l ON l.deployment = p.deployment AND l.record_key = p.record_key
      WHERE p.deployment = $1 AND p.scored_at >= $2 AND p.scored_at < $3`,
  ];
  if (q.sink) {
    const n = q.sink.names;
    const value = q.sink.values[0]?.column ?? '';
    // A label sent by key wins; else the source's label column, copied into the sink's `actual` column by the run.
    const actual = q.sink.values.find((v) => v.role === 'actual')?.column;
    const copied = actual ? `s.${quote(actual)}::${regression ? 'float8' : 'text'}` : 'NULL';
    // A run's time: its partition's start, or, for a whole-table run (a source without event time, whose partition
    // is -infinity..infinity), when it ran (UTC, naive like the partitions).
    const at = `CASE WHEN isfinite(r.partition_from) THEN r.partition_from ELSE r.started_at AT TIME ZONE 'UTC' END`;
    parts.push(
      `SELECT 'batch', s.${quote(n.model_version)}, date_trunc($4, ${at}), ${predicted.batch(quote(value))},
              COALESCE(${truth}, ${copied})
         FROM ${quoteTable(q.sink.table)} s
         JOIN batch_runs r ON r.run_id = s.${quote(n.run_id)}
         LEFT JOIN labels l ON l.deployment = $1 AND l.record_key = s.${quote(q.sink.key.column)}::text
        WHERE ${at} >= $2::timestamptz AT TIME ZONE 'UTC' AND ${at} < $3::timestamptz AT TIME ZONE 'UTC'`,
    );
  }
  const figures = regression
    ? `avg(abs(yhat - y)) AS mae, sqrt(avg((yhat - y) ^ 2)) AS rmse,
       count(*) FILTER (WHERE y BETWEEN $5 AND $6) AS in_n,
       avg(abs(yhat - y)) FILTER (WHERE y BETWEEN $5 AND $6) AS in_mae,
       sqrt(avg((yhat - y) ^ 2) FILTER (WHERE y BETWEEN $5 AND $6)) AS in_rmse`
    : `avg((yhat = y)::int) AS accuracy`;
  const { rows } = await pool.query<Record<string, unknown>>(
    `WITH joined AS (${parts.join('\nUNION ALL\n')})
     SELECT mode, version, w, count(*) AS n, ${figures} FROM joined WHERE y IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 3, 1, 2`,
    regression
      ? [q.deployment, q.from, q.to, q.window, q.range?.min ?? -1e308, q.range?.max ?? 1e308]
      : [q.deployment, q.from, q.to, q.window],
  );
  let perClass = new Map<string, PerformanceRow['perClass']>();
  if (!regression) {
    const { rows: classes } = await pool.query<{
      mode: string;
      version: string;
      w: Date | number;
      y: string;
      n: string;
      recall: number;
    }>(
      `WITH joined AS (${parts.join('\nUNION ALL\n')})
       SELECT mode, version, w, y, count(*) AS n, avg((yhat = y)::int) AS recall FROM joined WHERE y IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 4`,
      [q.deployment, q.from, q.to, q.window],
    );
    perClass = new Map();
    for (const c of classes) {
      const k = `${c.mode}|${c.version}|${c.w instanceof Date ? c.w.toISOString() : String(c.w)}`;
      perClass.set(k, [
        ...(perClass.get(k) ?? []),
        { label: c.y, labelled: Number(c.n), recall: num(c.recall) },
      ]);
    }
  }
  return rows.map((r) => {
    // The UNION makes every window a timestamptz (a Date).
    const w = r.w instanceof Date ? r.w.toISOString() : String(r.w);
    const base = {
      mode: r.mode as PerformanceRow['mode'],
      version: String(r.version),
      window: w,
      labelled: Number(r.n),
    };
    if (!regression)
      return {
        ...base,
        accuracy: num(r.accuracy),
        perClass: perClass.get(`${base.mode}|${base.version}|${w}`) ?? [],
      };
    return {
      ...base,
      mae: num(r.mae),
      rmse: num(r.rmse),
      ...(q.range ? { inRange: { labelled: Number(r.in_n), mae: num(r.in_mae), rmse: num(r.in_rmse) } } : {}),
    };
  });
}
