/**
 * Seeded generator of realistic TLC-shaped green rides, as column batches (never one object per ride), so a
 * million rows stream in bounded memory. Same options + seed => the same rows, whatever the batch size.
 * Bad records (`badShare`) come from a second PRNG stream: the clean rows are identical with or without them.
 */
import { DataOptionError } from './errors.js';
import { Prng } from './prng.js';
import { BAD_KINDS, emptyGeneratedBatch, type GeneratedBatch } from './generated-batch.js';
import { RideSampler } from './ride-sampler.js';
import { monthBoundsMicros, monthPrefix } from './tlc-schema.js';

export { BAD_KINDS, type BadKind, type GeneratedBatch } from './generated-batch.js';

export interface GenerateOptions {
  /** `YYYY-MM`: pickups fall in this month. */
  month: string;
  rows: number;
  seed?: number;
  /** Share of rows (0..1) turned into one of BAD_KINDS. Default 0. */
  badShare?: number;
  /** Rows per yielded batch (default 50,000). */
  batchSize?: number;
}

export const DEFAULT_SEED = 42;
export const DEFAULT_GENERATE_BATCH = 50_000;

export function resolveGenerateOptions(options: GenerateOptions): Required<GenerateOptions> {
  monthPrefix(options.month);
  const { rows, seed = DEFAULT_SEED, badShare = 0, batchSize = DEFAULT_GENERATE_BATCH } = options;
  if (!Number.isInteger(rows) || rows < 0)
    throw new DataOptionError('rows', `must be a whole number >= 0 (got ${rows})`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new DataOptionError('seed', `must be a whole number 0..4294967295 (got ${seed})`);
  }
  if (!(badShare >= 0 && badShare <= 1))
    throw new DataOptionError('bad-share', `must be in 0..1 (got ${badShare})`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new DataOptionError('batch-size', `must be a whole number >= 1 (got ${batchSize})`);
  }
  return { month: options.month, rows, seed, badShare, batchSize };
}

const DAY_US = 86_400e6;

function spoil(batch: GeneratedBatch, i: number, prng: Prng): void {
  const kind = 1 + prng.int(BAD_KINDS.length);
  batch.badKind[i] = kind;
  const pickup = batch.pickup[i] ?? 0;
  switch (BAD_KINDS[kind - 1]) {
    case 'null_zone':
      if (prng.next() < 0.5) batch.puLocationId[i] = NaN;
      else batch.doLocationId[i] = NaN;
      break;
    case 'negative_distance':
      batch.tripDistance[i] = -(batch.tripDistance[i] ?? 0);
      break;
    case 'zero_duration':
      batch.dropoff[i] = pickup;
      break;
    case 'over_24h':
      batch.dropoff[i] = pickup + DAY_US + Math.round(prng.uniform(60, 48 * 3600)) * 1e6;
      break;
  }
}

/** Yields `rows` generated rides in batches; row i gets index i (ride_id `YYYY/MM_i`). */
export async function* generateRides(options: GenerateOptions): AsyncGenerator<GeneratedBatch> {
  const o = resolveGenerateOptions(options);
  const { start, end } = monthBoundsMicros(o.month);
  const sampler = new RideSampler(new Prng(o.seed), start, end, o.rows);
  const badPrng = new Prng((o.seed ^ 0x5bd1e995) >>> 0);
  for (let rowStart = 0; rowStart < o.rows; rowStart += o.batchSize) {
    const length = Math.min(o.batchSize, o.rows - rowStart);
    const batch = emptyGeneratedBatch(rowStart, length);
    for (let i = 0; i < length; i++) {
      sampler.fill(batch, i);
      if (badPrng.next() < o.badShare) spoil(batch, i, badPrng);
    }
    yield batch;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
