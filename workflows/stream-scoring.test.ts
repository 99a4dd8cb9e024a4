/**
 * The streaming workflow end to end on real parts (Temporal dev server, Postgres, ONNX models): order, retries,
 * dead letters and replay, duplicates, continue-as-new, state, pause/resume/drain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drainStream,
  getStreamState,
  pauseStream,
  replayDeadLetter,
  resumeStream,
  sendEvents,
  setStreamModel,
  StreamControlError,
} from '../control/streams.js';
import { streamWorkflowId, type StreamCarry, type StreamState } from '../contracts/stream.js';
import {
  ALWAYS_FAILS,
  countRows,
  FAILS_TWICE,
  makeEvents,
  startStreamKit,
  waitForState,
  type StreamKit,
  persistedEventIds,
} from '../test/stream-kit.js';
import { uniqueId } from '../test/helpers.js';

describe('streamScoring workflow', () => {
  let kit: StreamKit;
  beforeAll(async () => {
    kit = await startStreamKit();
  });
  afterAll(async () => {
    await kit?.stop();
  });

  const state = (id: string) => getStreamState(kit.temporal.client, id);
  const result = (id: string) =>
    kit.temporal.client.workflow.getHandle(streamWorkflowId(id)).result() as Promise<StreamState>;

  it('persists 1,000 events in arrival order with the scorer’s exact predictions', async () => {
    const id = uniqueId('order');
    const events = makeEvents(1000);
    for (let i = 0; i < events.length; i += 100) {
      const sent = await sendEvents(kit.temporal.client, kit.config, id, events.slice(i, i + 100));
      expect(sent).toMatchObject({ accepted: 100, duplicates: 0, rejected: [] });
    }
    await drainStream(kit.temporal.client, id);
    const final = await result(id);
    expect(final).toMatchObject({
      processed: 1000,
      failed: 0,
      duplicates: 0,
      queueLength: 0,
      received: 1000,
    });

    const { rows } = await kit.db.pool.query<{ event_id: string; ride_duration: number; payload: unknown }>(
      'SELECT event_id, ride_duration, payload FROM stream_predictions WHERE stream_id = $1 ORDER BY id',
      [id],
    );
    expect(rows.map((r) => r.event_id)).toEqual(events.map((e) => String(e.ride_id)));
    const direct = await kit.scorer.score(
      'ride-duration@production',
      events.map((e) => e.ride),
    );
    expect(direct.model).toEqual({ name: 'ride-duration', version: '2' });
    expect(rows.map((r) => r.ride_duration)).toEqual(direct.predictions);
    expect(rows[0]?.payload).toEqual({
      model: 'ride-duration',
      version: '2',
      prediction: { ride_duration: direct.predictions[0], ride_id: 0 },
    });
    expect(final.model).toBe('ride-duration@2');
    expect(final.lastEventId).toBe('999');
    expect(final.lastPrediction?.prediction).toEqual({
      ride_duration: direct.predictions[999],
      ride_id: 999,
    });
    const values = direct.predictions.filter((p): p is number => p !== null);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(final.predictions.count).toBe(1000);
    expect(final.predictions.mean).toBeCloseTo(mean, 6);
    const sorted = [...values].sort((a, b) => a - b);
    expect(Math.abs((final.predictions.p50 ?? 0) - (sorted[499] ?? 0))).toBeLessThanOrEqual(0.125);
    expect(Math.abs((final.predictions.p90 ?? 0) - (sorted[899] ?? 0))).toBeLessThanOrEqual(0.125);
  });

  it('retries a transient scorer failure and persists the event once, with its attempt number', async () => {
    const id = uniqueId('retry');
    const events = makeEvents(5);
    const flaky = events[2];
    if (!flaky) throw new Error('no event');
    flaky.ride.trip_distance = FAILS_TWICE;
    const before = kit.flakyCalls();
    await sendEvents(kit.temporal.client, kit.config, id, events);
    await drainStream(kit.temporal.client, id);
    expect(await result(id)).toMatchObject({ processed: 5, failed: 0 });
    expect(kit.flakyCalls() - before).toBe(3);
    const { rows } = await kit.db.pool.query<{ event_id: string; attempts: number }>(
      'SELECT event_id, attempts FROM stream_predictions WHERE stream_id = $1 ORDER BY id',
      [id],
    );
    expect(rows.map((r) => r.event_id)).toEqual(['0', '1', '2', '3', '4']);
    expect(rows.find((r) => r.event_id === '2')?.attempts).toBe(3);
    expect(await countRows(kit.db.pool, 'dead_letters', id)).toBe(0);
  });

  it('dead-letters a poison event (invalid feature, or retries exhausted), keeps flowing, and replays it', async () => {
    const id = uniqueId('poison');
    const events = makeEvents(6);
    const [, bad, , crash] = events;
    if (!bad || !crash) throw new Error('no event');
    bad.ride.PULocationID = 0;
    crash.ride.trip_distance = ALWAYS_FAILS;
    await sendEvents(kit.temporal.client, kit.config, id, events);
    const s = await waitForState(
      () => state(id),
      (x) => x.processed + x.failed === 6,
    );
    expect(s).toMatchObject({ processed: 4, failed: 2 });

    const { rows } = await kit.db.pool.query<{ event_id: string; error: string; attempts: number }>(
      'SELECT event_id, error, attempts FROM dead_letters WHERE stream_id = $1 ORDER BY event_id',
      [id],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ event_id: '1', attempts: 1 });
    expect(rows[0]?.error).toMatch(/^PULocationID: /);
    expect(rows[1]).toMatchObject({ event_id: '3', attempts: 3 });
    expect(rows[1]?.error).toMatch(/retries exhausted after 3 attempts: injected: the scorer crashes/);
    const ids = await persistedEventIds(kit.db.pool, id);
    expect(ids).toEqual(['0', '2', '4', '5']);

    // Replay after a fix: the corrected ride is scored; replaying again finds nothing pending.
    const replay = await replayDeadLetter(kit.temporal.client, id, '1', { ...bad.ride, PULocationID: 130 });
    expect(replay.eventId).toBe('1');
    await waitForState(
      () => state(id),
      (x) => x.processed === 5 && x.replayed === 1,
    );
    const after = await kit.db.pool.query<{ replayed_at: Date | null }>(
      `SELECT replayed_at FROM dead_letters WHERE stream_id = $1 AND event_id = '1'`,
      [id],
    );
    expect(after.rows[0]?.replayed_at).toBeInstanceOf(Date);
    await expect(replayDeadLetter(kit.temporal.client, id, '1')).rejects.toThrow(StreamControlError);
    await expect(replayDeadLetter(kit.temporal.client, id, '1')).rejects.toThrow(
      /no pending dead letter for event 1/,
    );
    await drainStream(kit.temporal.client, id);
    await result(id);
  });

  it('with regular (non-local) activities: scores in order, dead-letters the poison event, keeps flowing', async () => {
    const id = uniqueId('regular');
    const events = makeEvents(8);
    const crash = events[4];
    if (!crash) throw new Error('no event');
    crash.ride.trip_distance = ALWAYS_FAILS;
    await sendEvents(kit.temporal.client, kit.config, id, events, {
      streamOptions: { localActivities: false },
    });
    const s = await waitForState(
      () => state(id),
      (x) => x.processed + x.failed === 8,
    );
    expect(s).toMatchObject({ processed: 7, failed: 1, options: { localActivities: false } });
    const ids = await persistedEventIds(kit.db.pool, id);
    expect(ids).toEqual(['0', '1', '2', '3', '5', '6', '7']);
    const history = await kit.temporal.client.workflow.getHandle(streamWorkflowId(id)).fetchHistory();
    const scheduled = (history.events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'scoreStreamEvents',
    );
    expect(scheduled.length).toBeGreaterThan(0);
    await drainStream(kit.temporal.client, id);
    await result(id);
  });

  it('counts and skips 10% resent ids, never scoring one twice', async () => {
    const id = uniqueId('dup');
    const events = makeEvents(500);
    await sendEvents(kit.temporal.client, kit.config, id, events.slice(0, 250));
    const resent = events.filter((_, i) => i % 10 === 0).slice(0, 25); // 25 of the first 250, sent again
    await sendEvents(kit.temporal.client, kit.config, id, [...resent, ...events.slice(250, 375)]);
    const resent2 = events.slice(250, 375).filter((_, i) => i % 5 === 0); // 25 more
    await sendEvents(kit.temporal.client, kit.config, id, [...resent2, ...events.slice(375)]);
    await drainStream(kit.temporal.client, id);
    const final = await result(id);
    expect(final).toMatchObject({ received: 550, processed: 500, duplicates: 50, failed: 0 });
    expect(await countRows(kit.db.pool, 'stream_predictions', id)).toBe(500);
  });

  it('pauses, resumes, reports state, switches model, and drains to completion', async () => {
    const id = uniqueId('ctl');
    await sendEvents(kit.temporal.client, kit.config, id, makeEvents(3));
    await waitForState(
      () => state(id),
      (x) => x.processed === 3,
    );
    await pauseStream(kit.temporal.client, id);
    await waitForState(
      () => state(id),
      (x) => x.paused,
    );
    await sendEvents(kit.temporal.client, kit.config, id, makeEvents(7, { from: 3 }));
    const paused = await waitForState(
      () => state(id),
      (x) => x.queueLength === 7,
    );
    expect(paused).toMatchObject({ processed: 3, paused: true, inFlight: 0, model: 'ride-duration@2' });
    expect(Date.parse(paused.startedAt)).not.toBeNaN();

    await expect(setStreamModel(kit.temporal.client, id, 'ride-duration@nope')).rejects.toThrow(
      /Model "ride-duration@nope" not found/,
    );
    expect(await setStreamModel(kit.temporal.client, id, 'ride-duration@staging')).toBe('ride-duration@1');
    await resumeStream(kit.temporal.client, id);
    const resumed = await waitForState(
      () => state(id),
      (x) => x.processed === 10,
    );
    expect(resumed).toMatchObject({
      paused: false,
      queueLength: 0,
      lastEventId: '9',
      model: 'ride-duration@1',
    });
    expect(resumed.lastPrediction).toMatchObject({ model: 'ride-duration', version: '1' });
    const versions = await kit.db.pool.query<{ version: string; n: number }>(
      'SELECT version, count(*)::int AS n FROM stream_predictions WHERE stream_id = $1 GROUP BY 1 ORDER BY 1',
      [id],
    );
    expect(versions.rows).toEqual([
      { version: '1', n: 7 },
      { version: '2', n: 3 },
    ]);

    // Drain while paused: the queue is still finished, then the run completes with its final state.
    await pauseStream(kit.temporal.client, id);
    await sendEvents(kit.temporal.client, kit.config, id, makeEvents(5, { from: 10 }));
    await waitForState(
      () => state(id),
      (x) => x.queueLength === 5,
    );
    await drainStream(kit.temporal.client, id);
    expect(await result(id)).toMatchObject({ processed: 15, queueLength: 0, draining: true });
  });

  it('continues-as-new under a lowered threshold, keeping state, dedup window and events sent meanwhile', async () => {
    const id = uniqueId('can');
    const options = { streamOptions: { canAfterEvents: 40, maxRun: 10 } };
    const events = makeEvents(600);
    // 3 producers, each sending 20 batches of 10 one after another: signals keep arriving while runs continue-as-new.
    await Promise.all(
      [0, 1, 2].map(async (p) => {
        for (let b = 0; b < 20; b++) {
          const from = (b * 3 + p) * 10;
          await sendEvents(kit.temporal.client, kit.config, id, events.slice(from, from + 10), options);
          await new Promise((r) => setTimeout(r, 30));
        }
      }),
    );
    const s = await waitForState(
      () => state(id),
      (x) => x.processed === 600,
      120_000,
    );
    expect(s.runs).toBeGreaterThanOrEqual(3);
    expect(s).toMatchObject({ received: 600, duplicates: 0, failed: 0, queueLength: 0 });
    expect(s.predictions.count).toBe(600);

    // The current run was started with the carried dedup window (oldest ids evicted only past its size).
    const history = await kit.temporal.client.workflow.getHandle(streamWorkflowId(id)).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    if (!started) throw new Error('no start input');
    const carried = (JSON.parse(Buffer.from(started).toString()) as { carried: StreamCarry }).carried;
    expect(carried.recentIds.length).toBeGreaterThanOrEqual(40);
    expect(carried.counters.processed).toBeGreaterThan(0);

    // A resend of an id from an earlier run is caught by the window without reaching the activity.
    await sendEvents(
      kit.temporal.client,
      kit.config,
      id,
      [events[599], events[598]].flatMap((e) => (e ? [e] : [])),
    );
    const dup = await waitForState(
      () => state(id),
      (x) => x.duplicates === 2,
    );
    expect(dup.processed).toBe(600);
    expect(await countRows(kit.db.pool, 'stream_predictions', id)).toBe(600);
    const ids = await persistedEventIds(kit.db.pool, id);
    expect(new Set(ids).size).toBe(600);
    await drainStream(kit.temporal.client, id);
    await result(id);
  });
  it('spills a queue too long to carry into stream_queue at continue-as-new, then scores it first, in order', async () => {
    const id = uniqueId('spill');
    const options = { streamOptions: { canAfterEvents: 100, maxCarriedQueue: 50, maxRun: 50 } };
    await sendEvents(kit.temporal.client, kit.config, id, makeEvents(1), options);
    await waitForState(
      () => state(id),
      (x) => x.processed === 1,
    );
    await pauseStream(kit.temporal.client, id);
    await waitForState(
      () => state(id),
      (x) => x.paused,
    );
    const events = makeEvents(400, { from: 1 });
    for (let i = 0; i < events.length; i += 100)
      await sendEvents(kit.temporal.client, kit.config, id, events.slice(i, i + 100), options);
    const spilled = await waitForState(
      () => state(id),
      (x) => x.runs >= 1 && x.queueLength === 400,
    );
    expect(spilled.spilled).toBeGreaterThanOrEqual(300);
    const { rows: queued } = await kit.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM stream_queue WHERE stream_id = $1',
      [id],
    );
    expect(queued[0]?.n).toBe(spilled.spilled);

    await resumeStream(kit.temporal.client, id);
    const done = await waitForState(
      () => state(id),
      (x) => x.processed === 401,
    );
    expect(done).toMatchObject({ spilled: 0, queueLength: 0, duplicates: 0, failed: 0, lastEventId: '400' });
    const ids = await persistedEventIds(kit.db.pool, id);
    expect(ids.map(Number)).toEqual(Array.from({ length: 401 }, (_, i) => i));
    expect(await countRows(kit.db.pool, 'stream_predictions', id)).toBe(401);
    const left = await kit.db.pool.query('SELECT 1 FROM stream_queue WHERE stream_id = $1', [id]);
    expect(left.rowCount).toBe(0);
    await drainStream(kit.temporal.client, id);
    await result(id);
  });
});
