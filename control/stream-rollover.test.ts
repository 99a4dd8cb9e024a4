/**
 * The producer-side hold of a stream hand-over, without a connection (the LISTEN path is in streams.test.ts), and
 * on real servers what the hold prevents: a sender without the rollover watch races continue-as-new.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { streamWorkflowId } from '../contracts/stream.js';
import { uniqueId } from '../test/helpers.js';
import {
  makeEvents,
  persistedEventIds,
  startStreamKit,
  waitForState,
  waitUntil,
  type StreamKit,
} from '../test/stream-kit.js';
import { createRolloverHolds } from './stream-rollover.js';
import { createStreamSender, drainStream, getStreamState } from './streams.js';

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

describe('stream hand-over without the rollover watch', () => {
  let kit: StreamKit;
  beforeAll(async () => {
    kit = await startStreamKit();
  });
  afterAll(async () => {
    await kit?.stop();
  });

  // The counterpart of the watch test in streams.test.ts, with the same producer and options but no watch. It
  // fails if the race it documents stops happening (then the watch would be dead weight, or this setup no longer
  // reaches continue-as-new under load), and if the SDK's retry of the refused task ever loses or reorders events.
  it('signals race continue-as-new: a closing run has a failed workflow task, yet every event lands in order', async () => {
    const id = uniqueId('no-watch');
    const sender = createStreamSender(kit.temporal.client, kit.config);
    const events = makeEvents(400);
    const options = { streamOptions: { canAfterEvents: 40, rolloverGraceMs: 200 } };
    const sends: Promise<unknown>[] = [];
    for (const e of events) {
      sends.push(sender.send(id, [e], options));
      await new Promise((r) => setTimeout(r, 5)); // a steady producer's pace, not a wait for something
    }
    await Promise.all(sends);
    const state = await waitForState(
      () => getStreamState(kit.temporal.client, id),
      (s) => s.processed === events.length,
      120_000,
    );
    expect(state.runs).toBeGreaterThanOrEqual(2);
    expect(await persistedEventIds(kit.db.pool, id)).toEqual(events.map((e) => String(e.ride_id)));
    const runs: string[] = [];
    await waitUntil('closed runs listed', async () => {
      runs.length = 0;
      for await (const w of kit.temporal.client.workflow.list({ query: `WorkflowId = 'stream-${id}'` }))
        if (w.status.name === 'CONTINUED_AS_NEW') runs.push(w.runId);
      return runs.length === state.runs;
    });
    let failedTasks = 0;
    for (const runId of runs) {
      const history = await kit.temporal.client.workflow
        .getHandle(streamWorkflowId(id), runId)
        .fetchHistory();
      failedTasks += (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
    }
    expect(failedTasks, `failed workflow tasks over ${runs.length} closing runs`).toBeGreaterThan(0);
    await drainStream(kit.temporal.client, id);
  });
});
