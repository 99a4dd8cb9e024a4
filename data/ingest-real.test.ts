/**
 * Ingest of the real TLC files in ../shared/data (skipped, with the reason, when they are absent: a fresh clone
 * has no such folder; data/ingest.test.ts covers the same code paths with generated files).
 * Expected values were computed independently once with pyarrow from the unmodified files.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/helpers.js';
import { ingestParquetFile } from './ingest.js';

const DATA_DIR = path.resolve('..', 'shared', 'data');
const JAN_2021 = path.join(DATA_DIR, 'green_tripdata_2021-01.parquet');
const FEB_2023 = path.join(DATA_DIR, 'green_tripdata_2023-02.parquet'); // zstd-compressed, INT32 zone columns

interface Expected {
  index: number;
  pickup: string;
  dropoff: string;
  minutes: number;
  pu: number;
  do: number;
  passengers: number | null;
  distance: number;
}

// pyarrow: (lpep_dropoff_datetime - lpep_pickup_datetime).total_seconds() / 60 for these file rows.
const JAN_2021_ROWS: Expected[] = [
  { index: 0, pickup: '2021-01-01T00:15:56', dropoff: '2021-01-01T00:19:52', minutes: 3.933333333333333, pu: 43, do: 151, passengers: 1, distance: 1.01 },
  { index: 1, pickup: '2021-01-01T00:25:59', dropoff: '2021-01-01T00:34:44', minutes: 8.75, pu: 166, do: 239, passengers: 1, distance: 2.53 },
  { index: 3, pickup: '2020-12-31T23:57:51', dropoff: '2021-01-01T00:04:56', minutes: 7.083333333333333, pu: 168, do: 75, passengers: 1, distance: 1.99 },
  { index: 10, pickup: '2021-01-01T00:31:14', dropoff: '2021-01-01T00:55:07', minutes: 23.883333333333333, pu: 244, do: 244, passengers: 2, distance: 3.39 },
  { index: 389, pickup: '2021-01-01T15:17:09', dropoff: '2021-01-01T15:17:09', minutes: 0, pu: 145, do: 264, passengers: 1, distance: 0 },
  { index: 1000, pickup: '2021-01-02T12:23:51', dropoff: '2021-01-02T12:50:36', minutes: 26.75, pu: 196, do: 236, passengers: 1, distance: 8.5 },
  { index: 40471, pickup: '2021-01-01T00:29:00', dropoff: '2021-01-01T00:34:00', minutes: 5, pu: 193, do: 193, passengers: null, distance: 1.38 },
  { index: 50000, pickup: '2021-01-09T14:17:00', dropoff: '2021-01-09T14:35:00', minutes: 18, pu: 179, do: 130, passengers: null, distance: 9.79 },
  { index: 76517, pickup: '2021-01-31T23:25:00', dropoff: '2021-01-31T23:35:00', minutes: 10, pu: 119, do: 244, passengers: null, distance: 1.81 },
]; // prettier-ignore
const FEB_2023_ROWS: Expected[] = [
  { index: 0, pickup: '2023-02-01T00:46:22', dropoff: '2023-02-01T01:05:57', minutes: 19.583333333333332, pu: 74, do: 265, passengers: 1, distance: 10.8 },
  { index: 64808, pickup: '2023-02-28T23:10:00', dropoff: '2023-02-28T23:15:00', minutes: 5, pu: 75, do: 140, passengers: null, distance: 2.61 },
]; // prettier-ignore

interface StoredRow {
  ride_id: string;
  pickup_datetime: string;
  dropoff_datetime: string;
  actual_duration: number;
}

async function expectRows(db: TestDatabase, prefix: string, expected: Expected[]): Promise<void> {
  const { rows } = await db.pool.query<StoredRow>(
    `SELECT ride_id, pickup_datetime, dropoff_datetime, actual_duration, pu_location_id, do_location_id,
            passenger_count, trip_distance FROM rides WHERE ride_id = ANY($1) ORDER BY ride_id`,
    [expected.map((e) => `${prefix}_${e.index}`)],
  );
  const byId = new Map(rows.map((r) => [r.ride_id, r]));
  for (const e of expected) {
    const row = byId.get(`${prefix}_${e.index}`);
    expect(row, `${prefix}_${e.index}`).toBeDefined();
    expect(row).toMatchObject({
      pickup_datetime: e.pickup,
      dropoff_datetime: e.dropoff,
      pu_location_id: e.pu,
      do_location_id: e.do,
      passenger_count: e.passengers,
      trip_distance: e.distance,
    });
    expect(row?.actual_duration).toBeCloseTo(e.minutes, 9);
  }
}

const snapshot = (db: TestDatabase, source: string) =>
  db.pool
    .query<Record<string, unknown>>(
      `SELECT ride_id, vendor_id, pickup_datetime, dropoff_datetime, pu_location_id, do_location_id, passenger_count,
              trip_distance, fare_amount, total_amount, actual_duration, source_file
       FROM rides WHERE source_file = $1 AND ride_id = ANY($2) ORDER BY ride_id`,
      [source, Array.from({ length: 200 }, (_, i) => `2021/01_${i * 383}`)],
    )
    .then((r) => r.rows);

describe.skipIf(!existsSync(JAN_2021))(`real TLC file (needs ${JAN_2021})`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('ingests 2021-01, and a re-ingest changes nothing', async () => {
    const first = await ingestParquetFile(db.pool, JAN_2021);
    expect(first).toMatchObject({ month: '2021-01', totalRows: 76_518, rowsRead: 76_518, skipped: 0 });
    expect(first).toMatchObject({ inserted: 76_518, alreadyPresent: 0 });
    const before = await snapshot(db, 'green_tripdata_2021-01.parquet');
    expect(before).toHaveLength(200);

    const second = await ingestParquetFile(db.pool, JAN_2021);
    expect(second).toMatchObject({ rowsRead: 76_518, inserted: 0, alreadyPresent: 76_518, skipped: 0 });
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM rides');
    expect(Number(rows[0]?.n)).toBe(76_518 - first.skipped);
    expect(await snapshot(db, 'green_tripdata_2021-01.parquet')).toEqual(before);
  });

  it('stores the known rows with actual_duration = dropoff - pickup in minutes, bad ones as they are', async () => {
    await expectRows(db, '2021/01', JAN_2021_ROWS);
  });

  it.skipIf(!existsSync(FEB_2023))('reads the zstd-compressed 2023-02 file', async () => {
    const summary = await ingestParquetFile(db.pool, FEB_2023, { batchSize: 10_000 });
    expect(summary).toMatchObject({ rowsRead: 64_809, inserted: 64_809, skipped: 0 });
    await expectRows(db, '2023/02', FEB_2023_ROWS);
  });
});
