/** The producer-side hold of a stream hand-over, without a connection (the LISTEN path is in streams.test.ts). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRolloverHolds } from './stream-rollover.js';

describe('rollover holds', () => {
  afterEach(() => vi.useRealTimers());

  it('holds a stream from its closing notice to its open notice, and only that stream', async () => {
    const holds = createRolloverHolds(2000);
    expect(holds.ready('a')).toBeUndefined();
    holds.apply({ streamId: 'a', phase: 'closing' });
    holds.apply({ streamId: 'a', phase: 'closing' }); // a repeat does not start a second hold
    const held = holds.ready('a');
    expect(held).toBeInstanceOf(Promise);
    expect(holds.ready('b')).toBeUndefined();
    let released = false;
    void held?.then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    holds.apply({ streamId: 'b', phase: 'open' }); // another stream's notice changes nothing here
    await Promise.resolve();
    expect(released).toBe(false);
    holds.apply({ streamId: 'a', phase: 'open' });
    await held;
    expect(released).toBe(true);
    expect(holds.ready('a')).toBeUndefined();
    expect(holds.stats()).toEqual({ holds: 1, released: 1, timedOut: 0 });
  });

  it('never holds longer than maxHoldMs when the open notice is lost', async () => {
    vi.useFakeTimers();
    const holds = createRolloverHolds(500);
    holds.apply({ streamId: 'a', phase: 'closing' });
    const held = holds.ready('a');
    await vi.advanceTimersByTimeAsync(499);
    expect(holds.ready('a')).toBe(held);
    await vi.advanceTimersByTimeAsync(1);
    await held;
    expect(holds.ready('a')).toBeUndefined();
    expect(holds.stats()).toEqual({ holds: 1, released: 0, timedOut: 1 });
  });

  it('releaseAll ends every hold (what a reconnected listener does, since it may have missed notices)', async () => {
    const holds = createRolloverHolds(60_000);
    holds.apply({ streamId: 'a', phase: 'closing' });
    holds.apply({ streamId: 'b', phase: 'closing' });
    const both = Promise.all([holds.ready('a'), holds.ready('b')]);
    holds.releaseAll();
    await both;
    expect(holds.ready('a') ?? holds.ready('b')).toBeUndefined();
    expect(holds.stats()).toEqual({ holds: 2, released: 2, timedOut: 0 });
  });
});
