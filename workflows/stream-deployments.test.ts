/**
 * A stream of another deployment on real parts (Temporal dev server, Postgres, ONNX Runtime): penguin-species
 * events in the generic format `{event_id, record}`, with a repeated id and a poison record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamWorkflowId, type StreamState } from '../contracts/stream.js';
import { drainStream, sendEvents } from '../control/streams.js';
import { uniqueId } from '../test/helpers.js';
import { penguinRecords, persistedEventIds, startStreamKit, type StreamKit } from '../test/stream-kit.js';

describe('a penguin-species stream (generic events)', () => {
  let kit: StreamKit;
  beforeAll(async () => {
    kit = await startStreamKit();
  });
  afterAll(async () => {
    await kit?.stop();
  });

  it('persists label + probabilities in order, skips a repeated event id, dead-letters a bad island naming the field', async () => {
    const id = uniqueId('penguins');
    const records = await penguinRecords(12);
    const events = records.map((record, i) => ({ event_id: `e-${i}`, record }));
    const poison = events[4];
    if (!poison) throw new Error('no event');
    poison.record = { ...poison.record, island: 'Atlantis' };
    const first = await sendEvents(kit.temporal.client, kit.config, id, events.slice(0, 8), {
      deployment: 'penguin-species',
    });
    expect(first).toMatchObject({ accepted: 8, duplicates: 0, rejected: [] });
    // The repeat comes in a later request, so the workflow (not the edge) must skip it.
    await sendEvents(kit.temporal.client, kit.config, id, [events[2], ...events.slice(8)], {
      deployment: 'penguin-species',
    });
    await drainStream(kit.temporal.client, id);
    const final = (await kit.temporal.client.workflow
      .getHandle(streamWorkflowId(id))
      .result()) as StreamState;
    expect(final).toMatchObject({
      deployment: 'penguin-species',
      model: 'penguin-species@1',
      received: 13,
      processed: 11,
      failed: 1,
      duplicates: 1,
      lastEventId: 'e-11',
    });

    const good = events.filter((e) => e !== poison);
    expect(await persistedEventIds(kit.db.pool, id)).toEqual(good.map((e) => e.event_id));
    const direct = await kit.scorer.score(
      'penguin-species@1',
      good.map((e) => e.record),
    );
    const { rows } = await kit.db.pool.query<{
      deployment: string;
      record_key: string;
      payload: { prediction: { label: string; probabilities: Record<string, number> } };
      ride_id: string | null;
    }>(
      'SELECT deployment, record_key, payload, ride_id FROM stream_predictions WHERE stream_id = $1 ORDER BY id',
      [id],
    );
    expect(rows.map((r) => r.payload.prediction.label)).toEqual(direct.predictions);
    expect(rows[0]).toMatchObject({ deployment: 'penguin-species', record_key: 'p-0', ride_id: null });
    const probabilities = rows[0]?.payload.prediction.probabilities ?? {};
    expect(Object.keys(probabilities).sort()).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    expect(Object.values(probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(rows[0]?.payload).toEqual({
      model: 'penguin-species',
      version: '1',
      event_id: 'e-0',
      key: 'p-0',
      prediction: { label: direct.predictions[0], probabilities },
    });
    expect(final.lastPrediction).toMatchObject({ event_id: 'e-11', key: 'p-11' });
    const labels = final.predictions.labels ?? {};
    expect(Object.values(labels).reduce((a, b) => a + b, 0)).toBe(11);
    expect(final.predictions.mean).toBeNull();

    const dead = await kit.db.pool.query<{ event_id: string; error: string; attempts: number }>(
      'SELECT event_id, error, attempts FROM dead_letters WHERE stream_id = $1',
      [id],
    );
    expect(dead.rows).toHaveLength(1);
    expect(dead.rows[0]).toMatchObject({ event_id: 'e-4', attempts: 1 });
    expect(dead.rows[0]?.error).toBe(
      'island: must be one of "Biscoe", "Dream", "Torgersen" (got "Atlantis")',
    );
  });

  it('refuses a deployment that does not exist, naming it, before any event is scored', async () => {
    const id = uniqueId('nodeploy');
    await sendEvents(kit.temporal.client, kit.config, id, [{ event_id: 'x', record: {} }], {
      deployment: 'no-such-thing',
    });
    const failure: unknown = await kit.temporal.client.workflow
      .getHandle(streamWorkflowId(id))
      .result()
      .catch((err: unknown) => err);
    expect(String((failure as { cause?: { cause?: Error } }).cause?.cause?.message)).toMatch(
      /deployment "no-such-thing" is not ready on this worker \(ready: penguin-species, ride-duration\)/,
    );
  });
});
