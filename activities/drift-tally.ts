/**
 * A batch run's drift histograms, counted page by page while the rows are in memory (the chunk already holds each
 * page's records and predictions), so the run's drift window needs no second scan of the partition. Bins are the
 * SQL histograms' (db/queries/drift.ts): a numeric value's bin is the number of reference edges at or below it
 * (width_bucket), a categorical value's bin its text; a missing value is not counted.
 */
import {
  PREDICTION_FIELD,
  type BinCounts,
  type FieldProfile,
  type PerformanceRow,
  type PerformanceTally,
  type ReferenceProfile,
} from '../contracts/monitoring.js';
import type { FieldRecord, ScoreOutput } from '../contracts/scoring.js';
import type { LoadedModel } from '../scoring/load-model.js';
import { predictionOf, signatureFields } from './drift-samples.js';

type Binned = { field: string; edges: readonly number[] | undefined };

/** What a page is counted by: the profiled signature fields, then the prediction (when the card profiles it). */
export interface TallyPlan {
  fields: Binned[];
  prediction: Binned | undefined;
}

const binned = (field: string, ref: FieldProfile): Binned => ({
  field,
  edges: ref.kind === 'numeric' ? ref.edges : undefined,
});

/** The plan of a version whose card has a reference profile; undefined without one. */
export function tallyPlan(model: LoadedModel): TallyPlan | undefined {
  const reference = model.card.monitoring?.reference as ReferenceProfile | undefined;
  if (!reference?.features) return undefined;
  const fields = signatureFields(model).flatMap(({ field }) => {
    const ref = reference.features[field];
    return ref ? [binned(field, ref)] : [];
  });
  const prediction =
    reference.prediction && predictionOf(model) ? binned(PREDICTION_FIELD, reference.prediction) : undefined;
  return { fields, prediction };
}

/** The fields a run's window reports, in the order the SQL path reports them. */
export const tallyOrder = (plan: TallyPlan): string[] => [
  ...plan.fields.map((f) => f.field),
  ...(plan.prediction ? [plan.prediction.field] : []),
];

/** width_bucket(v, edges): how many of the sorted edges are at or below v (NaN sorts above every number). */
export function bucket(v: number, edges: readonly number[]): number {
  if (Number.isNaN(v)) return edges.length;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((edges[mid] ?? 0) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function binOf(value: unknown, edges: readonly number[] | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (!edges) {
    if (typeof value === 'string') return value;
    return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean'
      ? String(value)
      : undefined; // a record field of the source is a scalar; anything else is not a category
  }
  const v =
    typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  if (typeof value !== 'number' && Number.isNaN(v)) return undefined; // not a number: SQL's cast would fail too
  return String(bucket(v, edges));
}

function count(into: Record<string, number>, bin: string | undefined): void {
  if (bin !== undefined) into[bin] = (into[bin] ?? 0) + 1;
}

/** One page's histograms: every record read (scored or rejected), and the predictions of the scored ones. */
export function tallyPage(
  plan: TallyPlan,
  records: readonly FieldRecord[],
  predictions: ScoreOutput['predictions'],
): BinCounts {
  const fields: Record<string, Record<string, number>> = {};
  for (const f of plan.fields) {
    const into: Record<string, number> = (fields[f.field] = {});
    for (const r of records) count(into, binOf(r[f.field], f.edges));
  }
  if (plan.prediction) {
    const into: Record<string, number> = (fields[plan.prediction.field] = {});
    for (let i = 0; i < records.length; i++) count(into, binOf(predictions[i], plan.prediction.edges));
  }
  return { rows: records.length, fields };
}

/** A page's labels as the chunk read them from the source (absent without a label column). */
export interface PageLabels {
  numericLabels?: Float64Array | undefined;
  labels?: (string | number | null)[] | undefined;
}

/**
 * The page's labelled rows summed the way the window's performance query reads the sink: regression errors (and
 * those whose label is inside the card's target range), or per true class the rows and the right answers.
 */
export function tallyPerformance(
  model: LoadedModel,
  page: PageLabels,
  predictions: ScoreOutput['predictions'],
): PerformanceTally | undefined {
  const t: PerformanceTally = { labelled: 0, sumAbs: 0, sumSq: 0 };
  if (model.task.kind === 'regression' && page.numericLabels) {
    const range = model.card.target?.range;
    const inside = range ? (t.inRange = { labelled: 0, sumAbs: 0, sumSq: 0 }) : undefined;
    page.numericLabels.forEach((y, i) => {
      const p = predictions[i];
      if (typeof p !== 'number' || Number.isNaN(y)) return;
      const d = Math.abs(p - y);
      t.labelled++;
      t.sumAbs += d;
      t.sumSq += d * d;
      if (inside && range && y >= range[0] && y <= range[1]) {
        inside.labelled++;
        inside.sumAbs += d;
        inside.sumSq += d * d;
      }
    });
    return t;
  }
  if (model.task.kind === 'classification' && page.labels) {
    const classes: Record<string, { labelled: number; right: number }> = (t.classes = {});
    page.labels.forEach((y, i) => {
      const p = predictions[i];
      if (y === null || p === null || p === undefined) return;
      const c = (classes[String(y)] ??= { labelled: 0, right: 0 });
      t.labelled++;
      c.labelled++;
      if (String(p) === String(y)) c.right++;
    });
    return t;
  }
  return undefined;
}

/** Two pages' sums added. */
export function addPerformance(a: PerformanceTally | undefined, b: PerformanceTally): PerformanceTally {
  if (!a) return structuredClone(b);
  a.labelled += b.labelled;
  a.sumAbs += b.sumAbs;
  a.sumSq += b.sumSq;
  if (b.inRange) {
    const r = (a.inRange ??= { labelled: 0, sumAbs: 0, sumSq: 0 });
    r.labelled += b.inRange.labelled;
    r.sumAbs += b.inRange.sumAbs;
    r.sumSq += b.inRange.sumSq;
  }
  for (const [label, c] of Object.entries(b.classes ?? {})) {
    const into = ((a.classes ??= {})[label] ??= { labelled: 0, right: 0 });
    into.labelled += c.labelled;
    into.right += c.right;
  }
  return a;
}

/** The window's performance row from the run's sums (null without a labelled row), as the SQL would give it. */
export function performanceOf(
  t: PerformanceTally | undefined,
  version: string,
  window: string,
): PerformanceRow | null {
  if (!t || t.labelled === 0) return null;
  const base: PerformanceRow = { mode: 'batch', version, window, labelled: t.labelled };
  if (t.classes) {
    const classes = Object.entries(t.classes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      ...base,
      accuracy: classes.reduce((s, [, c]) => s + c.right, 0) / t.labelled,
      perClass: classes.map(([label, c]) => ({ label, labelled: c.labelled, recall: c.right / c.labelled })),
    };
  }
  const r = t.inRange;
  return {
    ...base,
    mae: t.sumAbs / t.labelled,
    rmse: Math.sqrt(t.sumSq / t.labelled),
    ...(r
      ? {
          inRange: {
            labelled: r.labelled,
            mae: r.labelled ? r.sumAbs / r.labelled : null,
            rmse: r.labelled ? Math.sqrt(r.sumSq / r.labelled) : null,
          },
        }
      : {}),
  };
}
