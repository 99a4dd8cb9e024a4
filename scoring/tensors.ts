/**
 * Raw tensors straight into a version's session (the V2 protocol's path): requests' columns are concatenated, run
 * in sub-batches of the model's `maxBatchRows`, and every served output is split back per request.
 */
import ort from 'onnxruntime-node';
import type { OutputColumn, OutputData } from '../contracts/scoring.js';
import { sliceColumn } from './batcher.js';
import { allocate, type TensorData } from './features.js';
import type { LoadedModel } from './load-model.js';

/** N rows of one request, one typed column per graph input (row-major for `[-1, n]` inputs). */
export interface TensorRows {
  rows: number;
  columns: Map<string, TensorData>;
}

export type TensorOutputs = Record<string, OutputColumn>;

function concat(parts: TensorData[]): TensorData {
  const first = parts[0];
  if (parts.length === 1 && first) return first;
  if (Array.isArray(first)) return (parts as string[][]).flat();
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new (first?.constructor as new (n: number) => Exclude<TensorData, string[]>)(total);
  let offset = 0;
  for (const part of parts) {
    (out as Float32Array).set(part as Float32Array, offset);
    offset += part.length;
  }
  return out;
}

const slice = (data: TensorData, from: number, to: number): TensorData =>
  Array.isArray(data) ? data.slice(from, to) : data.subarray(from, to);

export async function runTensors(model: LoadedModel, inputs: TensorRows[]): Promise<TensorOutputs[]> {
  const total = inputs.reduce((n, i) => n + i.rows, 0);
  const columns = model.rules.map((rule) => ({
    rule,
    data: concat(inputs.map((i) => i.columns.get(rule.input) ?? allocate(rule.dtype, i.rows * rule.width))),
  }));
  const outputs: TensorOutputs = {};
  for (const o of model.outputs)
    outputs[o.name] = { dtype: o.dtype, width: o.width, data: allocate(o.dtype, total * o.width) };
  const fetches = model.outputs.map((o) => o.name);
  for (let from = 0; from < total; from += model.maxBatchRows) {
    const to = Math.min(total, from + model.maxBatchRows);
    const feeds: Record<string, ort.Tensor> = {};
    for (const { rule, data } of columns)
      feeds[rule.input] = new ort.Tensor(
        rule.dtype,
        slice(data, from * rule.width, to * rule.width),
        rule.flat ? [to - from] : [to - from, rule.width],
      );
    const result = await model.session.run(feeds, fetches);
    for (const o of model.outputs) {
      const t = result[o.name];
      if (!t) throw new Error(`${model.ref}: the graph returned no "${o.name}"`);
      const target = outputs[o.name]?.data as OutputData;
      const data = t.data as OutputData;
      if (Array.isArray(target)) (data as string[]).forEach((v, i) => (target[from * o.width + i] = v));
      else (target as Float32Array).set(data as Float32Array, from * o.width);
    }
  }
  const results: TensorOutputs[] = [];
  let offset = 0;
  for (const input of inputs) {
    const mine: TensorOutputs = {};
    for (const [name, column] of Object.entries(outputs))
      mine[name] = sliceColumn(column, offset, offset + input.rows);
    results.push(mine);
    offset += input.rows;
  }
  return results;
}
