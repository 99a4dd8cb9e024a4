/**
 * The batch load path on a real Postgres, through the ride-duration deployment's layout: COPY binary reads of a
 * key range (exact keys, NULLs, fractional seconds, resume after a key) and the exactly-once write (direct COPY,
 * then the upsert fallback on existing keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBatchTables, planBatchLayout, type BatchLayout } from '../activities/batch-layout.js';
import { formatTimestamp, keyText, SinkCopy } from '../db/queries/batch-copy.js';
import { writeScoredBatch } from '../db/queries/batch-sink.js';
import { readPage, type KeyRange } from '../db/queries/batch-source.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { createTestDatabase, createTestScorer, loadTestDeployments, type TestDatabase } from './helpers.js';

/** A prediction row as the batch mode writes it for a regression deployment with labels. */
class PredictionCopy {
  private readonly copy: SinkCopy;
  constructor(meta: { modelName: string; modelVersion: string; runId: string }, rows: number) {
    this.copy = new SinkCopy(meta, 3, rows);
  }
  add(id: string, predicted: number, actual: number | null): void {
    const key = Buffer.from(id, 'utf8');
    this.copy.begin(key, 0, key.length);
    this.copy.float8(predicted);
    this.copy.float8(actual);
    this.copy.float8(actual === null ? null : predicted - actual);
    this.copy.end();
  }
  finish(): Buffer {
    return this.copy.finish();
  }
}

const DAY = { from: '2030-03-01T00:00:00', to: '2030-03-02T00:00:00' };
const META = { modelName: 'ride-duration', modelVersion: '2', runId: 'load-test/1' };

