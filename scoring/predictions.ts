/**
 * What a scored row means, by the card's task: the primary value (regression value or class label) every mode
 * stores, and the JSON prediction an online or stream answer carries (regression: `{<name>: value}`;
 * classification: `{label, probabilities: {class: p}}`; named outputs: `{<output>: value or list}`).
 */
import type {
  OutputColumn,
  Prediction,
  PredictionValue,
  Primary,
  ScoreOutput,
} from '../contracts/scoring.js';
import type { TaskView } from './graph-check.js';

interface Interpreted {
  task: TaskView;
  outputs: readonly { name: string }[];
}

/** Value `j` of scored row `k` as JSON: bigints become numbers, bool tensors booleans. */
export function valueAt(column: OutputColumn, k: number, j = 0): number | string | boolean {
  const v = column.data[k * column.width + j];
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (column.dtype === 'bool') return v === 1;
  return v ?? Number.NaN;
}

function rowOf(column: OutputColumn, k: number): PredictionValue {
  if (column.width === 1) return valueAt(column, k);
  const values = Array.from({ length: column.width }, (_, j) => valueAt(column, k, j));
  return values.every((v) => typeof v === 'string') ? values : values.map(Number);
}

function primaryOf(model: Interpreted, outputs: Record<string, OutputColumn>): OutputColumn | undefined {
  const { task } = model;
  const name =
    task.kind === 'regression'
      ? task.output
      : task.kind === 'classification'
        ? task.label
        : model.outputs[0]?.name;
  return name === undefined ? undefined : outputs[name];
}

/** The primary value per input row (null where rejected). */
export function primaries(
  model: Interpreted,
  valid: Int32Array,
  count: number,
  rows: number,
  outputs: Record<string, OutputColumn>,
): Primary[] {
  const out = new Array<Primary>(rows).fill(null);
  const column = primaryOf(model, outputs);
  if (!column) return out;
  for (let k = 0; k < count; k++) {
    const v = valueAt(column, k);
    out[valid[k] ?? 0] = typeof v === 'boolean' ? Number(v) : v;
  }
  return out;
}

/** The JSON prediction of scored row `k`. */
export function predictionAt(model: Interpreted, out: Pick<ScoreOutput, 'outputs'>, k: number): Prediction {
  const { task } = model;
  if (task.kind === 'regression') {
    const column = out.outputs[task.output];
    return { [task.name]: column ? Number(valueAt(column, k)) : Number.NaN };
  }
  if (task.kind === 'classification') {
    const label = out.outputs[task.label];
    const prediction: Prediction = { label: label ? valueAt(label, k) : '' };
    const probs = task.probabilities ? out.outputs[task.probabilities] : undefined;
    if (probs) {
      const byClass: Record<string, number> = {};
      task.classes.forEach((c, j) => (byClass[String(c)] = Number(valueAt(probs, k, j))));
      prediction.probabilities = byClass;
    }
    return prediction;
  }
  const prediction: Prediction = {};
  for (const o of model.outputs) {
    const column = out.outputs[o.name];
    if (column) prediction[o.name] = rowOf(column, k);
  }
  return prediction;
}
