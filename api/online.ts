/**
 * The online scoring path shared by /predict and the V2 protocol: one dynamic batcher for rides (through the
 * scorer) and one for raw V2 tensors (straight into the version's ONNX session), both feeding the metrics.
 */
import ort from 'onnxruntime-node';
import type { BatchLimits, Config } from '../config.js';
import type { ResolvedModel } from '../contracts/scoring.js';
import { createBatcher, createLaneBatcher, type Batcher, type BatcherOptions } from '../scoring/batcher.js';
import { ModelNotFoundError } from '../scoring/errors.js';
import type { FeatureArray } from '../scoring/features.js';
import type { ModelScorer } from '../scoring/scorer.js';
import type { ApiMetrics } from './metrics.js';

/** N rows of a V2 request, one typed column per model input. */
export interface TensorRows {
  rows: number;
  columns: Map<string, FeatureArray>;
}

/** Scoring requests between entering the app and reaching a batcher; lets an idle lane wait for them. */
export interface Arrivals {
  /** Counts a request in; the returned function (idempotent) counts it out. */
  enter(): () => void;
  pending(): number;
}

export interface Online {
  rides: Batcher;
  tensors: Batcher<TensorRows, Float32Array | Float64Array>;
  arrivals: Arrivals;
}

/** Queues `input` first, then counts the request as arrived, so the last expected arrival joins the batch. */
export function submit<I, O>(
  batcher: Batcher<I, O>,
  model: ResolvedModel,
  input: I,
  arrived?: () => void,
): Promise<O> {
  const result = batcher.score(model, input);
  arrived?.();
  return result;
}

export function batchLimits(config: Config['batching'], model: ResolvedModel): BatchLimits {
  const over = { ...config.perModel[model.name], ...config.perModel[`${model.name}@${model.version}`] };
  return { maxSize: over.maxSize ?? config.maxSize, maxDelayUs: over.maxDelayUs ?? config.maxDelayUs };
}

export function createOnline(config: Config, scorer: ModelScorer, metrics: ApiMetrics): Online {
  let pending = 0;
  const options: BatcherOptions = {
    pendingArrivals: () => pending,
    enabled: config.batching.enabled,
    maxQueue: config.batching.maxQueue,
    limits: (model) => batchLimits(config.batching, model),
    onBatch(model, rows, requests) {
      metrics.batchRows.observe({ model: model.name, version: model.version }, rows);
      metrics.batchRequests.observe({ model: model.name, version: model.version }, requests);
    },
    onQueueDepth: (model, rows) =>
      metrics.queueDepth.set({ model: model.name, version: model.version }, rows),
  };
  const rides = createBatcher(scorer, options);
  const tensors = createLaneBatcher<TensorRows, Float32Array | Float64Array>(
    { rows: (input) => input.rows, run: (model, inputs) => runTensors(scorer, model, inputs) },
    options,
  );
  const arrivals: Arrivals = {
    enter() {
      pending++;
      let counted = true;
      return () => {
        if (!counted) return;
        counted = false;
        pending--;
        if (pending === 0) {
          rides.poke();
          tensors.poke();
        }
      };
    },
    pending: () => pending,
  };
  return { rides, tensors, arrivals };
}

function concat(parts: FeatureArray[], total: number): FeatureArray {
  const first = parts[0];
  if (parts.length === 1 && first) return first;
  const out = first instanceof BigInt64Array ? new BigInt64Array(total) : new Float32Array(total);
  let offset = 0;
  for (const part of parts) {
    (out as Float32Array).set(part as Float32Array, offset);
    offset += part.length;
  }
  return out;
}

/** Runs already-validated V2 columns through the version's session (sub-batched like the scorer does). */
async function runTensors(
  scorer: ModelScorer,
  ref: ResolvedModel,
  inputs: TensorRows[],
): Promise<(Float32Array | Float64Array)[]> {
  const model = scorer.registry.get(ref.name, ref.version);
  if (!model)
    throw new ModelNotFoundError(
      `${ref.name}@${ref.version}`,
      scorer.listModels().map((m) => m.ref),
    );
  const total = inputs.reduce((n, i) => n + i.rows, 0);
  const columns = new Map<string, FeatureArray>();
  for (const name of model.features) {
    columns.set(
      name,
      concat(
        inputs.map((i) => i.columns.get(name) ?? new Float32Array(i.rows)),
        total,
      ),
    );
  }
  const output = new Float32Array(total);
  for (let from = 0; from < total; from += model.maxBatchRows) {
    const to = Math.min(total, from + model.maxBatchRows);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, data] of columns) feeds[name] = new ort.Tensor(data.subarray(from, to), [to - from, 1]);
    const result = await model.session.run(feeds);
    const out = result[model.output];
    if (!out) throw new Error(`${model.ref}: the graph returned no "${model.output}"`);
    output.set(out.data as Float32Array, from);
  }
  const results: Float32Array[] = [];
  let offset = 0;
  for (const input of inputs) {
    results.push(output.subarray(offset, offset + input.rows));
    offset += input.rows;
  }
  return results;
}
