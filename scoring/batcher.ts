/**
 * Dynamic batching for the online service: concurrent requests for the same model version are coalesced into one
 * `scorer.score` call (one ONNX run). A lane with nothing in flight dispatches at once, so a lone request pays no
 * waiting; while a run is in flight, arrivals queue and go together when it finishes, when `maxSize` rows are
 * waiting, or when the oldest has waited `maxDelayUs` (timers have 1 ms granularity, so it is rounded up to ms).
 */
import type { ResolvedModel, RideInput, ScoreOutput, Scorer } from '../contracts/scoring.js';

export interface BatchLimits {
  maxSize: number;
  maxDelayUs: number;
}

export interface BatcherOptions {
  enabled: boolean;
  /** Rows allowed to wait per model version; beyond it `score` throws QueueFullError. */
  maxQueue: number;
  limits(model: ResolvedModel): BatchLimits;
  /** Called once per scorer call with the rows and requests it carried. */
  onBatch?(model: ResolvedModel, rows: number, requests: number): void;
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

interface Pending {
  rows: readonly RideInput[];
  resolve(out: ScoreOutput): void;
  reject(err: unknown): void;
}

interface Lane {
  model: ResolvedModel;
  queue: Pending[];
  queuedRows: number;
  inFlight: number;
  timer: NodeJS.Timeout | undefined;
}

export interface Batcher {
  score(model: ResolvedModel, rows: readonly RideInput[]): Promise<ScoreOutput>;
  /** Rows waiting across all lanes. */
  queued(): number;
}

export function createBatcher(scorer: Pick<Scorer, 'score'>, options: BatcherOptions): Batcher {
  const lanes = new Map<string, Lane>();

  const laneFor = (model: ResolvedModel): Lane => {
    const key = `${model.name}@${model.version}`;
    let lane = lanes.get(key);
    if (!lane) {
      lane = { model, queue: [], queuedRows: 0, inFlight: 0, timer: undefined };
      lanes.set(key, lane);
    }
    return lane;
  };

  const run = (lane: Lane, batch: Pending[], rows: number) => {
    lane.inFlight++;
    options.onBatch?.(lane.model, rows, batch.length);
    const all = batch.length === 1 ? (batch[0]?.rows ?? []) : batch.flatMap((p) => p.rows);
    scorer
      .score(lane.model, all)
      .then(
        (out) => split(out, batch),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => {
        lane.inFlight--;
        if (lane.queue.length > 0) flush(lane);
      })
      .catch(() => undefined);
  };

  const flush = (lane: Lane) => {
    clearTimeout(lane.timer);
    lane.timer = undefined;
    const { maxSize } = options.limits(lane.model);
    while (lane.queue.length > 0) {
      const batch: Pending[] = [];
      let rows = 0;
      // Always take at least one request, even one larger than maxSize.
      while (lane.queue.length > 0) {
        const next = lane.queue[0] as Pending;
        if (batch.length > 0 && rows + next.rows.length > maxSize) break;
        lane.queue.shift();
        batch.push(next);
        rows += next.rows.length;
      }
      lane.queuedRows -= rows;
      run(lane, batch, rows);
      // One run per flush while others are in flight: the rest waits for the next completion or timer.
      if (lane.queuedRows < maxSize) break;
    }
    options.onQueueDepth?.(lane.model, lane.queuedRows);
    if (lane.queue.length > 0) arm(lane);
  };

  const arm = (lane: Lane) => {
    if (lane.timer) return;
    const { maxDelayUs } = options.limits(lane.model);
    lane.timer = setTimeout(() => flush(lane), Math.ceil(maxDelayUs / 1000));
  };

  return {
    score(model, rows) {
      if (!options.enabled) {
        options.onBatch?.(model, rows.length, 1);
        return scorer.score(model, rows);
      }
      const lane = laneFor(model);
      if (lane.queuedRows + rows.length > options.maxQueue && lane.queue.length > 0) {
        return Promise.reject(new QueueFullError(model, lane.queuedRows, options.maxQueue));
      }
      return new Promise<ScoreOutput>((resolve, reject) => {
        lane.queue.push({ rows, resolve, reject });
        lane.queuedRows += rows.length;
        const { maxSize, maxDelayUs } = options.limits(model);
        if (lane.inFlight === 0 || lane.queuedRows >= maxSize || maxDelayUs === 0) flush(lane);
        else {
          options.onQueueDepth?.(model, lane.queuedRows);
          arm(lane);
        }
      });
    },
    queued() {
      let total = 0;
      for (const lane of lanes.values()) total += lane.queuedRows;
      return total;
    },
  };
}

/** Hands each request its slice of a coalesced result, with rejection indices made relative to its own rows. */
function split(out: ScoreOutput, batch: Pending[]): void {
  if (batch.length === 1) {
    batch[0]?.resolve(out);
    return;
  }
  let offset = 0;
  let r = 0;
  const rejections = [...out.rejections].sort((a, b) => a.index - b.index);
  for (const pending of batch) {
    const end = offset + pending.rows.length;
    const mine = [];
    while (r < rejections.length && (rejections[r]?.index ?? end) < end) {
      const rej = rejections[r++];
      if (rej) mine.push({ ...rej, index: rej.index - offset });
    }
    pending.resolve({ model: out.model, predictions: out.predictions.slice(offset, end), rejections: mine });
    offset = end;
  }
}
