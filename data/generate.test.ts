/** The seeded generator: determinism, plausibility, the documented bad kinds, and `generateIntoDb` on Postgres. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/helpers.js';
import { DataOptionError } from './errors.js';
import { generateIntoDb } from './generate-db.js';
import { BAD_KINDS, generateRides, type GenerateOptions } from './generate.js';
import { GENERATED_EXTRA_COLUMNS } from './generated-batch.js';
import { RIDE_FIELDS } from './tlc-schema.js';

async function digest(options: GenerateOptions): Promise<string> {
  const hash = createHash('sha256');
  const columns = [...RIDE_FIELDS, ...GENERATED_EXTRA_COLUMNS];
  const row = new Float64Array(columns.length + 1);
  for await (const b of generateRides(options)) {
    for (let i = 0; i < b.length; i++) {
      columns.forEach((c, k) => (row[k] = b[c][i] ?? -1));
      row[columns.length] = b.badKind[i] ?? -1;
      hash.update(new Uint8Array(row.buffer)); // row by row, so the batch size cannot change the digest
    }
  }
  return hash.digest('hex');
}

describe('generateRides', () => {
  it('is deterministic for a seed, whatever the batch size, and differs across seeds', async () => {
    const base = { month: '2024-03', rows: 20_000, badShare: 0.05 };
    const a = await digest({ ...base, seed: 42, batchSize: 20_000 });
    expect(await digest({ ...base, seed: 42, batchSize: 3_333 })).toBe(a);
    expect(await digest({ ...base, seed: 43, batchSize: 20_000 })).not.toBe(a);
  });

  it('produces plausible clean rides: sorted pickups in the month, sane zones, distances, speeds', async () => {
    let previous = 0;
    let n = 0;
    const implausible: number[] = [];
    let airport = 0;
    let rush = 0;
    let rushMinutesPerMile = 0;
    let night = 0;
    let nightMinutesPerMile = 0;
    for await (const b of generateRides({ month: '2024-03', rows: 50_000, seed: 1 })) {
      for (let i = 0; i < b.length; i++) {
        const pickup = b.pickup[i] ?? 0;
        const minutes = ((b.dropoff[i] ?? 0) - pickup) / 60e6;
        const miles = b.tripDistance[i] ?? 0;
        const pu = b.puLocationId[i] ?? 0;
        const dof = b.doLocationId[i] ?? 0;
        const ok =
          pickup >= previous &&
          new Date(pickup / 1000).toISOString().startsWith('2024-03') &&
          pu >= 1 &&
          pu <= 263 &&
          dof >= 1 &&
          dof <= 265 &&
          miles > 0 &&
          minutes > 0.4 &&
          minutes < 24 * 60 &&
          (b.totalAmount[i] ?? 0) > (b.fareAmount[i] ?? Infinity);
        if (!ok) implausible.push(b.rowStart + i);
        previous = pickup;
        if ([1, 132, 138].includes(dof)) airport++;
        const hour = new Date(pickup / 1000).getUTCHours();
        if (hour === 8 || hour === 17)
          [rush, rushMinutesPerMile] = [rush + 1, rushMinutesPerMile + minutes / miles];
        if (hour >= 1 && hour <= 4)
          [night, nightMinutesPerMile] = [night + 1, nightMinutesPerMile + minutes / miles];
        n++;
      }
    }
    expect(n).toBe(50_000);
    expect(implausible).toEqual([]);
    expect(airport / n).toBeGreaterThan(0.01);
    expect(airport / n).toBeLessThan(0.08);
    expect(rush / 2).toBeGreaterThan(night / 4); // a rush hour has more pickups than a night hour
    expect(rushMinutesPerMile / rush).toBeGreaterThan(1.3 * (nightMinutesPerMile / night)); // and is slower
  });

  it('mixes in each documented bad kind in about the requested share', async () => {
    const counts = new Map<string, number>(BAD_KINDS.map((k) => [k, 0]));
    const mismatched: number[] = [];
    let n = 0;
    for await (const b of generateRides({ month: '2024-03', rows: 100_000, seed: 9, badShare: 0.04 })) {
      for (let i = 0; i < b.length; i++, n++) {
        const minutes = ((b.dropoff[i] ?? 0) - (b.pickup[i] ?? 0)) / 60e6;
        const observed = [
          Number.isNaN(b.puLocationId[i]) || Number.isNaN(b.doLocationId[i]),
          (b.tripDistance[i] ?? 0) < 0,
          minutes === 0,
          minutes > 24 * 60,
        ];
        const kind = b.badKind[i] ?? 0;
        // Each flagged row shows exactly its kind; clean rows show none of them.
        if (observed.some((seen, k) => seen !== (kind === k + 1))) mismatched.push(b.rowStart + i);
        if (kind > 0) counts.set(BAD_KINDS[kind - 1] ?? '', (counts.get(BAD_KINDS[kind - 1] ?? '') ?? 0) + 1);
      }
    }
    expect(n).toBe(100_000);
    expect(mismatched).toEqual([]);
    for (const kind of BAD_KINDS) expect(counts.get(kind)).toBeGreaterThan(800); // expected 1,000 each
    for (const kind of BAD_KINDS) expect(counts.get(kind)).toBeLessThan(1_200);
  });

  it('rejects bad options with the option name', async () => {
    await expect(generateRides({ month: '2024-13', rows: 1 }).next()).rejects.toThrow(
      /^month: must be YYYY-MM/,
    );
    await expect(generateRides({ month: '2024-03', rows: 1, badShare: 2 }).next()).rejects.toThrow(
      DataOptionError,
    );
  });
});

describe('generateIntoDb', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('inserts ride_ids YYYY/MM_<index> with its source_file, idempotently', async () => {
    const options = { month: '2024-02', rows: 20_000, seed: 7, badShare: 0.02 };
    const first = await generateIntoDb(db.pool, options);
    expect(first).toMatchObject({ sourceFile: 'generated_2024-02_seed7', inserted: 20_000, skipped: 0 });
    const again = await generateIntoDb(db.pool, options);
    expect(again).toMatchObject({ inserted: 0, alreadyPresent: 20_000 });

    const { rows } = await db.pool.query<{
      n: string;
      sources: string[];
      first: string;
      last: string;
      bad: string;
    }>(
      `SELECT count(*) AS n, array_agg(DISTINCT source_file) AS sources,
              min(pickup_datetime)::text AS first, max(pickup_datetime)::text AS last,
              count(*) FILTER (WHERE pu_location_id IS NULL OR do_location_id IS NULL OR trip_distance < 0
                               OR actual_duration = 0 OR actual_duration > 1440) AS bad
       FROM rides`,
    );
    expect(rows[0]).toMatchObject({ n: '20000', sources: ['generated_2024-02_seed7'] });
    expect(rows[0]?.first.startsWith('2024-02-01')).toBe(true);
    expect(rows[0]?.last.startsWith('2024-02-29')).toBe(true);
    expect(Number(rows[0]?.bad)).toBeGreaterThan(300);
    expect(Number(rows[0]?.bad)).toBeLessThan(500);
    const ids = await db.pool.query<{ ride_id: string }>(
      `SELECT ride_id FROM rides WHERE ride_id IN ('2024/02_0', '2024/02_19999', '2024/02_20000') ORDER BY 1`,
    );
    expect(ids.rows.map((r) => r.ride_id)).toEqual(['2024/02_0', '2024/02_19999']);
  });
});
