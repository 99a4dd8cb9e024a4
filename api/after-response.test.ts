import { describe, expect, it } from 'vitest';
import { createAfterResponse } from './after-response.js';

describe('after-response work', () => {
  it('settles once every tracked call is done, failed ones included, and waits for calls tracked meanwhile', async () => {
    const work = createAfterResponse();
    let finishLate: () => void = () => undefined;
    let startedLate: () => void = () => undefined;
    const lateStarted = new Promise<void>((r) => (startedLate = r));
    work.track(Promise.reject(new Error('a shadow call that failed')));
    work.track(
      new Promise<void>((resolve) =>
        setImmediate(() => {
          // Started as the first call completes, while the server is already settling.
          work.track(new Promise<void>((r) => (finishLate = r)));
          startedLate();
          resolve();
        }),
      ),
    );
    expect(work.running()).toBe(2);
    let answered: number | undefined;
    const settled = work.settle(5_000).then((n) => (answered = n));
    await lateStarted;
    await new Promise(setImmediate);
    expect(answered).toBeUndefined(); // the late call still runs
    finishLate();
    expect(await settled).toBe(0);
    expect(work.running()).toBe(0);
  });

  it('gives up after its timeout and answers how many are still running', async () => {
    const work = createAfterResponse();
    work.track(new Promise(() => undefined));
    expect(await work.settle(20)).toBe(1);
  });
});
