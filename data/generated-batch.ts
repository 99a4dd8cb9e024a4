/** The generator's column batch: the ride columns plus the other TLC green columns, and each row's bad kind. */
import { emptyRideBatch, type RideBatch } from './ride-batch.js';

/** Kinds of deliberately bad records; `badKind` holds index + 1 (0 = clean). See docs/data.md. */
export const BAD_KINDS = ['null_zone', 'negative_distance', 'zero_duration', 'over_24h'] as const;
export type BadKind = (typeof BAD_KINDS)[number];

export const GENERATED_EXTRA_COLUMNS = [
  'ratecodeId',
  'extra',
  'mtaTax',
  'tipAmount',
  'tollsAmount',
  'improvementSurcharge',
  'paymentType',
  'tripType',
  'congestionSurcharge',
] as const;
export type GeneratedExtraColumn = (typeof GENERATED_EXTRA_COLUMNS)[number];

/** A ride batch plus the other TLC green columns (for parquet output) and each row's bad kind. */
export type GeneratedBatch = RideBatch &
  Record<GeneratedExtraColumn, Float64Array> & {
    /** 0 = clean, else 1 + index in BAD_KINDS. */
    badKind: Uint8Array;
  };

export function emptyGeneratedBatch(rowStart: number, length: number): GeneratedBatch {
  const extras = Object.fromEntries(
    GENERATED_EXTRA_COLUMNS.map((c) => [c, new Float64Array(length)]),
  ) as Record<GeneratedExtraColumn, Float64Array>;
  return { ...emptyRideBatch(rowStart, length), ...extras, badKind: new Uint8Array(length) };
}
