/**
 * Stream control functions on real parts: edge validation of sendEvents, typed errors, the resumable SSE source
 * (table then NOTIFY), and the raw `temporal workflow signal` path with the real CLI binary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamWorkflowId } from '../contracts/stream.js';
import { createPool } from '../db/pool.js';
import {
  countRows,
  makeEvents,
  startStreamKit,
  temporalCli,
  waitForState,
  waitUntil,
  type StreamKit,
  persistedEventIds,
} from '../test/stream-kit.js';
import { uniqueId } from '../test/helpers.js';
import { watchStreamRollovers } from './stream-rollover.js';
import {
  createStreamSender,
  drainStream,
  getStreamState,
  InvalidStreamIdError,
  replayDeadLetter,
  sendEvents,
  streamPredictions,
  StreamNotFoundError,
  type StreamPredictionEvent,
} from './streams.js';

describe('stream control', () => {
  let kit: StreamKit;
  beforeAll(async () => {
    kit = await startStreamKit();
  });
  afterAll(async () => {
    await kit?.stop();
  });

  it('rejects malformed events at the edge, drops repeats within a request, and stamps received_at', async () => {
    const id = uniqueId('edge');
    const [a, b] = makeEvents(2);
    const sent = await sendEvents(kit.temporal.client, kit.config, id, [
      a,
      { ride_id: 7 },
      'nope',
      { ride: {}, ride_id: '', event_id: 3, received_at: 'yesterday' },
      b,
      a,
    ]);
    expect(sent).toMatchObject({ streamId: id, workflowId: `stream-${id}`, accepted: 2, duplicates: 1 });
    expect(sent.rejected).toEqual([
      { index: 1, field: 'ride', message: 'must be an object' },
      { index: 2, field: '(event)', message: 'must be a JSON object' },
      { index: 3, field: 'ride_id', message: 'must be a non-empty string (≤ 200 chars) or a number' },
      { index: 3, field: 'event_id', message: 'must be a non-empty string (≤ 200 chars)' },
      { index: 3, field: 'received_at', message: 'must be an ISO 8601 timestamp' },
    ]);
    await waitUntil('2 rows', async () => (await countRows(kit.db.pool, 'stream_predictions', id)) === 2);
    const { rows } = await kit.db.pool.query<{ received_at: Date }>(
      'SELECT received_at FROM stream_predictions WHERE stream_id = $1',
      [id],
    );
    expect(rows.map((r) => r.received_at.toISOString())).toEqual([sent.receivedAt, sent.receivedAt]);
    await expect(sendEvents(kit.temporal.client, kit.config, 'bad id!', [a])).rejects.toThrow(
      InvalidStreamIdError,
    );
    await drainStream(kit.temporal.client, id);
  });

  it('a StreamSender coalesces concurrent sends to one stream into few signals, keeping call order', async () => {
    const id = uniqueId('coalesce');
    const sender = createStreamSender(kit.temporal.client, kit.config);
    const events = makeEvents(60);
    const results = await Promise.all(events.map((e) => sender.send(id, [e])));
    expect(results.every((r) => r.accepted === 1)).toBe(true);
    await waitForState(
      () => getStreamState(kit.temporal.client, id),
      (s) => s.processed === 60,
    );
    const ids = await persistedEventIds(kit.db.pool, id);
    expect(ids).toEqual(events.map((e) => String(e.ride_id)));
    const history = await kit.temporal.client.workflow.getHandle(streamWorkflowId(id)).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    expect(signals).toBeLessThan(10); // first send alone, then the rest grouped while it was in flight
    await expect(sender.send('bad id!', events)).rejects.toThrow(InvalidStreamIdError);
    await drainStream(kit.temporal.client, id);
  });

  it('a StreamSender with a rollover watch pauses a stream while it continues as new: no hand-over races a signal', async () => {
    const id = uniqueId('rollover');
    const rollover = await watchStreamRollovers({ pool: kit.db.pool, maxHoldMs: 15_000 });
    const sender = createStreamSender(kit.temporal.client, kit.config, { rollover });
    const events = makeEvents(200);
    const options = { streamOptions: { canAfterEvents: 40, rolloverGraceMs: 200 } };
    try {
      // A steady producer: a send every 5 ms, each its own request, none waiting for the previous one.
      const sends: Promise<unknown>[] = [];
      for (const e of events) {
        sends.push(sender.send(id, [e], options));
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(sends);
      const state = await waitForState(
        () => getStreamState(kit.temporal.client, id),
        (s) => s.processed === events.length,
      );
      expect(state.runs).toBeGreaterThanOrEqual(2);
      const ids = await persistedEventIds(kit.db.pool, id);
      expect(ids).toEqual(events.map((e) => String(e.ride_id)));
      // Every hand-over announced itself and was released by the next run, none by the safety timeout.
      expect(rollover.stats()).toEqual({ holds: state.runs, released: state.runs, timedOut: 0 });
      // And none raced a signal: no closing run has a failed workflow task (the server's "unhandled command").
      const runs: string[] = [];
      await waitUntil('closed runs listed', async () => {
        runs.length = 0;
        for await (const w of kit.temporal.client.workflow.list({ query: `WorkflowId = 'stream-${id}'` }))
          if (w.status.name === 'CONTINUED_AS_NEW') runs.push(w.runId);
        return runs.length === state.runs;
      });
      for (const runId of runs) {
        const history = await kit.temporal.client.workflow
          .getHandle(streamWorkflowId(id), runId)
          .fetchHistory();
        const failedTasks = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
        expect(failedTasks).toEqual([]);
      }
    } finally {
      await rollover.close();
    }
    await drainStream(kit.temporal.client, id);
  });

  it('answers StreamNotFoundError for a stream that never started', async () => {
    await expect(getStreamState(kit.temporal.client, uniqueId('ghost'))).rejects.toThrow(StreamNotFoundError);
    await expect(replayDeadLetter(kit.temporal.client, uniqueId('ghost'), 'x')).rejects.toThrow(
      StreamNotFoundError,
    );
  });

  it('SSE source resumes after a given id from the table, then follows NOTIFY', async () => {
    const id = uniqueId('sse');
    await sendEvents(kit.temporal.client, kit.config, id, makeEvents(20));
    await waitForState(
      () => getStreamState(kit.temporal.client, id),
      (s) => s.processed === 20,
    );
    const { rows } = await kit.db.pool.query<{ id: string }>(
      'SELECT p.id::text AS id FROM stream_predictions p WHERE p.stream_id = $1 ORDER BY p.id',
      [id],
    );
    const fifth = rows[4]?.id;
    if (!fifth) throw new Error('no rows');

    const ssePool = createPool(kit.db.url, { max: 2 });
    const abort = new AbortController();
    const got: StreamPredictionEvent[] = [];
    const consumer = (async () => {
      for await (const event of streamPredictions(ssePool, id, {
        afterId: fifth,
        signal: abort.signal,
      })) {
        got.push(event);
        if (got.length === 15) {
          // caught up from the table: now produce more, which must arrive through NOTIFY
          void sendEvents(kit.temporal.client, kit.config, id, makeEvents(5, { from: 20 }));
        }
        if (got.length === 20) abort.abort();
      }
    })();
    await consumer;
    expect(got.map((e) => e.eventId)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 5)));
    const ids = got.map((e) => BigInt(e.id));
    expect(ids.every((v, i) => i === 0 || v > (ids[i - 1] ?? 0n))).toBe(true);
    expect(ids[0]).toBeGreaterThan(BigInt(fifth));
    expect(got[0]?.data).toMatchObject({ model: 'ride-duration', version: '2', prediction: { ride_id: 5 } });
    expect(ssePool.totalCount - ssePool.idleCount).toBe(0); // the LISTEN connection went back to the pool
    await ssePool.end();
    await drainStream(kit.temporal.client, id);
  });

  it('accepts raw `temporal workflow signal` events (one and many) and the state query from the CLI', async () => {
    const id = uniqueId('cli');
    const wf = streamWorkflowId(id);
    // Start the stream without events via the CLI, exactly as docs/streaming.md shows.
    await temporalCli([
      'workflow',
      'start',
      '--type',
      'streamScoring',
      '--task-queue',
      kit.config.temporal.taskQueue,
      '--workflow-id',
      wf,
      '--input',
      JSON.stringify({ streamId: id }),
    ]);
    await temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      wf,
      '--name',
      'rideEvent',
      '--input',
      '{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 256}',
    ]);
    await temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      wf,
      '--name',
      'rideEvents',
      '--input',
      '[{"ride": {"PULocationID": 43, "DOLocationID": 151, "trip_distance": 1.1}, "ride_id": "r-1", "event_id": "e-1"}, {"ride": {"PULocationID": 43}, "ride_id": 9}]',
    ]);
    const s = await waitForState(
      () => getStreamState(kit.temporal.client, id),
      (x) => x.processed + x.failed === 3,
    );
    expect(s).toMatchObject({ processed: 2, failed: 1, lastEventId: '9' });
    const { rows } = await kit.db.pool.query<{
      event_id: string;
      ride_id: string;
      received_at: Date;
      payload: unknown;
    }>(
      'SELECT event_id, ride_id, received_at, payload FROM stream_predictions WHERE stream_id = $1 ORDER BY id',
      [id],
    );
    expect(rows.map((r) => [r.event_id, r.ride_id])).toEqual([
      ['256', '256'],
      ['e-1', 'r-1'],
    ]);
    expect(rows[0]?.payload).toMatchObject({
      model: 'ride-duration',
      version: '2',
      prediction: { ride_id: 256 },
    });
    // No time in the signal: the workflow stamped its own (replay-safe) time when the handler ran.
    expect(Math.abs(Date.now() - (rows[0]?.received_at.getTime() ?? 0))).toBeLessThan(60_000);
    const dead = await kit.db.pool.query<{ error: string }>(
      'SELECT error FROM dead_letters WHERE stream_id = $1',
      [id],
    );
    expect(dead.rows[0]?.error).toMatch(/^DOLocationID: must be an integer/);

    const out = await temporalCli([
      'workflow',
      'query',
      '--workflow-id',
      wf,
      '--name',
      'state',
      '--output',
      'json',
    ]);
    expect(out).toContain('"processed": 2');
    const setModel = await temporalCli([
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      wf,
      '--name',
      'setModel',
      '--input',
      '"ride-duration@1"',
    ]);
    expect(setModel).toContain('ride-duration@1');
    await temporalCli([
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      wf,
      '--name',
      'replayDeadLetter',
      '--input',
      JSON.stringify({ eventId: '9', ride: { PULocationID: 43, DOLocationID: 151, trip_distance: 2 } }),
    ]);
    const replayed = await waitForState(
      () => getStreamState(kit.temporal.client, id),
      (x) => x.processed === 3,
    );
    expect(replayed).toMatchObject({ replayed: 1, model: 'ride-duration@1' });
    await drainStream(kit.temporal.client, id);
  });
});
