/**
 * Activities of batch scoring: resolve the deployment and pin the model, plan a partition into key-range chunks,
 * and score + load one chunk. Only names, bounds, counts and totals cross Temporal; rows go
 * Postgres -> scorer -> Postgres inside `scoreChunk`.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  emptyTotals,
  type BatchTotals,
  type ChunkPlan,
  type PageKey,
  type ResolvedBatchRun,
} from '../contracts/batch.js';
import type { ResolvedModel, ScoreOutput, Scorer } from '../contracts/scoring.js';
import { partitionKey } from '../contracts/batch-input.js';
import type { Pool } from '../db/pool.js';
import { keyText, type Page } from '../db/queries/batch-copy.js';
import { chunkProgressStatement } from '../db/queries/batch-progress.js';
import { tallyStatement } from '../db/queries/drift-tallies.js';
import { createSinkTables, missingTables } from '../db/queries/batch-tables.js';
import { clearEarlierRejections, planKeys } from '../db/queries/batch-source.js';
import type { DeploymentRegistry } from '../platform/deployments.js';
import { ModelNotFoundError } from '../scoring/errors.js';
import { scoreRows, type ModelScorer } from '../scoring/scorer.js';
import type { SessionThread } from '../scoring/session-thread.js';
import {
  describeBatchTables,
  planBatchLayout,
  sinkTables,
  sourceMissing,
  type BatchLayout,
} from './batch-layout.js';
import { scoreChunkPages } from './batch-chunk.js';
import { tallyPage, tallyPerformance, tallyPlan } from './drift-tally.js';

/** Rows read, scored and written per transaction inside a chunk (also the heartbeat/resume granularity). */
export const DEFAULT_BATCH_ROWS = 25_000;

export interface ChunkInput {
  runId: string;
  deployment: string;
  from: string;
  to: string;
  chunk: ChunkPlan;
  model: ResolvedModel;
  batchRows?: number;
  /** The run's size as planned when the chunk started, for its progress announcements. */
  planned?: { chunksTotal: number; rowsTotal: number };
}

/** Checkpoint heartbeated after every committed batch; a retried attempt resumes after `after`. */
export interface ChunkCheckpoint {
  after: PageKey;
  totals: BatchTotals;
}

const fail = (type: string, message: string, cause?: Error) =>
  ApplicationFailure.create({ type, message, nonRetryable: true, ...(cause ? { cause } : {}) });

