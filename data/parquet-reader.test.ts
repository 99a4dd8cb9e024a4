/** The streamed parquet reader: batch bounds across row groups and row ranges, values equal to what was written. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParquetFileError } from './errors.js';
import { writeGeneratedParquet } from './generate-parquet.js';
import { generateRides } from './generate.js';
import { openParquet, readColumnBatches, READ_ROWS } from './parquet-reader.js';
import { toFloat64 } from './ride-batch.js';

describe('parquet reader', () => {
  let dir: string;
  let file: string;
  const rows = READ_ROWS + 8_928; // one row group bigger than a read range
  const gen = { month: '2024-05', rows, seed: 3, badShare: 0.1, batchSize: rows };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'reader-test-'));
    file = path.join(dir, 'green_tripdata_2024-05.parquet');
    await writeGeneratedParquet(file, gen);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads a big row group in row ranges, yields bounded batches, and returns the written values', async () => {
    const opened = await openParquet(file);
    expect(opened.rowGroups).toEqual([rows]);
    expect(opened.columnNames).toHaveLength(20);
    const first = await generateRides(gen).next();
    if (first.done) throw new Error('the generator yielded nothing');
    const expected = first.value; // one batch of all rows
    const bounds: [number, number][] = [];
    let mismatches = 0;
    for await (const batch of readColumnBatches(opened, {
      columns: ['lpep_pickup_datetime', 'PULocationID', 'trip_distance'],
      batchSize: 50_000,
    })) {
      bounds.push([batch.rowStart, batch.rowEnd]);
      const pickup = toFloat64(batch.columns.get('lpep_pickup_datetime') ?? []);
      const zone = toFloat64(batch.columns.get('PULocationID') ?? []);
      const miles = toFloat64(batch.columns.get('trip_distance') ?? []);
      for (let i = 0; i < pickup.length; i++) {
        const r = batch.rowStart + i;
        if (pickup[i] !== expected.pickup[r]) mismatches++;
        if (!Object.is(zone[i], expected.puLocationId[r])) mismatches++;
        if (miles[i] !== expected.tripDistance[r]) mismatches++;
      }
    }
    expect(bounds).toEqual([
      [0, 50_000],
      [50_000, 100_000],
      [100_000, READ_ROWS],
      [READ_ROWS, rows],
    ]);
    expect(mismatches).toBe(0);
  });

  it('names the file when it is missing or not parquet', async () => {
    const missing = path.join(dir, 'nope.parquet');
    await expect(openParquet(missing)).rejects.toThrow(ParquetFileError);
    await expect(openParquet(missing)).rejects.toThrow(new RegExp(`^${missing}: cannot read parquet file`));
    await expect(openParquet(path.join('data', 'parquet-reader.ts'))).rejects.toThrow(
      /parquet-reader.ts: cannot read/,
    );
  });
});
