/**
 * Dynamic batching for the online service: concurrent requests for the same model version are coalesced into one
 * `scorer.score` call (one ONNX run). onnxruntime-node runs a session synchronously on the main thread (deferred by
 * setImmediate), so the win is amortising the per-run cost, and a batch only forms from requests that reach the
 * batcher close together. A lane that is idle, with no other request known to be on its way
 * (`pendingArrivals`), dispatches at once: a lone request pays no wait. Otherwise requests queue and go together
 * when the run in flight finishes, when the last expected arrival is in, when `maxSize` rows wait, or when the
 * oldest has waited `maxDelayUs` (timers have 1 ms granularity, so it is rounded up to whole ms). With
 * `maxDelayUs = 0` nothing is ever held on purpose: only requests that queue behind a run in flight coalesce.
 */
import type { BatchLimits } from '../config.js';
import type { FieldRecord, OutputColumn, ResolvedModel, ScoreOutput, Scorer } from '../contracts/scoring.js';

/** The limits of one lane: the configuration's type (DYNAMIC_BATCH_*), defined once there. */
export type { BatchLimits };

export interface BatcherOptions {
  enabled: boolean;
  /** Rows allowed to wait per model version; beyond it `score` throws QueueFullError. */
  maxQueue: number;
  /** Read once per model version (its lane), not per request. */
  limits(model: ResolvedModel): BatchLimits;
  /** Called once per scorer call with the rows and requests it carried. */
  onBatch?(model: ResolvedModel, rows: number, requests: number): void;
  /**
   * Requests known to be on their way (e.g. HTTP requests still parsing). While any are, an idle lane holds what
   * it has (up to maxDelayUs) so they can join; when none are, an idle lane dispatches at once. Call `poke()` when
   * the count drops.
   */
  pendingArrivals?(): number;
  /** Rows waiting (not yet dispatched) in a lane, after every change. */
  onQueueDepth?(model: ResolvedModel, rows: number): void;
}

/** The lane of a model version is full: the caller should retry later (HTTP 503 + Retry-After). */
export class QueueFullError extends Error {
  constructor(
    readonly model: ResolvedModel,
    readonly queued: number,
    readonly limit: number,
  ) {
    super(`${model.name}@${model.version} has ${queued} rows waiting (limit ${limit}); retry shortly`);
    this.name = 'QueueFullError';
  }
}

