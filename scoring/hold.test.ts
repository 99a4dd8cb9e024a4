/**
 * The holding lane for challenger calls, on the real models: calls within the hold go to the scorer as one call per
 * version and each gets the answer it would have got alone (its rejected rows included), a full lane goes at once,
 * and a scorer that fails, even by throwing before it returns a promise, fails every held call instead of leaving
 * it hanging or escaping from the timer. A canary's lane holds a call only when another came within the hold; the
 * calls of one turn go together at its end.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ResolvedModel } from '../contracts/scoring.js';
import { plain, recordingScorer, threadFixtures, type ThreadFixtures } from '../test/thread-fixtures.js';
import { createHold } from './hold.js';
import { scoreRows } from './scorer.js';

describe('holding lane', () => {
  let f: ThreadFixtures;
  beforeAll(async () => {
    f = await threadFixtures({ rows: 12 });
  });
  afterAll(async () => f?.release());

  it('scores the calls held together as one call per version, each answered as if alone', async () => {
    const { calls, score } = recordingScorer(f);
    const hold = createHold(score, { holdMs: 20, maxRows: 1000 });
    const asked = [
      ...f.rides.map((r) => [f.ride, [r]] as const),
      [f.ride, f.rides.slice(0, 3)] as const,
      ...f.penguins.map((r) => [f.penguin, [r]] as const),
    ];
    const answers = await Promise.all(asked.map(([m, records]) => hold(m, records)));
    expect(calls.sort((a, b) => a.model.localeCompare(b.model))).toEqual([
      { model: 'penguin-species@1', rows: f.penguins.length },
      { model: 'ride-duration@2', rows: f.rides.length + 3 },
    ]);
    for (const [i, [m, records]] of asked.entries()) {
      const alone = plain(await scoreRows(m, records));
      const got = plain(answers[i] ?? (await Promise.reject(new Error(`no answer ${i}`))));
      expect({ ...got, outputs: undefined, predictions: undefined }).toEqual({
        ...alone,
        outputs: undefined,
        predictions: undefined,
      });
      alone.predictions.forEach((p, j) =>
        typeof p === 'number'
          ? expect(got.predictions[j]).toBeCloseTo(p, 4)
          : expect(got.predictions[j]).toBe(p),
      );
    }
    // The refused row of the fixtures is refused in its own call's answer, at its own index.
    const refused = answers[f.rides.length - 1];
    expect(refused?.rejections.map((r) => r.index)).toEqual([0]);
  });

  it('sends a lane that reaches maxRows at once, without waiting for the hold', async () => {
    const { calls, score } = recordingScorer(f);
    const hold = createHold(score, { holdMs: 60_000, maxRows: 4 });
    const answers = await Promise.all(f.rides.slice(0, 4).map((r) => hold(f.ride, [r])));
    expect(answers.map((a) => a.scored.length)).toEqual([1, 1, 1, 1]);
    expect(calls).toEqual([{ model: 'ride-duration@2', rows: 4 }]);
  });

  it('fails every held call when the scorer fails, even by throwing before it returns', async () => {
    const { score } = recordingScorer(f);
    const hold = createHold(score, { holdMs: 5, maxRows: 1000 });
    const unknown: ResolvedModel = { name: 'ride-duration', version: '99' };
    const results = await Promise.allSettled([hold(unknown, [{}]), hold(unknown, [{}, {}])]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'answered'))).toEqual([
      'ride-duration@99 is not loaded',
      'ride-duration@99 is not loaded',
    ]);
    // The lane is empty again: the next call is held and answered on its own.
    const next = await hold(f.ride, [f.rides[0] ?? {}]);
    expect(next.scored.length).toBe(1);
  });

  it('sends the canary calls of one turn together at the end of the turn, without waiting for the hold', async () => {
    const { calls, score } = recordingScorer(f);
    const hold = createHold(score, { holdMs: 60_000, maxRows: 1000, whenRecent: true });
    const answers = await Promise.all(f.rides.slice(0, 3).map((r) => hold(f.ride, [r])));
    expect(answers.map((a) => a.scored.length)).toEqual([1, 1, 1]);
    expect(calls).toEqual([{ model: 'ride-duration@2', rows: 3 }]);
  });

  it('holds a canary call only when another came within the hold: a lone call goes at the end of its turn, with no timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { calls, score } = recordingScorer(f);
      const hold = createHold(score, { holdMs: 2, maxRows: 1000, whenRecent: true });
      const [a, b, c, d] = f.rides;
      // Nothing came before: answered without any time passing.
      expect((await hold(f.ride, [a ?? {}])).scored.length).toBe(1);
      expect(calls).toEqual([{ model: 'ride-duration@2', rows: 1 }]);
      vi.advanceTimersByTime(1);
      // 1 ms after the last: held; the next joins it; both go together when the hold ends.
      const held = [hold(f.ride, [b ?? {}]), hold(f.ride, [c ?? {}])];
      await Promise.resolve();
      expect(calls).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(2);
      expect((await Promise.all(held)).map((o) => o.scored.length)).toEqual([1, 1]);
      expect(calls).toEqual([
        { model: 'ride-duration@2', rows: 1 },
        { model: 'ride-duration@2', rows: 2 },
      ]);
      // A quiet spell longer than the hold: the next call goes at once again.
      vi.advanceTimersByTime(5);
      expect((await hold(f.ride, [d ?? {}])).scored.length).toBe(1);
      expect(calls.at(-1)).toEqual({ model: 'ride-duration@2', rows: 1 });
    } finally {
      vi.useRealTimers();
    }
  });
});
