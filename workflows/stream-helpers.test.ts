/** Pure helpers of the streaming workflow: dedup window, prediction statistics, event normalisation. */
import { describe, expect, it } from 'vitest';
import { DedupWindow } from './stream-dedup.js';
import { toQueuedEvent } from './stream-event.js';
import { rideDurationStream } from '../adapters/ride-duration/stream.js';
import { BIN_WIDTH, PredictionStats } from './stream-stats.js';

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
    expect(Math.abs((s.quantile(0.5) ?? 0) - (sorted[499] ?? 0))).toBeLessThanOrEqual(BIN_WIDTH / 2);
    expect(Math.abs((s.quantile(0.9) ?? 0) - (sorted[899] ?? 0))).toBeLessThanOrEqual(BIN_WIDTH / 2);
    const again = new PredictionStats(s.snapshot());
    expect(again.count).toBe(1000);
    expect(again.quantile(0.9)).toBe(s.quantile(0.9));
    expect(new PredictionStats().quantile(0.5)).toBeNull();
  });
});

describe('toQueuedEvent (generic events)', () => {
  const now = '2026-11-24T22:00:00.000Z';
  const ids = () => 'invalid-1';
  it('keeps event_id, record and key, and defaults received_at to the handler time', () => {
    expect(toQueuedEvent({ event_id: 7, record: { island: 'Dream' }, key: 'p-7' }, now, ids)).toEqual({
      event_id: '7',
      record: { island: 'Dream' },
      key: 'p-7',
      received_at: now,
    });
    const e = toQueuedEvent({ event_id: 'e', record: {}, received_at: '2026-01-01T00:00:00Z' }, now, ids);
    expect(e).toMatchObject({ event_id: 'e', received_at: '2026-01-01T00:00:00Z' });
  });

  it('never throws: malformed events are queued as invalid with a reason naming the field', () => {
    expect(toQueuedEvent('x', now, ids)).toMatchObject({
      event_id: 'invalid-1',
      invalid: 'event must be a JSON object',
    });
    expect(toQueuedEvent({ event_id: 5 }, now, ids)).toMatchObject({
      event_id: '5',
      invalid: 'record: must be an object',
    });
    expect(toQueuedEvent({ record: {} }, now, ids)).toMatchObject({
      event_id: 'invalid-1',
      invalid: expect.stringMatching(/^event_id:/) as string,
    });
  });
});

describe('the course adapter of course signals (rideEvent, rideEvents)', () => {
  const now = '2026-11-24T22:00:00.000Z';
  const ids = () => 'invalid-1';
  const toQueued = (raw: unknown) => rideDurationStream.toQueued(raw, now, ids);
  it('defaults event_id to ride_id and received_at to the handler time', () => {
    expect(toQueued({ ride: { PULocationID: 1 }, ride_id: 256 })).toEqual({
      event_id: '256',
      key: 256,
      record: { PULocationID: 1 },
      received_at: now,
    });
    const e = toQueued({ ride: {}, ride_id: 1, event_id: 'e', received_at: '2026-01-01T00:00:00Z' });
    expect(e).toMatchObject({ event_id: 'e', received_at: '2026-01-01T00:00:00Z' });
  });

  it('never throws: malformed events are queued as invalid with a reason', () => {
    expect(toQueued('x')).toMatchObject({ event_id: 'invalid-1', invalid: 'event must be a JSON object' });
    expect(toQueued({ ride_id: 5 })).toMatchObject({
      event_id: '5',
      invalid: expect.stringMatching(/^ride:/) as string,
    });
    expect(toQueued({ ride: {} })).toMatchObject({
      event_id: 'invalid-1',
      invalid: expect.stringMatching(/^ride_id:/) as string,
    });
  });
});