interface Pending<I, O> {
  input: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

interface Lane<I, O> {
  model: ResolvedModel;
  /** `options.limits(model)`, read once per lane: it is consulted on every request. */
  limits: BatchLimits;
  queue: Pending<I, O>[];
  queuedRows: number;
  /** The depth last reported to `onQueueDepth`, so an unchanged depth is not reported again. */
  reportedRows: number;
  inFlight: number;
  timer: NodeJS.Timeout | undefined;
}

export interface Batcher<I = readonly FieldRecord[], O = ScoreOutput> {
  score(model: ResolvedModel, input: I): Promise<O>;
  /** Rows waiting across all lanes. */
  queued(): number;
  /** Dispatches idle lanes that hold requests (call when pendingArrivals() drops to zero). */
  poke(): void;
}

/** How one kind of request is sized, run together, and handed back (one output per input, in order). */
export interface BatchRunner<I, O> {
  rows(input: I): number;
  run(model: ResolvedModel, inputs: I[]): Promise<O[]>;
}

/** Several requests' records scored in one call: the rows are concatenated, the output split back per request. */
export async function scoreAsOne(
  score: (model: ResolvedModel, records: readonly FieldRecord[]) => Promise<ScoreOutput>,
  model: ResolvedModel,
  inputs: (readonly FieldRecord[])[],
): Promise<ScoreOutput[]> {
  if (inputs.length === 1) return [await score(model, inputs[0] ?? [])];
  return split(await score(model, inputs.flat()), inputs);
}

/** Records through the shared scorer, each lane's batch as one call (`scoreAsOne`). */
export function createBatcher(scorer: Pick<Scorer, 'score'>, options: BatcherOptions): Batcher {
  return createLaneBatcher<readonly FieldRecord[], ScoreOutput>(
    {
      rows: (input) => input.length,
      run: (model, inputs) => scoreAsOne((m, records) => scorer.score(m, records), model, inputs),
    },
    options,
  );
}

/** The batching core, generic over what a request carries (records here, raw tensors for the V2 protocol). */
export function createLaneBatcher<I, O>(runner: BatchRunner<I, O>, options: BatcherOptions): Batcher<I, O> {
  const lanes = new Map<string, Lane<I, O>>();
  // Runs in flight over all lanes: ONNX runs take the main thread one after another, so a request for an idle
  // lane waits behind another lane's run anyway; it queues there too and coalesces with what comes meanwhile
  // (a canary's lane then runs fewer, larger batches instead of one run per request).
  let inFlightTotal = 0;

  const laneFor = (model: ResolvedModel): Lane<I, O> => {
    const key = `${model.name}@${model.version}`;
    let lane = lanes.get(key);
    if (!lane) {
      lane = {
        model,
        limits: options.limits(model),
        queue: [],
        queuedRows: 0,
        reportedRows: -1,
        inFlight: 0,
        timer: undefined,
      };
      lanes.set(key, lane);
    }
    return lane;
  };

  const run = (lane: Lane<I, O>, batch: Pending<I, O>[], rows: number) => {
    lane.inFlight++;
    inFlightTotal++;
    options.onBatch?.(lane.model, rows, batch.length);
    runner
      .run(
        lane.model,
        batch.map((p) => p.input),
      )
      .then(
        (outs) => batch.forEach((p, i) => p.resolve(outs[i] as O)),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => {
        lane.inFlight--;
        inFlightTotal--;
        if (lane.queue.length > 0) flush(lane);
        // Every other lane that queued behind this run gets its run now (no lane waits on another's backlog).
        for (const other of lanes.values())
          if (other !== lane && other.inFlight === 0 && other.queue.length > 0) flush(other);
      })
      .catch(() => undefined);
  };

  const flush = (lane: Lane<I, O>) => {
    clearTimeout(lane.timer);
    lane.timer = undefined;
    const { maxSize } = lane.limits;
    while (lane.queue.length > 0) {
      const batch: Pending<I, O>[] = [];
      let rows = 0;
      // Always take at least one request, even one larger than maxSize.
      while (lane.queue.length > 0) {
        const next = lane.queue[0] as Pending<I, O>;
        const size = runner.rows(next.input);
        if (batch.length > 0 && rows + size > maxSize) break;
        lane.queue.shift();
        batch.push(next);
        rows += size;
      }
      lane.queuedRows -= rows;
      run(lane, batch, rows);
      // One run per flush while others are in flight: the rest waits for the next completion or timer.
      if (lane.queuedRows < maxSize) break;
    }
    reportDepth(lane);
    if (lane.queue.length > 0) arm(lane);
  };

  const reportDepth = (lane: Lane<I, O>) => {
    if (lane.queuedRows === lane.reportedRows) return;
    lane.reportedRows = lane.queuedRows;
    options.onQueueDepth?.(lane.model, lane.queuedRows);
  };

  const arm = (lane: Lane<I, O>) => {
    const { maxDelayUs } = lane.limits;
    if (lane.timer || maxDelayUs === 0) return;
    lane.timer = setTimeout(() => flush(lane), Math.ceil(maxDelayUs / 1000));
  };

  const runAlone = async (model: ResolvedModel, input: I, size: number): Promise<O> => {
    options.onBatch?.(model, size, 1);
    const [out] = await runner.run(model, [input]);
    return out as O;
  };

  return {
    score(model, input) {
      const size = runner.rows(input);
      if (!options.enabled) return runAlone(model, input, size);
      const lane = laneFor(model);
      if (lane.queuedRows + size > options.maxQueue && lane.queue.length > 0) {
        return Promise.reject(new QueueFullError(model, lane.queuedRows, options.maxQueue));
      }
      return new Promise<O>((resolve, reject) => {
        lane.queue.push({ input, resolve, reject });
        lane.queuedRows += size;
        const { maxSize, maxDelayUs } = lane.limits;
        // A run in flight (any lane): wait for it (its completion flushes). Otherwise: hold only for requests known
        // to be on their way, and only when a delay is allowed; maxDelayUs = 0 is purely opportunistic batching.
        const busy = inFlightTotal > 0;
        const expecting = maxDelayUs > 0 && (options.pendingArrivals?.() ?? 0) > 0;
        if (lane.queuedRows >= maxSize || (!busy && !expecting)) flush(lane);
        else {
          reportDepth(lane);
          if (maxDelayUs > 0) arm(lane);
        }
      });
    },
    queued() {
      let total = 0;
      for (const lane of lanes.values()) total += lane.queuedRows;
      return total;
    },
    poke() {
      for (const lane of lanes.values()) if (lane.inFlight === 0 && lane.queue.length > 0) flush(lane);
    },
  };
}

/** Rows `from` to `to` of a row-major output column (a view, no copy). */
export function sliceColumn(column: OutputColumn, from: number, to: number): OutputColumn {
  const { width, data } = column;
  const part = Array.isArray(data)
    ? data.slice(from * width, to * width)
    : data.subarray(from * width, to * width);
  return { dtype: column.dtype, width, data: part };
}

/**
 * Hands each request its slice of a coalesced result: its predictions, its scored rows (indices made relative to its
 * own rows; scored rows come in input order, so each request's are one contiguous range of the outputs) and its
 * rejections.
 */
function split(out: ScoreOutput, inputs: (readonly FieldRecord[])[]): ScoreOutput[] {
  const results: ScoreOutput[] = [];
  let offset = 0;
  let r = 0;
  let k = 0;
  const rejections = [...out.rejections].sort((a, b) => a.index - b.index);
  for (const rows of inputs) {
    const end = offset + rows.length;
    const mine = [];
    while (r < rejections.length && (rejections[r]?.index ?? end) < end) {
      const rej = rejections[r++];
      if (rej) mine.push({ ...rej, index: rej.index - offset });
    }
    const first = k;
    while (k < out.scored.length && (out.scored[k] ?? end) < end) k++;
    const scored = out.scored.slice(first, k).map((i) => i - offset);
    const outputs: Record<string, OutputColumn> = {};
    for (const [name, column] of Object.entries(out.outputs)) outputs[name] = sliceColumn(column, first, k);
    results.push({
      model: out.model,
      predictions: out.predictions.slice(offset, end),
      scored,
      outputs,
      rejections: mine,
    });
    offset = end;
  }
  return results;
}
