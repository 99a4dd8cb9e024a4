/**
 * One model's figure on labelled records, scored by ONNX Runtime through the same path every mode uses
 * (scoreRows): accuracy or log loss for a classifier, MAE or RMSE for a regression. Rows the model refuses (a field
 * outside its signature) are counted, not scored.
 */
import type { FieldRecord } from '../contracts/scoring.js';
import type { RetrainingMetric } from '../contracts/retraining.js';
import type { LoadedModel } from './load-model.js';
import { valueAt } from './predictions.js';
import { scoreRows } from './scorer.js';

export interface LabelledRecord {
  record: FieldRecord;
  label: number | string;
}

export interface Evaluation {
  value: number | null;
  scored: number;
  rejected: number;
}

/** Whether a larger value of the metric is better. */
export const higherIsBetter = (metric: RetrainingMetric) => metric === 'accuracy';

/** Why a metric does not fit a model's task, or null. */
export function metricProblem(model: LoadedModel, metric: RetrainingMetric): string | null {
  const kind = model.task.kind;
  if ((metric === 'mae' || metric === 'rmse') && kind !== 'regression')
    return `metric ${metric} needs a regression; ${model.ref} is a ${kind} model`;
  if ((metric === 'accuracy' || metric === 'log_loss') && kind !== 'classification')
    return `metric ${metric} needs a classifier; ${model.ref} is a ${kind} model`;
  if (metric === 'log_loss' && model.task.kind === 'classification' && !model.task.probabilities)
    return `metric log_loss needs class probabilities; ${model.ref} serves none`;
  return null;
}

const EPSILON = 1e-15;

export async function evaluate(
  model: LoadedModel,
  rows: readonly LabelledRecord[],
  metric: RetrainingMetric,
): Promise<Evaluation> {
  const problem = metricProblem(model, metric);
  if (problem) throw new Error(problem);
  const out = await scoreRows(
    model,
    rows.map((r) => r.record),
  );
  const scored = out.scored.length;
  let sum = 0;
  const task = model.task;
  for (let k = 0; k < scored; k++) {
    const row = rows[out.scored[k] ?? 0];
    if (!row) continue;
    if (metric === 'accuracy')
      sum += String(out.predictions[out.scored[k] ?? 0]) === String(row.label) ? 1 : 0;
    else if (metric === 'log_loss' && task.kind === 'classification' && task.probabilities) {
      const probs = out.outputs[task.probabilities];
      const j = task.classes.map(String).indexOf(String(row.label));
      const p = probs && j >= 0 ? Number(valueAt(probs, k, j)) : 0;
      sum += -Math.log(Math.min(1 - EPSILON, Math.max(EPSILON, p)));
    } else {
      const d = Number(out.predictions[out.scored[k] ?? 0]) - Number(row.label);
      sum += metric === 'mae' ? Math.abs(d) : d * d;
    }
  }
  const mean = scored === 0 ? null : sum / scored;
  return {
    value: mean === null ? null : metric === 'rmse' ? Math.sqrt(mean) : mean,
    scored,
    rejected: rows.length - scored,
  };
}
