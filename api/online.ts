/**
 * The online scoring path shared by the predict routes and the V2 protocol: one dynamic batcher for records (through the
 * scorer) and one for raw V2 tensors (straight into the version's ONNX session), both feeding the metrics.
 */
import type { BatchLimits, Config } from '../config.js';
import type { ResolvedModel } from '../contracts/scoring.js';
import { createBatcher, createLaneBatcher, type Batcher, type BatcherOptions } from '../scoring/batcher.js';
import { ModelNotFoundError } from '../scoring/errors.js';
import { createHold, type ScoreRecords } from '../scoring/hold.js';
import type { LoadedModel } from '../scoring/load-model.js';
import type { ModelScorer } from '../scoring/scorer.js';
import type { ThreadScorer } from '../scoring/score-thread.js';
import { runTensors, type TensorOutputs, type TensorRows } from '../scoring/tensors.js';
import type { ApiMetrics } from './metrics.js';
import type { Placement } from './placement.js';
import { MAX_SHADOW_IN_FLIGHT, type OnlineRouting } from './routing.js';

export type { TensorRows } from '../scoring/tensors.js';

/** Scoring requests between entering the app and reaching a batcher; lets an idle lane wait for them. */
export interface Arrivals {
  /** Counts a request in; the returned function (idempotent) counts it out. */
  enter(): () => void;
  pending(): number;
}

export interface Online {
  records: Batcher;
  tensors: Batcher<TensorRows, TensorOutputs>;
  arrivals: Arrivals;
  /**
   * Scores a shadow call: in the scoring thread whenever there is one, whatever the placement (a shadow call adds
   * work instead of taking a champion call's, and nobody waits on it), else as `records` does.
   */
  shadow: ScoreRecords;
  /** Champion, canary and shadow per call (api/routing.ts). */
  routing: OnlineRouting;
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

/**
 * Shadow calls (scored after their response is sent) held up to SHADOW_HOLD_MS and scored together (scoring/hold.ts):
 * one thread message and one ONNX run for several calls instead of one each. A held group is at most half of the
 * shadow calls a process keeps in flight (MAX_SHADOW_IN_FLIGHT), so a full group being scored leaves room for the next.
 */
export function shadowHold(score: ScoreRecords, config: Config): ScoreRecords {
  const holdMs = config.api.shadowHoldMs;
  const maxRows = Math.min(config.batching.maxSize, MAX_SHADOW_IN_FLIGHT / 2);
  return holdMs > 0 && maxRows > 1 ? createHold(score, { holdMs, maxRows }) : score;
}

/**
 * A deployment's challenger versions: their record calls (canary and shadow) go to the scoring thread when there is
 * one, and there under load wait up to `holdMs` (CANARY_HOLD_MS) for others of their version (scoring/hold.ts).
 * With a `placement` (CHALLENGER_THREAD=auto) a version whose runs in the thread are short scores on the main
 * thread instead, in its own lane of the main batcher, held by nothing (api/placement.ts).
 */
export interface Challengers {
  is(model: ResolvedModel): boolean;
  thread?: ThreadScorer | undefined;
  holdMs: number;
  placement?: Placement | undefined;
}

export function createOnline(
  config: Config,
  scorer: ModelScorer,
  metrics: ApiMetrics,
  challengers?: Challengers,
): Omit<Online, 'routing'> {
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
  const main = createBatcher(scorer, options);
  const onMain: ScoreRecords = (model, input) => main.score(model, input);
  // Without a scoring thread (CHALLENGER_THREAD=off) a challenger is a version like any other.
  const { records, shadow } = challengers?.thread
    ? challengerLane(
        main,
        scorer,
        challengers,
        challengers.thread,
        config.batching.enabled ? config.batching.maxSize : 1,
      )
    : { records: main, shadow: onMain };
  const tensors = createLaneBatcher<TensorRows, TensorOutputs>(
    { rows: (input) => input.rows, run: (ref, inputs) => runTensors(loaded(scorer, ref), inputs) },
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
          records.poke();
          tensors.poke();
        }
      };
    },
    pending: () => pending,
  };
  return { records, shadow, tensors, arrivals };
}

/**
 * The records batcher with the challengers' calls set apart: sent to the scoring thread (which batches them itself)
 * through a hold that lets calls close together go as one, unless a placement keeps a cheap version on the main
 * thread. There, as without a thread, a challenger has its own lane of the main batcher and is held by nothing: its
 * calls of one turn come together anyway (ROUTING_DRAW=turn), and a hold on the main thread cost more than it saved
 * (bench/README.md, Rollouts). `maxRows` 1 (batching off) holds nothing. Shadow calls, held upstream, go to the
 * thread directly whatever the placement (their runs add to the main thread's work, where a canary's replace a
 * champion's).
 */
function challengerLane(
  main: Batcher,
  scorer: ModelScorer,
  c: Challengers,
  thread: ThreadScorer,
  maxRows: number,
): { records: Batcher; shadow: ScoreRecords } {
  const { placement } = c;
  const direct: ScoreRecords = (model, input) =>
    thread.score(loaded(scorer, model), input, (runUs) => placement?.timed(refOf(model), runUs));
  const toThread =
    c.holdMs > 0 && maxRows > 1
      ? createHold(direct, { holdMs: c.holdMs, maxRows, whenRecent: true })
      : direct;
  const score: ScoreRecords = placement
    ? (model, input) => (placement.toThread(refOf(model)) ? toThread(model, input) : main.score(model, input))
    : toThread;
  return {
    records: {
      score: (model, input) => (c.is(model) ? score(model, input) : main.score(model, input)),
      queued: () => main.queued(),
      poke: () => main.poke(),
    },
    // Held upstream already (SHADOW_HOLD_MS): straight to the thread.
    shadow: (model, input) => (c.is(model) ? direct(model, input) : main.score(model, input)),
  };
}

const refOf = (model: ResolvedModel) => `${model.name}@${model.version}`;

/** The loaded version a resolved ref names (it was resolved moments ago, so it is loaded). */
function loaded(scorer: ModelScorer, ref: ResolvedModel): LoadedModel {
  const model = scorer.registry.get(ref.name, ref.version);
  if (!model)
    throw new ModelNotFoundError(
      `${ref.name}@${ref.version}`,
      scorer.listModels().map((m) => m.ref),
    );
  return model;
}
