/** The stream's state and transitions as a plain class: no Temporal server, time and ids passed in. */
import { describe, expect, it } from 'vitest';
import { STREAM_OPTION_DEFAULTS, type StreamOptions } from '../contracts/stream.js';
import { eventSignalNames, StreamManager } from './stream-manager.js';

const now = '2026-12-01T10:00:00.000Z';
const model = { name: 'penguin-species', version: '1' };
const make = (options: Partial<StreamOptions> = {}) =>
  new StreamManager('s', { ...STREAM_OPTION_DEFAULTS, ...options }, { runId: 'run-1', startedAt: now });

describe('StreamManager', () => {
  it('registers the generic signal and every course adapter signal', () => {
    expect(eventSignalNames()).toEqual(['events', 'rideEvent', 'rideEvents']);
  });

  it('holds events that arrive before the deployment is known, then queues them in arrival order', () => {
    const m = make();
    m.receive('rideEvents', [{ ride: { PULocationID: 1 }, ride_id: 1 }], now);
    m.receive('events', { event_id: 'g', record: { a: 1 } }, now);
    m.receive('rideEvent', { ride: {}, ride_id: 2 }, now);
    expect(m.waiting()).toBe(0);
    m.setDeployment({ deployment: 'ride-duration', model });
    expect(m.queue.map((e) => [e.event_id, e.invalid])).toEqual([
      ['1', undefined],
      ['g', undefined],
      ['2', undefined],
    ]);
    expect(m.queue[0]).toMatchObject({ record: { PULocationID: 1 }, key: 1 });
    expect(m.state()).toMatchObject({ received: 3, deployment: 'ride-duration', model: 'penguin-species@1' });
  });

  it('queues a course signal sent to another deployment as invalid, naming the signal and the way to send', () => {
    const m = make();
    m.setDeployment({ deployment: 'penguin-species', model });
    m.receive('rideEvent', { ride: {}, ride_id: 3 }, now);
    expect(m.queue[0]?.invalid).toBe(
      'signal rideEvent does not carry events of deployment penguin-species (send "events")',
    );
  });

  it('skips repeats, lets a replay through, counts outcomes and label summaries', () => {
    const m = make();
    m.setDeployment({ deployment: 'penguin-species', model });
    m.receive(
      'events',
      [
        { event_id: 'a', record: {} },
        { event_id: 'a', record: {} },
      ],
      now,
    );
    expect(m.state()).toMatchObject({ received: 2, duplicates: 1, queueLength: 1 });
    const slice = m.nextSlice();
    const payload = { model: 'penguin-species', version: '1', prediction: { label: 'Adelie' } };
    m.apply({
      scored: [{ value: 'Adelie', payload }],
      deadLettered: 0,
      duplicates: 0,
      lastEventId: slice[0]?.event_id,
    });
    m.replay({ event_id: 'a', record: { island: 'Dream' }, received_at: now });
    expect(m.queue[0]).toMatchObject({ event_id: 'a', replay: true });
    expect(m.state()).toMatchObject({
      processed: 1,
      replayed: 1,
      lastEventId: 'a',
      lastPrediction: payload,
      predictions: { count: 1, mean: null, labels: { Adelie: 1 } },
    });
  });

  it('is due to hand over after canAfterEvents, and the next run starts from its carry', () => {
    const m = make({ canAfterEvents: 2 });
    m.setDeployment({ deployment: 'penguin-species', model });
    const clock = { historyLength: 10, continueAsNewSuggested: false };
    m.receive('events', { event_id: 'a', record: {} }, now);
    expect(m.handOverDue(clock)).toBe(false);
    m.receive('events', { event_id: 'b', record: {} }, now);
    expect(m.handOverDue(clock)).toBe(true);
    const next = new StreamManager('s', m.options, { runId: 'run-2', startedAt: now }, m.carry(false));
    expect(next.state()).toMatchObject({
      runs: 1,
      received: 2,
      queueLength: 2,
      deployment: 'penguin-species',
    });
    expect(next.handOverDue(clock)).toBe(false);
    next.receive('events', { event_id: 'b', record: {} }, now); // the carried window still knows b
    expect(next.state().duplicates).toBe(1);
  });
});
