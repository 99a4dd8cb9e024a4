/**
 * Activities of batch scoring: pin the model, plan a partition into key-range chunks, and score + load one chunk.
 * Only bounds, counts and totals cross Temporal; rows go Postgres -> scorer -> Postgres inside `scoreChunk`.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { emptyTotals, type BatchTotals, type ChunkPlan, type RideKey } from '../contracts/batch.js';
import type { ResolvedModel, Scorer } from '../contracts/scoring.js';
import type { Pool } from '../db/pool.js';
import {
  missingTables,
  planKeys,
  readRidePage,
  writeScoredBatch,
  type Rejected,
} from '../db/queries/batch.js';
import { PredictionCopy } from '../db/queries/batch-copy.js';
import { ModelNotFoundError } from '../scoring/errors.js';

export const BATCH_TABLES = ['rides', 'predictions', 'rejected_rows', 'batch_runs'] as const;
/** Rows read, scored and written per transaction inside a chunk (also the heartbeat/resume granularity). */
export const DEFAULT_BATCH_ROWS = 25_000;

export interface ChunkInput {
  runId: string;
  from: string;
  to: string;
  chunk: ChunkPlan;
  model: ResolvedModel;
  batchRows?: number;
}

/** Checkpoint heartbeated after every committed batch; a retried attempt resumes after `after`. */
export interface ChunkCheckpoint {
  after: RideKey;
  totals: BatchTotals;
}

export function createBatchActivities(deps: { pool: Pool; scorer: Scorer }) {
  const { pool, scorer } = deps;
  return {
    /** Resolves the model once for the whole run; unknown models and missing tables fail without retries. */
    async resolveBatchModel(input: { ref: string }): Promise<ResolvedModel> {
      const missing = await missingTables(pool, BATCH_TABLES);
      if (missing.length > 0)
        throw ApplicationFailure.create({
          type: 'MissingTable',
          message: `table ${missing.join(', ')} does not exist (run npm run migrate)`,
          nonRetryable: true,
        });
      try {
        return await scorer.resolve(input.ref);
      } catch (err) {
        if (err instanceof ModelNotFoundError)
          throw ApplicationFailure.create({
            type: 'ModelNotFound',
            message: err.message,
            nonRetryable: true,
          });
        throw err;
      }
    },

    /** Counts the rows from `start` on and cuts up to `maxChunks` chunks of `chunkSize` rows by key. */
    async planChunks(input: {
      from: string;
      to: string;
      start?: RideKey;
      chunkSize: number;
      maxChunks: number;
      firstIndex: number;
    }): Promise<{ remainingRows: number; chunks: ChunkPlan[]; next: RideKey | null }> {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 2_000); // alive while the index scan runs
      let keys: Awaited<ReturnType<typeof planKeys>>;
      try {
        keys = await planKeys(
          pool,
          { from: input.from, to: input.to, start: input.start },
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

    /** Scores one chunk in batches, committing each batch and heartbeating its last key; idempotent by key. */
    async scoreChunk(input: ChunkInput): Promise<BatchTotals> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as ChunkCheckpoint | undefined;
      let after = resumed?.after;
      const totals = resumed?.totals ?? emptyTotals();
      const batchRows = input.batchRows ?? DEFAULT_BATCH_ROWS;
      const meta = { modelName: input.model.name, modelVersion: input.model.version, runId: input.runId };
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        for (;;) {
          if (ctx.cancellationSignal.aborted) throw new CancelledFailure('chunk cancelled');
          const page = await readRidePage(
            client,
            { from: input.from, to: input.to, start: input.chunk.start, end: input.chunk.end, after },
            batchRows,
          );
          const n = page.ids.length;
          if (n === 0) break;
          const out = await scorer.score(input.model, page.rides);
          const copy = new PredictionCopy(meta, n);
          for (let i = 0; i < n; i++) {
            const predicted = out.predictions[i];
            if (predicted === null || predicted === undefined) continue;
            const diff = copy.add(page.ids[i] as string, predicted, page.actual[i] as number);
            if (diff !== null) {
              totals.compared++;
              totals.sumSquaredError += diff * diff;
              totals.sumAbsError += Math.abs(diff);
            }
          }
          totals.scored += copy.rows;
          const rejected: Rejected[] = out.rejections.map((r) => ({
            rideId: page.ids[r.index] ?? '',
            field: r.field,
            reason: r.reason,
          }));
          totals.rejected += rejected.length;
          // Rows go in key order, so a re-run hits its first conflict on the first row: the direct try is cheap.
          await writeScoredBatch(client, meta, copy.rows > 0 ? copy.finish() : null, rejected);
          after = page.last ?? after;
          if (after) ctx.heartbeat({ after, totals } satisfies ChunkCheckpoint);
          if (n < batchRows) break;
        }
        return totals;
      } catch (err) {
        // After any failure the connection may be unusable (Postgres restarted): discard it, the pool makes another.
        broken = err as Error;
        // SQL class 42 (undefined column/table, syntax): a deploy/schema mismatch no retry can fix.
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('42'))
          throw ApplicationFailure.create({
            type: 'SchemaError',
            message: `${(err as Error).message} (SQLSTATE ${code})`,
            nonRetryable: true,
            cause: err as Error,
          });
        throw err;
      } finally {
        client.release(broken);
      }
    },
  };
}
