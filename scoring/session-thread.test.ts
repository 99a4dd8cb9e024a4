/**
 * The session thread (batch pages' ONNX runs off the main thread) against the model's own session, on the real
 * models: the same outputs bit for bit (regression and the string-input classifier, rejected rows included, pages
 * larger than one run), two pages at once each with its own answer, a version that cannot load named in the error
 * while the next good run works, and close() failing what is in hand instead of leaving it hanging.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKEN_RIDE_ERROR, plain, threadFixtures, withBrokenRide } from '../test/thread-fixtures.js';
import type { FieldRecord } from '../contracts/scoring.js';
import type { LoadedModel } from './load-model.js';
import { scoreRows } from './scorer.js';
import { createSessionThread, type SessionThread } from './session-thread.js';

describe('session thread', () => {
  let thread: SessionThread;
  let ride: LoadedModel;
  let penguin: LoadedModel;
  let rides: FieldRecord[];
  let penguins: FieldRecord[];

  let release: () => Promise<void>;

  beforeAll(async () => {
    thread = createSessionThread({ intraOpThreads: 1 });
    // Runs of 1000 rows (the cards allow more), so a 2500-row page takes three runs.
    ({ ride, penguin, rides, penguins, release } = await threadFixtures({ rows: 2500, maxBatchRows: 1000 }));
  });
  afterAll(async () => {
    await thread.close();
    await release();
  });

  it('scores a page exactly as the main thread does, over several runs', async () => {
    for (const [model, records] of [
      [ride, rides],
      [penguin, penguins],
    ] as const) {
      expect(records.length).toBeGreaterThan(2 * model.maxBatchRows);
      const onThread = plain(await scoreRows(model, records, thread.run));
      expect(onThread).toEqual(plain(await scoreRows(model, records)));
      expect(onThread.rejections).toHaveLength(1);
      expect(onThread.scored).toHaveLength(records.length - 1);
    }
  });

  it('gives two pages in flight at once their own answers', async () => {
    const first = rides.slice(0, 1500);
    const second = rides.slice(1000, 2400);
    const [a, b] = await Promise.all([
      scoreRows(ride, first, thread.run),
      scoreRows(ride, second, thread.run),
    ]);
    expect(plain(a)).toEqual(plain(await scoreRows(ride, first)));
    expect(plain(b)).toEqual(plain(await scoreRows(ride, second)));
  });

  it('names a version that cannot load, and the next good run still works', async () => {
    await withBrokenRide(ride, async (broken) => {
      await expect(scoreRows(broken, rides.slice(0, 3), thread.run)).rejects.toMatchObject(BROKEN_RIDE_ERROR);
      expect((await scoreRows(ride, rides.slice(0, 3), thread.run)).scored).toHaveLength(3);
    });
  });

  it('fails what it holds when closed, and starts again on the next run', async () => {
    const held = expect(scoreRows(ride, rides, thread.run)).rejects.toThrow(/closed|exited/);
    await thread.close();
    await held;
    expect((await scoreRows(ride, rides.slice(0, 2), thread.run)).scored).toHaveLength(2);
  });
});
