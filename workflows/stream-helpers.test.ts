/** Pure helpers of the streaming workflow: dedup window, prediction statistics, event normalisation. */
import { describe, expect, it } from 'vitest';
import { DedupWindow } from './stream-dedup.js';
import { toQueuedEvent } from './stream-event.js';
import { BIN_MINUTES, PredictionStats } from './stream-stats.js';

describe('DedupWindow', () => {
  it('remembers the last `capacity` ids, evicts the oldest, and round-trips through toArray', () => {
    const w = new DedupWindow(3);
    expect(['a', 'b', 'c'].map((id) => w.add(id))).toEqual([true, true, true]);
    expect(w.add('b')).toBe(false);
    expect(w.add('d')).toBe(true); // evicts a
    expect(w.has('a')).toBe(false);
    expect(w.toArray()).toEqual(['b', 'c', 'd']);
    const carried = new DedupWindow(3, w.toArray());
    expect(carried.add('c')).toBe(false);
    expect(carried.add('e')).toBe(true);
    expect(carried.toArray()).toEqual(['c', 'd', 'e']);
    expect(new DedupWindow(2, ['x', 'y', 'z']).toArray()).toEqual(['y', 'z']);
  });

  it('forgets a deleted id so a replay is accepted again', () => {
    const w = new DedupWindow(5, ['a', 'b']);
    w.delete('a');
    expect(w.has('a')).toBe(false);
    expect(w.toArray()).toEqual(['b']);
  });
});

describe('PredictionStats', () => {
  it('keeps an exact mean and bin-accurate quantiles, and survives a snapshot', () => {
    const s = new PredictionStats();
    const values = Array.from({ length: 1000 }, (_, i) => (i % 100) / 2); // 0 .. 49.5
    values.forEach((v) => s.add(v));
    s.add(Number.NaN); // ignored
    expect(s.count).toBe(1000);
    expect(s.mean()).toBeCloseTo(values.reduce((a, b) => a + b, 0) / 1000, 10);
    const sorted = [...values].sort((a, b) => a - b);
    expect(Math.abs((s.quantile(0.5) ?? 0) - (sorted[499] ?? 0))).toBeLessThanOrEqual(BIN_MINUTES / 2);
    expect(Math.abs((s.quantile(0.9) ?? 0) - (sorted[899] ?? 0))).toBeLessThanOrEqual(BIN_MINUTES / 2);
    const again = new PredictionStats(s.snapshot());
    expect(again.count).toBe(1000);
    expect(again.quantile(0.9)).toBe(s.quantile(0.9));
    expect(new PredictionStats().quantile(0.5)).toBeNull();
  });
});

describe('toQueuedEvent', () => {
  const now = '2026-11-24T22:00:00.000Z';
  const ids = () => 'invalid-1';
  it('defaults event_id to ride_id and received_at to the handler time', () => {
    expect(toQueuedEvent({ ride: { PULocationID: 1 }, ride_id: 256 }, now, ids)).toEqual({
      event_id: '256',
      ride_id: 256,
      ride: { PULocationID: 1 },
      received_at: now,
    });
    const e = toQueuedEvent(
      { ride: {}, ride_id: 1, event_id: 'e', received_at: '2026-01-01T00:00:00Z' },
      now,
      ids,
    );
    expect(e).toMatchObject({ event_id: 'e', received_at: '2026-01-01T00:00:00Z' });
  });

  it('never throws: malformed events are queued as invalid with a reason', () => {
    expect(toQueuedEvent('x', now, ids)).toMatchObject({
      event_id: 'invalid-1',
      invalid: 'event must be a JSON object',
    });
    expect(toQueuedEvent({ ride_id: 5 }, now, ids)).toMatchObject({
      event_id: '5',
      invalid: expect.stringMatching(/^ride:/) as string,
    });
    expect(toQueuedEvent({ ride: {} }, now, ids)).toMatchObject({
      event_id: 'invalid-1',
      invalid: expect.stringMatching(/^ride_id:/) as string,
    });
  });
});
