/** Ingest edge cases on small hand-written files: a yellow (tpep_*) file, and rows that cannot be stored. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parquetWriteFile, type ColumnSource } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/helpers.js';
import { ingestParquetFile } from './ingest.js';

const us = (iso: string) => BigInt(Date.parse(`${iso}Z`)) * 1000n;
const timestamp = (name: string, data: (bigint | null)[]): ColumnSource => ({
  name,
  data,
  type: 'TIMESTAMP',
});

describe('ingest edge cases', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'ingest-edge-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads yellow tpep_* columns, counts rows without pickup/dropoff as skipped, keeps bad rows', async () => {
    const file = path.join(dir, 'yellow_tripdata_2019-07.parquet');
    // TIMESTAMP here is millisecond INT64: the reader honours the unit of each file.
    const ms = (iso: string | null) => (iso === null ? null : us(iso) / 1000n);
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'VendorID', data: [1n, 2n, 2n, 1n], type: 'INT64' },
        timestamp('tpep_pickup_datetime', [ms('2019-07-01T08:00:00'), null, ms('2019-07-02T10:00:00'), ms('2019-07-03T09:00:00')]),
        timestamp('tpep_dropoff_datetime', [ms('2019-07-01T08:12:45'), ms('2019-07-01T09:00:00'), null, ms('2019-07-03T08:00:00')]),
        { name: 'PULocationID', data: [132, 5, 6, null], type: 'INT32' },
        { name: 'DOLocationID', data: [236, 5, 6, 7], type: 'INT32' },
        { name: 'passenger_count', data: [2, 1, 1, null], type: 'DOUBLE' },
        { name: 'trip_distance', data: [17.5, 1, 1, -2], type: 'DOUBLE' },
        { name: 'fare_amount', data: [52, 5, 5, 5], type: 'DOUBLE' },
        { name: 'total_amount', data: [70.3, 6, 6, 6], type: 'DOUBLE' },
      ],
    }); // prettier-ignore
    const summary = await ingestParquetFile(db.pool, file);
    expect(summary).toMatchObject({
      month: '2019-07',
      rowsRead: 4,
      inserted: 2,
      alreadyPresent: 0,
      skipped: 2,
    });
    const { rows } = await db.pool.query(
      `SELECT ride_id, vendor_id, pickup_datetime, dropoff_datetime, pu_location_id, do_location_id, passenger_count,
              trip_distance, fare_amount, total_amount, actual_duration, source_file FROM rides ORDER BY ride_id`,
    );
    expect(rows).toEqual([
      {
        ride_id: '2019/07_0',
        vendor_id: 1,
        pickup_datetime: '2019-07-01T08:00:00',
        dropoff_datetime: '2019-07-01T08:12:45',
        pu_location_id: 132,
        do_location_id: 236,
        passenger_count: 2,
        trip_distance: 17.5,
        fare_amount: 52,
        total_amount: 70.3,
        actual_duration: 12.75,
        source_file: 'yellow_tripdata_2019-07.parquet',
      },
      {
        ride_id: '2019/07_3',
        vendor_id: 1,
        pickup_datetime: '2019-07-03T09:00:00',
        dropoff_datetime: '2019-07-03T08:00:00',
        pu_location_id: null,
        do_location_id: 7,
        passenger_count: null,
        trip_distance: -2,
        fare_amount: 5,
        total_amount: 6,
        actual_duration: -60,
        source_file: 'yellow_tripdata_2019-07.parquet',
      },
    ]);
  });
});
