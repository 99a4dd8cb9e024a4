/**
 * The inner loop of a chunk: read a page, score it with the pinned version, write its sink and rejected rows (and
 * the chunk's progress announcement) in one transaction, add its metrics to the totals, report the committed
 * position; until the chunk ends.
 */
import { CancelledFailure } from '@temporalio/common';
import type { BatchTotals, PageKey } from '../contracts/batch.js';
import type { OutputColumn, ResolvedModel, ScoreOutput } from '../contracts/scoring.js';
import type { PoolClient } from '../db/pool.js';
import type { Statement } from '../db/queries/batch-progress.js';
import { keyText, SinkCopy, type Page } from '../db/queries/batch-copy.js';
import { writeScoredBatch, type Rejected } from '../db/queries/batch-sink.js';
import { readPage, type KeyRange } from '../db/queries/batch-source.js';
import type { Scorer } from '../contracts/scoring.js';
import type { BatchLayout } from './batch-layout.js';

export interface ChunkWork {
  client: PoolClient;
  scorer: Scorer;
  layout: BatchLayout;
  model: ResolvedModel;
  runId: string;
  range: KeyRange;
  batchRows: number;
  /** Updated in place after every committed batch. */
  totals: BatchTotals;
  cancelled: () => boolean;
  committed: (after: PageKey) => void;
  /** The chunk's progress statement for its rows done so far (run in each batch's transaction), if announced. */
  progress?: (rowsDone: number, done: boolean) => Statement;
  /** The page's drift histograms as a statement of the same transaction, for a monitored deployment. */
  tally?: (page: Page, out: ScoreOutput) => Statement;
}

/** Regression rows: value, then actual and diff when labelled; returns into `totals`. */
function encodeRegression(
  page: Page,
  out: ScoreOutput,
  copy: SinkCopy,
  labelled: boolean,
  totals: BatchTotals,
): void {
  const labels = page.numericLabels;
  for (let i = 0; i < page.count; i++) {
    const predicted = out.predictions[i];
    if (typeof predicted !== 'number') continue;
    copy.begin(page.buffer, page.keyAt[i] ?? 0, page.keyLength[i] ?? 0);
    copy.float8(predicted);
    if (labelled) {
      const actual = labels?.[i] ?? NaN;
      if (Number.isNaN(actual)) {
        copy.null();
        copy.null();
      } else {
        const diff = predicted - actual;
        copy.float8(actual);
        copy.float8(diff);
        totals.compared++;
        totals.sumSquaredError += diff * diff;
        totals.sumAbsError += Math.abs(diff);
      }
    }
    copy.end();
  }
}

/** Classification rows: label, probabilities by class (jsonb) when served, then actual when labelled. */
function encodeClassification(
  page: Page,
  out: ScoreOutput,
  copy: SinkCopy,
  layout: BatchLayout,
  totals: BatchTotals,
): void {
  const task = layout.task;
  if (task.kind !== 'classification') return;
  const probabilities: OutputColumn | undefined = task.probabilities
    ? out.outputs[task.probabilities]
    : undefined;
  const numeric = task.classes.every((c) => typeof c === 'number');
  const classes = task.classes.map((c) => JSON.stringify(String(c)));
  const scored = out.scored;
  for (let k = 0; k < scored.length; k++) {
    const i = scored[k] ?? 0;
    const label = out.predictions[i] ?? null;
    copy.begin(page.buffer, page.keyAt[i] ?? 0, page.keyLength[i] ?? 0);
    if (numeric) copy.int8(label === null ? null : Number(label));
    else copy.text(label === null ? null : String(label));
    if (probabilities) {
      const w = probabilities.width;
      let json = '{';
      for (let j = 0; j < w; j++)
        json += `${j > 0 ? ',' : ''}${classes[j] ?? '""'}:${Number(probabilities.data[k * w + j])}`;
      copy.jsonb(`${json}}`);
    }
    if (layout.labelled) {
      const actual = page.labels?.[i] ?? null;
      if (numeric) copy.int8(actual === null ? null : Number(actual));
      else copy.text(actual === null ? null : String(actual));
      if (actual !== null) {
        totals.compared++;
        if (String(actual) === String(label)) totals.correct++;
      }
    }
    copy.end();
  }
}

export async function scoreChunkPages(w: ChunkWork): Promise<void> {
  const { client, layout, totals } = w;
  const meta = { modelName: w.model.name, modelVersion: w.model.version, runId: w.runId };
  const range: KeyRange = { ...w.range };
  let announcedDone = false;
  for (;;) {
    if (w.cancelled()) throw new CancelledFailure('chunk cancelled');
    const page = await readPage(client, layout.source, layout.reads, range, w.batchRows);
    if (page.count === 0) break;
    const out = await w.scorer.score(w.model, page.records);
    const copy = new SinkCopy(meta, layout.sink.values.length, out.scored.length);
    if (layout.task.kind === 'regression') encodeRegression(page, out, copy, layout.labelled, totals);
    else encodeClassification(page, out, copy, layout, totals);
    totals.scored += copy.rows;
    const rejected: Rejected[] = out.rejections.map((r) => ({
      key: keyText(page, layout.source.key.type, r.index),
      field: r.field,
      reason: r.reason,
    }));
    totals.rejected += rejected.length;
    const last = page.count < w.batchRows;
    const progress = w.progress?.(totals.scored + totals.rejected, last);
    announcedDone = last && progress !== undefined;
    const tally = w.tally?.(page, out);
    const also = [...(progress ? [progress] : []), ...(tally ? [tally] : [])];
    // Rows go in key order, so a re-run hits its first conflict on the first row: the direct try is cheap.
    await writeScoredBatch(client, layout.sink, meta, copy.rows > 0 ? copy.finish() : null, rejected, {
      also,
    });
    if (page.last) {
      range.after = page.last;
      w.committed(page.last);
    }
    if (last) break;
  }
  // The last batch was full, so the end showed only as an empty read: the chunk is done with nothing to write.
  const done = announcedDone ? undefined : w.progress?.(totals.scored + totals.rejected, true);
  if (done) await client.query(done.text, done.values);
}
