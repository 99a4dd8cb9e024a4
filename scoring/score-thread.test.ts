/**
 * The scoring thread against the main thread's scorer, on the real models: the same answers (regression and the
 * string-input classifier, rejected rows included) whether requests come one by one or all at once (coalesced in
 * the thread), a version that cannot load named in the error while the next good call still works, and close()
 * failing what is in hand instead of leaving it hanging.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKEN_RIDE_ERROR, plain, threadFixtures, withBrokenRide } from '../test/thread-fixtures.js';
import type { FieldRecord } from '../contracts/scoring.js';
import { createLogger } from '../logger.js';
import type { LoadedModel } from './load-model.js';
import { createThreadScorer, type ThreadScorer } from './score-thread.js';
import { scoreRows } from './scorer.js';

const logger = createLogger({ log: { level: 'silent', format: 'json' } });

describe('scoring thread', () => {
  let thread: ThreadScorer;
  let ride: LoadedModel;
  let penguin: LoadedModel;
  let rides: FieldRecord[];
  let penguins: FieldRecord[];

  let release: () => Promise<void>;

  beforeAll(async () => {
    thread = createThreadScorer({ intraOpThreads: 1, maxBatchSize: 64 }, logger);
    ({ ride, penguin, rides, penguins, release } = await threadFixtures({ rows: 40 }));
  });
  afterAll(async () => {
    await thread.close();
    await release();
  });

  it('answers one request as the main thread does', async () => {
    for (const [model, records] of [
      [ride, rides],
      [penguin, penguins],
    ] as const) {
      const viaThread = await thread.score(model, records);
      const onMain = await scoreRows(model, records);
      expect(plain(viaThread)).toEqual(plain(onMain));
      expect(viaThread.rejections.length).toBe(1);
    }
  });

  it('gives each of many concurrent requests its own answer (coalesced in the thread)', async () => {
    const calls = [...rides.map((r) => [ride, r] as const), ...penguins.map((r) => [penguin, r] as const)];
    const answers = await Promise.all(calls.map(([m, r]) => thread.score(m, [r])));
    for (const [i, [m, r]] of calls.entries()) {
      const answer = answers[i];
      if (!answer) throw new Error(`no answer ${i}`);
      // float32 sums differ in the last bits between batch sizes: the same answer to 1e-6, labels exactly.
      const alone = plain(await scoreRows(m, [r]));
      const got = plain(answer);
      expect({ ...got, outputs: undefined, predictions: undefined }).toEqual({
        ...alone,
        outputs: undefined,
        predictions: undefined,
      });
      for (const [name, values] of Object.entries(alone.outputs))
        values.forEach((v, j) =>
          typeof v === 'number'
            ? expect(got.outputs[name]?.[j]).toBeCloseTo(v, 6)
            : expect(got.outputs[name]?.[j]).toEqual(v),
        );
      alone.predictions.forEach((p, j) =>
        typeof p === 'number'
          ? expect(got.predictions[j]).toBeCloseTo(p, 4)
          : expect(got.predictions[j]).toBe(p),
      );
    }
    expect(thread.pending()).toBe(0);
  });

  it('tells how long each run took, once per run however many requests it answered', async () => {
    const times: number[] = [];
    const alone = await thread.score(ride, rides.slice(0, 2), (us) => times.push(us));
    expect(alone.scored.length).toBe(2);
    expect(times).toHaveLength(1);
    expect(times[0]).toBeGreaterThan(0);
    // Sent together, the requests queue behind the first run and are coalesced: fewer runs than requests.
    times.length = 0;
    await Promise.all(rides.map((r) => thread.score(ride, [r], (us) => times.push(us))));
    expect(times.length).toBeGreaterThan(0);
    expect(times.length).toBeLessThan(rides.length);
    for (const t of times) expect(t).toBeGreaterThan(0);
  });

  it('names a version that cannot load, and the next good call still works', async () => {
    await withBrokenRide(ride, async (broken) => {
      await expect(thread.score(broken, [rides[0] ?? {}])).rejects.toMatchObject(BROKEN_RIDE_ERROR);
      expect((await thread.score(ride, [rides[0] ?? {}])).scored.length).toBe(1);
    });
  });

  it('fails what it holds when closed, and starts again on the next call', async () => {
    // The expectation is attached before close() fails the call, so the rejection is handled when it happens.
    const held = expect(thread.score(ride, rides)).rejects.toThrow(/closed|exited/);
    await thread.close();
    await held;
    expect(thread.pending()).toBe(0);
    expect((await thread.score(ride, [rides[1] ?? {}])).scored.length).toBe(1);
  });
});