export function createBatchActivities(deps: {
  pool: Pool;
  /** Scores, and its registry gives each version's card (the layout is planned from it). */
  scorer: ModelScorer;
  deployments?: DeploymentRegistry;
  batchSessions?: SessionThread;
}) {
  const { pool, scorer } = deps;
  // With a session thread, a page's runs leave this thread (features are still built here, from the records).
  const sessions = deps.batchSessions;
  const pageScorer: Scorer = sessions
    ? {
        resolve: (ref) => scorer.resolve(ref),
        async score(ref, rows) {
          const m = typeof ref === 'string' ? await scorer.resolve(ref) : ref;
          const loaded = scorer.registry.get(m.name, m.version);
          if (!loaded) return scorer.score(ref, rows);
          return scoreRows(loaded, rows, sessions.run);
        },
      }
    : scorer;
  // Layouts by deployment and model version; the resolve step of each run refreshes its entry.
  const layouts = new Map<string, BatchLayout>();

  const deploymentOf = (name: string | undefined) => {
    const registry = deps.deployments;
    if (!registry)
      throw fail('DeploymentNotFound', 'this worker has no deployments loaded (deployments/*.json)');
    const found = name === undefined ? registry.defaultDeployment() : registry.get(name);
    if (found?.spec.batch) return found;
    const views = registry.list();
    const ready = views.filter((v) => v.status === 'ready').map((v) => v.name);
    const refused = views.find((v) => v.name === (name ?? '') && v.status === 'refused');
    if (refused)
      throw fail(
        'DeploymentRefused',
        `deployment: ${refused.name} was refused at start: ${refused.problems.join('; ')}`,
      );
    if (found) throw fail('DeploymentNotFound', `deployment: ${found.spec.name} has no batch block`);
    throw fail(
      'DeploymentNotFound',
      name === undefined
        ? `deployment: none given and no deployment is marked "default": true (ready: ${ready.join(', ') || 'none'})`
        : `deployment: unknown deployment "${name}" (ready: ${ready.join(', ') || 'none'})`,
    );
  };

  const layoutOf = async (name: string, model: ResolvedModel, refresh = false): Promise<BatchLayout> => {
    const id = `${name}/${model.name}@${model.version}`;
    const cached = refresh ? undefined : layouts.get(id);
    if (cached) return cached;
    const deployment = deploymentOf(name);
    const loaded = scorer.registry.get(model.name, model.version);
    if (!loaded)
      throw fail('ModelNotFound', `model ${model.name}@${model.version} is not loaded on this worker`);
    let planned = planBatchLayout(deployment, loaded, await describeBatchTables(pool, deployment));
    if (refresh && planned.ok && planned.layout.missing.length > 0 && planned.layout.creatable) {
      // The source was loaded after the worker started (so its generic sink was not created then): create it now.
      await createSinkTables(pool, planned.layout.sink);
      planned = planBatchLayout(deployment, loaded, await describeBatchTables(pool, deployment));
    }
    if (!planned.ok)
      throw fail(
        'DeploymentMismatch',
        `deployment ${name} does not fit its tables or ${loaded.ref}: ${planned.problems.join('; ')}`,
      );
    layouts.set(id, planned.layout);
    return planned.layout;
  };

  /** A monitored deployment's pages count their drift histograms as they are scored (activities/drift-tally.ts). */
  const tallyOf = (input: ChunkInput, layout: BatchLayout) => {
    const loaded = scorer.registry.get(input.model.name, input.model.version);
    const plan = deploymentOf(input.deployment).spec.monitoring && loaded ? tallyPlan(loaded) : undefined;
    if (!plan) return undefined;
    return (page: Page, out: ScoreOutput) => {
      const performance =
        layout.labelled && loaded ? tallyPerformance(loaded, page, out.predictions) : undefined;
      return tallyStatement(input.runId, keyText(page, layout.source.key.type, 0), {
        ...tallyPage(plan, page.records, out.predictions),
        ...(performance ? { performance } : {}),
      });
    };
  };

  return {
    /**
     * Resolves the deployment and its model once for the whole run, planning its tables afresh (a source loaded
     * since the worker started is scored, its generic sink created); an unknown deployment or model, a missing
     * table or a mapping that no longer fits fails without retries.
     */
    async resolveBatchRun(input: { deployment?: string; model?: string }): Promise<ResolvedBatchRun> {
      const deployment = deploymentOf(input.deployment);
      const spec = deployment.spec;
      const source = spec.batch?.source.table ?? '';
      if ((await missingTables(pool, [source])).length > 0)
        throw fail('MissingTable', sourceMissing(deployment));
      const sinks = sinkTables(spec);
      // A generic sink (no renames) is created by the plan below; a mapped one is the user's table.
      const mapped = Object.keys(spec.batch?.sink.columns ?? {}).length > 0;
      const missing = await missingTables(pool, [
        ...(mapped ? [sinks.table, sinks.rejected] : []),
        'batch_runs',
      ]);
      if (missing.length > 0)
        throw fail('MissingTable', `table ${missing.join(', ')} does not exist (run npm run migrate)`);
      let model: ResolvedModel;
      try {
        model = await scorer.resolve(input.model ?? spec.model);
      } catch (err) {
        if (err instanceof ModelNotFoundError) throw fail('ModelNotFound', err.message);
        throw err;
      }
      const layout = await layoutOf(spec.name, model, true);
      return {
        deployment: spec.name,
        model: { name: model.name, version: model.version },
        eventTime: layout.source.eventTime !== undefined,
        task: layout.task.kind,
      };
    },

    /** Counts the rows from `start` on and cuts up to `maxChunks` chunks of `chunkSize` rows by page order. */
    async planChunks(input: {
      deployment: string;
      model: ResolvedModel;
      from: string;
      to: string;
      start?: PageKey;
      chunkSize: number;
      maxChunks: number;
      firstIndex: number;
    }): Promise<{ remainingRows: number; chunks: ChunkPlan[]; next: PageKey | null }> {
      const layout = await layoutOf(input.deployment, input.model);
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 2_000); // alive while the index scan runs
      let keys: Awaited<ReturnType<typeof planKeys>>;
      try {
        // The first plan of a partition (no cursor yet): rejections of earlier runs of this version on its rows go.
        if (!input.start) await clearEarlierRejections(pool, layout.source, layout.sink, input, input.model);
        keys = await planKeys(
          pool,
          layout.source,
          { from: input.from, to: input.to, ...(input.start ? { start: input.start } : {}) },
          input.chunkSize,
          input.maxChunks,
        );
      } finally {
        clearInterval(beat);
      }
      const { rows, starts } = keys;
      const planned = starts.slice(0, input.maxChunks);
      const next = starts[input.maxChunks] ?? null;
      const chunks = planned.map((start, i) => ({
        index: input.firstIndex + i,
        start,
        end: starts[i + 1] ?? null,
        rows: Math.min(input.chunkSize, rows - i * input.chunkSize),
      }));
      return { remainingRows: rows, chunks, next };
    },

    /**
     * Scores one chunk in batches, committing each batch (with the run's progress, announced on batch_progress) and
     * heartbeating its last key; idempotent by key.
     */
    async scoreChunk(input: ChunkInput): Promise<BatchTotals> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as ChunkCheckpoint | undefined;
      const totals = resumed?.totals ?? emptyTotals();
      const layout = await layoutOf(input.deployment, input.model);
      const tally = tallyOf(input, layout);
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await scoreChunkPages({
          client,
          scorer: pageScorer,
          layout,
          model: input.model,
          runId: input.runId,
          range: {
            from: input.from,
            to: input.to,
            start: input.chunk.start,
            end: input.chunk.end,
            ...(resumed?.after ? { after: resumed.after } : {}),
          },
          batchRows: input.batchRows ?? DEFAULT_BATCH_ROWS,
          totals,
          cancelled: () => ctx.cancellationSignal.aborted,
          committed: (after) => ctx.heartbeat({ after, totals } satisfies ChunkCheckpoint),
          ...(tally ? { tally } : {}),
          progress: (rowsDone, done) =>
            chunkProgressStatement({
              runId: input.runId,
              workflowId: input.runId.slice(0, input.runId.lastIndexOf('/')), // run id: <workflow id>/<run id>
              deployment: input.deployment,
              partition: partitionKey({ from: input.from, to: input.to }),
              chunk: input.chunk.index,
              rowsDone,
              done,
              chunksTotal: input.planned?.chunksTotal ?? null,
              rowsTotal: input.planned?.rowsTotal ?? null,
            }),
        });
        return totals;
      } catch (err) {
        // After any failure the connection may be unusable (Postgres restarted): discard it, the pool makes another.
        broken = err as Error;
        if (err instanceof CancelledFailure) throw err;
        // SQL class 42 (undefined column/table, syntax): a deploy/schema mismatch no retry can fix.
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('42'))
          throw fail('SchemaError', `${(err as Error).message} (SQLSTATE ${code})`, err as Error);
        throw err;
      } finally {
        client.release(broken);
      }
    },
  };
}
