/** Pure logic of the dynamic batcher, driven with a controllable scorer (the real one is exercised in api tests). */
import { describe, expect, it } from 'vitest';
import type { FieldRecord, ResolvedModel, ScoreOutput } from '../contracts/scoring.js';
import { waitFor } from '../test/helpers.js';
import { createBatcher, QueueFullError, type BatcherOptions } from './batcher.js';

const model: ResolvedModel = { name: 'm', version: '1' };
const tick = () => new Promise((r) => setImmediate(r));
type Row = FieldRecord & { trip_distance: number };
const ride = (d: number): Row => ({ PULocationID: 1, DOLocationID: 2, trip_distance: d });

/** A scorer whose calls stay pending until released; prediction = trip_distance * 10, negative rejected. */
function gatedScorer() {
  const calls: { rows: readonly Row[]; release(): void; fail(err: Error): void }[] = [];
  return {
    calls,
    score(_ref: ResolvedModel | string, records: readonly FieldRecord[]): Promise<ScoreOutput> {
      const rows = records as readonly Row[];
      const scored = rows.flatMap((r, i) => (r.trip_distance < 0 ? [] : [i]));
      return new Promise((resolve, reject) => {
        calls.push({
          rows,
          fail: reject,
          release: () =>
            resolve({
              model,
              predictions: rows.map((r) => (r.trip_distance < 0 ? null : r.trip_distance * 10)),
              scored: Int32Array.from(scored),
              outputs: {
                v: {
                  dtype: 'float64',
                  width: 1,
                  data: Float64Array.from(scored, (i) => (rows[i]?.trip_distance ?? 0) * 10),
                },
              },
              rejections: rows.flatMap((r, index) =>
                r.trip_distance < 0 ? [{ index, field: 'trip_distance', reason: 'negative' }] : [],
              ),
            }),
        });
      });
    },
  };
}

function options(over: Partial<BatcherOptions> = {}): BatcherOptions & { batches: number[] } {
  const batches: number[] = [];
  return {
    enabled: true,
    maxQueue: 100,
    limits: () => ({ maxSize: 8, maxDelayUs: 50_000 }),
    onBatch: (_m, rows) => batches.push(rows),
    batches,
    ...over,
  };
}

