/**
 * Ingest on generated files (no ../shared/data needed): round trip through `generate --out`, idempotent re-ingest,
 * and the failures that must leave `rides` untouched (not TLC-shaped, truncated, corrupt, no month).
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/helpers.js';
import { MissingMonthError, NotTlcFileError, ParquetFileError } from './errors.js';
import { writeGeneratedParquet } from './generate-parquet.js';
import { generateRides } from './generate.js';
import { ingestParquetFile } from './ingest.js';
import { formatMicros } from './ride-batch.js';

describe('ingest of generated TLC files', () => {
  let db: TestDatabase;
  let dir: string;
  let generated: string;
  const rows = 30_000;
  const gen = { month: '2024-03', rows, seed: 7, badShare: 0.05, batchSize: 8_000 } as const;

  const count = async () =>
    Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM rides')).rows[0]?.n ?? -1);

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'ingest-test-'));
    generated = path.join(dir, 'green_tripdata_2024-03.parquet');
    await writeGeneratedParquet(generated, gen); // 4 row groups of 8,000 / 8,000 / 8,000 / 6,000 rows
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails before writing on a parquet file with other columns, naming the missing ones', async () => {
    const other = path.join(dir, 'other_tripdata_2024-03.parquet');
    parquetWriteFile({
      filename: other,
      columnData: [
        { name: 'a', data: [1, 2], type: 'INT32' },
        { name: 'trip_distance', data: [1.5, 2.5], type: 'DOUBLE' },
      ],
    });
    const error = await ingestParquetFile(db.pool, other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotTlcFileError);
    expect((error as Error).message).toBe(
      `${other}: not a TLC trip file: missing columns VendorID, lpep_pickup_datetime, lpep_dropoff_datetime, ` +
        'PULocationID, DOLocationID, passenger_count, fare_amount, total_amount (found: a, trip_distance)',
    );
    expect(await count()).toBe(0);
  });

  it('fails cleanly on a truncated file (error names the file, nothing written)', async () => {
    const bytes = await readFile(generated);
    const truncated = path.join(dir, 'truncated_tripdata_2024-03.parquet');
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const error = await ingestParquetFile(db.pool, truncated).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParquetFileError);
    expect((error as Error).message).toMatch(new RegExp(`^${truncated}: cannot read parquet file: `));
    expect(await count()).toBe(0);
  });

  it('rolls back everything when a data page is corrupt after some batches were copied', async () => {
    const bytes = Buffer.from(await readFile(generated));
    // Zero a stretch inside the last row group's data (the footer stays valid, so reading starts fine).
    const at = Math.floor(bytes.length * 0.8);
    bytes.fill(0xff, at, at + 4096);
    const corrupt = path.join(dir, 'corrupt_tripdata_2024-03.parquet');
    await writeFile(corrupt, bytes);
    let copied = 0;
    const error = await ingestParquetFile(db.pool, corrupt, {
      batchSize: 4_000,
      onProgress: (p) => (copied = p.rowsRead),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParquetFileError);
    expect((error as Error).message).toContain(corrupt);
    expect(copied).toBeGreaterThanOrEqual(8_000); // the first row groups went through COPY before the failure
    expect(await count()).toBe(0);
  });

  it('asks for --month when the file name has none, and accepts it', async () => {
    const unnamed = path.join(dir, 'rides.parquet');
    await copyFile(generated, unnamed);
    const error = await ingestParquetFile(db.pool, unnamed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingMonthError);
    expect((error as Error).message).toContain('pass --month YYYY-MM');
    expect(await count()).toBe(0);
  });

  it('round-trips a generated file, and a re-ingest inserts nothing', async () => {
    const first = await ingestParquetFile(db.pool, generated, { batchSize: 5_000 });
    expect(first).toMatchObject({
      rowsRead: rows,
      inserted: rows,
      alreadyPresent: 0,
      skipped: 0,
      path: 'copy',
    });
    const second = await ingestParquetFile(db.pool, generated);
    expect(second).toMatchObject({
      rowsRead: rows,
      inserted: 0,
      alreadyPresent: rows,
      skipped: 0,
      path: 'staged',
    });
    expect(await count()).toBe(rows);

    const { rows: ids } = await db.pool.query<{ ride_id: string }>('SELECT ride_id FROM rides');
    expect(ids.every((r) => /^2024\/03_(0|[1-9]\d*)$/.test(r.ride_id))).toBe(true);
    expect(new Set(ids.map((r) => Number(r.ride_id.split('_')[1]))).size).toBe(rows);
  });

  it('stores exactly what the generator produced (timestamps, nulls, duration)', async () => {
    const sample = new Map<number, Record<string, unknown>>();
    for await (const b of generateRides(gen)) {
      for (let i = 0; i < b.length; i += 997) {
        const nan = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? null : v);
        sample.set(b.rowStart + i, {
          ride_id: `2024/03_${b.rowStart + i}`,
          pickup_datetime: formatMicros(b.pickup[i] ?? NaN)?.replace(' ', 'T'),
          dropoff_datetime: formatMicros(b.dropoff[i] ?? NaN)?.replace(' ', 'T'),
          pu_location_id: nan(b.puLocationId[i]),
          do_location_id: nan(b.doLocationId[i]),
          trip_distance: nan(b.tripDistance[i]),
          total_amount: nan(b.totalAmount[i]),
          actual_duration: ((b.dropoff[i] ?? 0) - (b.pickup[i] ?? 0)) / 60e6,
          source_file: 'green_tripdata_2024-03.parquet',
        });
      }
    }
    const { rows: stored } = await db.pool.query(
      `SELECT ride_id, pickup_datetime, dropoff_datetime, pu_location_id, do_location_id, trip_distance,
              total_amount, actual_duration, source_file FROM rides WHERE ride_id = ANY($1)`,
      [[...sample.values()].map((r) => r.ride_id)],
    );
    expect(stored).toHaveLength(sample.size);
    for (const row of stored as { ride_id: string }[]) {
      expect(row).toEqual(sample.get(Number(row.ride_id.split('_')[1])));
    }
  });
});
