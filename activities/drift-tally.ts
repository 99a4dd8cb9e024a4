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