describe('batch load path', () => {
  let db: TestDatabase;
  let scorer: ModelScorer;
  let layout: BatchLayout;

  beforeAll(async () => {
    db = await createTestDatabase();
    scorer = await createTestScorer();
    const deployment = (await loadTestDeployments(db.pool, scorer)).get('ride-duration');
    const model = scorer.registry.get('ride-duration', '2');
    if (!deployment || !model) throw new Error('the ride-duration deployment and model 2 must load');
    const planned = planBatchLayout(deployment, model, await describeBatchTables(db.pool, deployment));
    if (!planned.ok) throw new Error(planned.problems.join('; '));
    layout = planned.layout;
    // Rows sharing a second, fractional seconds, NULL features and actuals, a non-ASCII id, one row outside the day.
    await db.pool.query(
      `INSERT INTO rides (ride_id, pickup_datetime, dropoff_datetime, pu_location_id, do_location_id,
         trip_distance, actual_duration, source_file)
       SELECT 'r' || lpad(i::text, 4, '0'), ts, ts + interval '10 minutes',
              CASE WHEN i % 17 = 0 THEN NULL ELSE i % 260 + 1 END, i % 250 + 1,
              CASE WHEN i % 23 = 0 THEN NULL ELSE i / 10.0 END,
              CASE WHEN i % 5 = 0 THEN NULL ELSE i / 7.0 END, 'load-test'
       FROM (SELECT i, timestamp '2030-03-01 06:00:00' + (i / 3) * interval '1.25 seconds' AS ts
             FROM generate_series(1, 500) AS i) g
       UNION ALL SELECT 'ünï-1', '2030-03-01 07:00:00.000001', '2030-03-01 07:10:00', 1, 2, 3.5, 10, 'load-test'
       UNION ALL SELECT 'outside', '2030-03-02 00:00:00', '2030-03-02 00:10:00', 1, 2, 3.5, 10, 'load-test'`,
    );
  });
  afterAll(async () => {
    await scorer?.close();
    await db?.drop();
  });
  const readRidePage = async (client: Parameters<typeof readPage>[0], range: KeyRange, limit: number) => {
    const page = await readPage(client, layout.source, layout.reads, range, limit);
    const ids = Array.from({ length: page.count }, (_, i) => keyText(page, layout.source.key.type, i));
    return { rides: page.records, ids, actual: page.numericLabels ?? new Float64Array(0), last: page.last };
  };

  const expected = async (where = 'TRUE', params: unknown[] = []) =>
    (
      await db.pool.query<{
        ride_id: string;
        pickup_datetime: string;
        pu_location_id: number | null;
        do_location_id: number | null;
        trip_distance: number | null;
        actual_duration: number | null;
      }>(
        `SELECT ride_id, pickup_datetime, pu_location_id, do_location_id, trip_distance, actual_duration
         FROM rides WHERE pickup_datetime >= $1 AND pickup_datetime < $2 AND ${where}
         ORDER BY pickup_datetime, ride_id`,
        [DAY.from, DAY.to, ...params],
      )
    ).rows;

  it('formats binary timestamps as the naive text Postgres prints', () => {
    expect(formatTimestamp(0)).toBe('2000-01-01T00:00:00');
    expect(formatTimestamp(1_500_000)).toBe('2000-01-01T00:00:01.5');
    expect(formatTimestamp(1)).toBe('2000-01-01T00:00:00.000001');
    expect(formatTimestamp(-1)).toBe('1999-12-31T23:59:59.999999');
  });

  it('reads a key range page by page, in key order, exactly like a SELECT', async () => {
    const all = await expected();
    expect(all).toHaveLength(501);
    const client = await db.pool.connect();
    try {
      const range: KeyRange = { ...DAY };
      const seen: unknown[] = [];
      for (;;) {
        const page = await readRidePage(client, range, 64);
        page.ids.forEach((id, i) => {
          const ride = page.rides[i];
          const actual = page.actual[i] as number;
          seen.push({
            ride_id: id,
            pickup_datetime: ride?.pickup_datetime,
            pu_location_id: ride?.PULocationID,
            do_location_id: ride?.DOLocationID,
            trip_distance: ride?.trip_distance,
            actual_duration: Number.isNaN(actual) ? null : actual,
          });
        });
        if (!page.last) break;
        range.after = page.last;
      }
      expect(seen).toEqual(all);

      // A chunk's start (inclusive) and end (exclusive), resumed after a key with a fractional second.
      const start = { time: all[30]?.pickup_datetime ?? '', key: all[30]?.ride_id ?? '' };
      const end = { time: all[90]?.pickup_datetime ?? '', key: all[90]?.ride_id ?? '' };
      const after = { time: all[31]?.pickup_datetime ?? '', key: all[31]?.ride_id ?? '' };
      expect(after.time).toMatch(/\.\d+$/);
      const page = await readRidePage(client, { ...DAY, start, end, after }, 1000);
      expect(page.ids).toEqual(all.slice(32, 90).map((r) => r.ride_id));
      expect(page.last).toEqual({ time: all[89]?.pickup_datetime, key: all[89]?.ride_id });
    } finally {
      client.release();
    }
  });

  it('writes straight into predictions, then upserts a batch whose keys exist: one row per ride', async () => {
    const rows = await expected('actual_duration IS NOT NULL OR ride_id = $3', ['r0005']);
    const batch = (predicted: number, from: number, to: number) => {
      const copy = new PredictionCopy(META, 1); // starts too small: the builder grows
      for (const r of rows.slice(from, to)) copy.add(r.ride_id, predicted, r.actual_duration);
      return copy.finish();
    };
    const client = await db.pool.connect();
    try {
      const write = (copy: Buffer | null, rejected: { rideId: string; field: string; reason: string }[]) =>
        writeScoredBatch(
          client,
          layout.sink,
          META,
          copy,
          rejected.map((r) => ({ key: r.rideId, field: r.field, reason: r.reason })),
        );
      expect(await write(batch(1.5, 0, 200), [])).toBe('direct');
      // A retry overlapping the first batch (and adding new rides) falls back to the upsert, in one transaction.
      const rejected = [{ rideId: 'r0017', field: 'PULocationID', reason: 'must be an integer' }];
      expect(await write(batch(2.5, 100, rows.length), rejected)).toBe('upsert');
      expect(await write(null, rejected)).toBe('upsert');
    } finally {
      client.release();
    }
    const { rows: stored } = await db.pool.query<{ ride_id: string }>(
      `SELECT ride_id, predicted_duration, actual_duration, diff FROM predictions`,
    );
    expect(stored).toHaveLength(rows.length);
    expect(new Set(stored.map((r) => r.ride_id)).size).toBe(rows.length);
    const byId = new Map(stored.map((r) => [r.ride_id, r]));
    rows.forEach((r, i) => {
      const p = i < 100 ? 1.5 : 2.5;
      expect(byId.get(r.ride_id)).toEqual({
        ride_id: r.ride_id,
        predicted_duration: p,
        actual_duration: r.actual_duration,
        diff: r.actual_duration === null ? null : p - r.actual_duration,
      });
    });
    const { rows: rejectedRows } = await db.pool.query(`SELECT ride_id, field FROM rejected_rows`);
    expect(rejectedRows).toEqual([{ ride_id: 'r0017', field: 'PULocationID' }]);
  });
});