describe('createBatcher', () => {
  it('queues a second version behind the first one’s run and runs what it gathered as one batch', async () => {
    const scorer = gatedScorer();
    const o = options({ limits: () => ({ maxSize: 8, maxDelayUs: 0 }) });
    const batcher = createBatcher(scorer, o);
    const canary: ResolvedModel = { name: 'm', version: '2' };
    const first = batcher.score(model, [ride(1)]);
    await tick();
    expect(scorer.calls).toHaveLength(1); // the champion runs at once
    // While it runs, three canary requests arrive: they wait for it (the main thread is taken anyway)...
    const canaries = [2, 3, 4].map((d) => batcher.score(canary, [ride(d)]));
    await tick();
    expect(scorer.calls).toHaveLength(1);
    scorer.calls[0]?.release();
    await first;
    // ...and go as one run of three when it finishes, not three runs of one.
    await waitFor(() => scorer.calls.length === 2, { timeoutMs: 1000, what: 'the canary run' });
    expect(scorer.calls[1]?.rows.map((r) => r.trip_distance)).toEqual([2, 3, 4]);
    scorer.calls[1]?.release();
    expect((await Promise.all(canaries)).map((out) => out.predictions)).toEqual([[20], [30], [40]]);
  });

  it('dispatches a lone request immediately, then coalesces arrivals while a run is in flight', async () => {
    const scorer = gatedScorer();
    const opts = options();
    const batcher = createBatcher(scorer, opts);
    const first = batcher.score(model, [ride(1)]);
    expect(scorer.calls).toHaveLength(1);
    const rest = [
      batcher.score(model, [ride(2)]),
      batcher.score(model, [ride(-1), ride(3)]),
      batcher.score(model, [ride(4)]),
    ];
    expect(scorer.calls).toHaveLength(1);
    expect(batcher.queued()).toBe(4);
    scorer.calls[0]?.release();
    expect(await first).toMatchObject({ model, predictions: [10], rejections: [] });
    await tick();
    expect(scorer.calls).toHaveLength(2);
    expect(scorer.calls[1]?.rows).toHaveLength(4);
    scorer.calls[1]?.release();
    const answers = await Promise.all(rest);
    expect(answers).toMatchObject([
      { model, predictions: [20], rejections: [] },
      {
        model,
        predictions: [null, 30],
        rejections: [{ index: 0, field: 'trip_distance', reason: 'negative' }],
      },
      { model, predictions: [40], rejections: [] },
    ]);
    // Each request gets its own scored rows (indices relative to its rows) and its slice of every output.
    expect(answers.map((a) => [Array.from(a.scored), Array.from(a.outputs.v?.data as Float64Array)])).toEqual(
      [
        [[0], [20]],
        [[1], [30]],
        [[0], [40]],
      ],
    );
    expect(opts.batches).toEqual([1, 4]);
  });

  it('dispatches when maxSize rows are waiting, without waiting for the run in flight', () => {
    const scorer = gatedScorer();
    const batcher = createBatcher(scorer, options({ limits: () => ({ maxSize: 3, maxDelayUs: 50_000 }) }));
    void batcher.score(model, [ride(1)]);
    void batcher.score(model, [ride(1), ride(2)]);
    expect(scorer.calls).toHaveLength(1);
    void batcher.score(model, [ride(3)]);
    expect(scorer.calls.map((c) => c.rows.length)).toEqual([1, 3]);
  });

  it('dispatches after maxDelayUs when the run in flight is slow', async () => {
    const scorer = gatedScorer();
    const batcher = createBatcher(scorer, options({ limits: () => ({ maxSize: 8, maxDelayUs: 2000 }) }));
    void batcher.score(model, [ride(1)]);
    void batcher.score(model, [ride(2)]);
    expect(scorer.calls).toHaveLength(1);
    // Waits for the dispatch itself (bounded), not a fixed sleep: fails if the held request is never dispatched.
    await waitFor(() => scorer.calls.length === 2, {
      timeoutMs: 2000,
      what: 'the dispatch after maxDelayUs',
    });
    expect(scorer.calls.map((c) => c.rows.length)).toEqual([1, 1]);
  });

  it('rejects with QueueFullError when the lane is full, and every waiter when the scorer fails', async () => {
    const scorer = gatedScorer();
    const batcher = createBatcher(scorer, options({ maxQueue: 2 }));
    void batcher.score(model, [ride(1)]);
    const a = batcher.score(model, [ride(1), ride(2)]);
    await expect(batcher.score(model, [ride(3)])).rejects.toBeInstanceOf(QueueFullError);
    scorer.calls[0]?.release();
    await tick();
    scorer.calls[1]?.fail(new Error('onnx failed'));
    await expect(a).rejects.toThrow('onnx failed');
  });

  it('passes straight through when disabled', async () => {
    const scorer = gatedScorer();
    const batcher = createBatcher(scorer, options({ enabled: false }));
    const a = batcher.score(model, [ride(1)]);
    const b = batcher.score(model, [ride(2)]);
    expect(scorer.calls).toHaveLength(2);
    scorer.calls.forEach((c) => c.release());
    expect((await a).predictions).toEqual([10]);
    expect((await b).predictions).toEqual([20]);
  });
});

describe('createBatcher with pendingArrivals', () => {
  it('holds an idle lane while other requests are on their way, and dispatches when the last arrives', () => {
    const scorer = gatedScorer();
    let pending = 2;
    const batcher = createBatcher(scorer, options({ pendingArrivals: () => pending }));
    pending--;
    void batcher.score(model, [ride(1)]);
    expect(scorer.calls).toHaveLength(0);
    pending--;
    void batcher.score(model, [ride(2)]);
    expect(scorer.calls.map((c) => c.rows.length)).toEqual([2]);
  });

  it('poke() dispatches a held lane when an expected request gave up', () => {
    const scorer = gatedScorer();
    let pending = 1;
    const batcher = createBatcher(scorer, options({ pendingArrivals: () => pending }));
    void batcher.score(model, [ride(1)]);
    expect(scorer.calls).toHaveLength(0);
    pending = 0;
    batcher.poke();
    expect(scorer.calls).toHaveLength(1);
  });
});
