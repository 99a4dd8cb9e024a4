/** The comparison of a batch shadow run: the challenger's rows of one run against the champion's on the same keys. */
import type { BatchComparison, VersionFigures } from '../contracts/routing.js';
import type { Pool } from '../db/pool.js';
import { quote, quoteTable } from '../db/queries/batch-tables.js';
import type { DeploymentRegistry } from '../platform/deployments.js';
import { modelOf } from '../platform/deployments.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { ApplicationFailure } from '@temporalio/common';
import { describeBatchTables, planBatchLayout } from './batch-layout.js';

export interface CompareDeps {
  pool: Pool;
  scorer: ModelScorer;
  deployments?: DeploymentRegistry;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const BINS = 20;

export function createBatchCompareActivities(deps: CompareDeps) {
  return {
    async compareBatchVersions(input: {
      deployment: string;
      champion: string;
      challenger: string;
      challengerRunId: string;
      partition: { from: string; to: string };
    }): Promise<BatchComparison> {
      const deployment = deps.deployments?.get(input.deployment);
      if (!deployment)
        throw ApplicationFailure.create({
          type: 'DeploymentNotFound',
          message: `deployment ${input.deployment} is not ready`,
          nonRetryable: true,
        });
      const model = modelOf(deps.scorer, deployment.spec);
      if (typeof model === 'string')
        throw ApplicationFailure.create({ type: 'ModelNotFound', message: model, nonRetryable: true });
      const planned = planBatchLayout(deployment, model, await describeBatchTables(deps.pool, deployment));
      if (!planned.ok)
        throw ApplicationFailure.create({
          type: 'BatchLayout',
          message: planned.problems.join('; '),
          nonRetryable: true,
        });
      const { sink, task } = planned.layout;
      const n = sink.names;
      const pred = quote(sink.values[0]?.column ?? '');
      const actualColumn = sink.values.find((v) => v.role === 'actual')?.column;
      const actual = actualColumn ? quote(actualColumn) : 'NULL';
      const table = quoteTable(sink.table);
      const key = quote(sink.key.column);
      const pairs = `
        FROM ${table} c JOIN ${table} p
          ON p.${key} = c.${key} AND p.${quote(n.model_name)} = c.${quote(n.model_name)} AND p.${quote(n.model_version)} = $3
       WHERE c.${quote(n.run_id)} = $1 AND c.${quote(n.model_version)} = $2`;
      const args = [input.challengerRunId, input.challenger, input.champion];
      const { rows: counted } = await deps.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${table} WHERE ${quote(n.run_id)} = $1 AND ${quote(n.model_version)} = $2`,
        args.slice(0, 2),
      );
      const base = {
        deployment: input.deployment,
        partition: input.partition,
        challengerRows: Number(counted[0]?.n ?? 0),
        challengerRunId: input.challengerRunId,
      };
      if (task.kind === 'regression') {
        const { rows } = await deps.pool.query<Record<string, unknown>>(
          `SELECT count(*) AS pairs, avg(c.${pred} - p.${pred}) AS mean, avg(abs(c.${pred} - p.${pred})) AS mean_abs,
                  percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY abs(c.${pred} - p.${pred})) AS q,
                  max(abs(c.${pred} - p.${pred})) AS max_abs, count(c.${actual}) AS labelled,
                  avg(abs(c.${pred} - c.${actual})) AS c_mae, sqrt(avg((c.${pred} - c.${actual}) ^ 2)) AS c_rmse,
                  avg(abs(p.${pred} - c.${actual})) AS p_mae, sqrt(avg((p.${pred} - c.${actual}) ^ 2)) AS p_rmse
           ${pairs}`,
          args,
        );
        const r = rows[0] ?? {};
        const q = (r.q as number[] | null) ?? [];
        const maxAbs = num(r.max_abs);
        let histogram: { from: number; to: number; count: number }[] = [];
        if (maxAbs !== null && maxAbs > 0) {
          const { rows: bins } = await deps.pool.query<{ b: number; n: string }>(
            `SELECT width_bucket(c.${pred} - p.${pred}, -$4::float8, $4::float8 * (1 + 1e-9), ${BINS}) AS b, count(*) AS n
             ${pairs} GROUP BY 1 ORDER BY 1`,
            [...args, maxAbs],
          );
          const width = (2 * maxAbs) / BINS;
          histogram = bins.map((b) => ({
            from: -maxAbs + (b.b - 1) * width,
            to: -maxAbs + b.b * width,
            count: Number(b.n),
          }));
        }
        const labelled = Number(r.labelled ?? 0);
        const figures = (version: string, mae: unknown, rmse: unknown): VersionFigures => ({
          version,
          labelled,
          mae: num(mae),
          rmse: num(rmse),
        });
        return {
          ...base,
          pairs: Number(r.pairs ?? 0),
          champion: figures(input.champion, r.p_mae, r.p_rmse),
          challenger: figures(input.challenger, r.c_mae, r.c_rmse),
          difference: {
            mean: num(r.mean),
            meanAbs: num(r.mean_abs),
            p50: num(q[0]),
            p90: num(q[1]),
            p99: num(q[2]),
            maxAbs,
            histogram,
          },
        };
      }
      const { rows } = await deps.pool.query<Record<string, unknown>>(
        `SELECT count(*) AS pairs, avg((c.${pred}::text = p.${pred}::text)::int) AS agreement,
                count(c.${actual}) AS labelled,
                avg((c.${pred}::text = c.${actual}::text)::int) FILTER (WHERE c.${actual} IS NOT NULL) AS c_acc,
                avg((p.${pred}::text = c.${actual}::text)::int) FILTER (WHERE c.${actual} IS NOT NULL) AS p_acc
         ${pairs}`,
        args,
      );
      const { rows: confusion } = await deps.pool.query<{ a: string; b: string; n: string }>(
        `SELECT p.${pred}::text AS a, c.${pred}::text AS b, count(*) AS n ${pairs} GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20`,
        args,
      );
      const r = rows[0] ?? {};
      const labelled = Number(r.labelled ?? 0);
      return {
        ...base,
        pairs: Number(r.pairs ?? 0),
        champion: { version: input.champion, labelled, accuracy: num(r.p_acc) },
        challenger: { version: input.challenger, labelled, accuracy: num(r.c_acc) },
        agreement: num(r.agreement),
        confusion: confusion.map((c) => ({ champion: c.a, challenger: c.b, count: Number(c.n) })),
      };
    },

    async saveBatchComparison(comparison: BatchComparison): Promise<void> {
      await deps.pool.query(
        `INSERT INTO batch_comparisons (deployment, champion, challenger, partition_from, partition_to, summary)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (deployment, challenger, champion, partition_from, partition_to)
         DO UPDATE SET summary = EXCLUDED.summary, compared_at = now()`,
        [
          comparison.deployment,
          comparison.champion.version,
          comparison.challenger.version,
          comparison.partition.from,
          comparison.partition.to,
          JSON.stringify(comparison),
        ],
      );
    },
  };
}
