/**
 * Pure feature code: validates rides and builds the typed arrays each model input expects. One pass over the rows,
 * no per-row objects for valid rows, so the batch mode can feed ~100k rows/s.
 */
import type { Rejection, RideInput } from '../contracts/scoring.js';
import { parsePickup } from './pickup-time.js';

/** Zone ids: TLC uses 1..265. Up to 999 is accepted so a new zone scores as "unseen" instead of failing a batch;
 * 999 is the ceiling because version 1 keys pairs as PU * 1000 + DO. */
export const MAX_LOCATION_ID = 999;
/** Miles; a meter reading above this is a data error, not a ride. */
export const MAX_TRIP_DISTANCE = 1000;

/** Every input a model card may name, with the dtype its rule produces. */
export const FEATURE_DTYPES = {
  PULocationID: 'int64',
  DOLocationID: 'int64',
  trip_distance: 'float32',
  pickup_hour: 'float32',
  pickup_dow: 'int64',
} as const;
export type FeatureName = keyof typeof FEATURE_DTYPES;
export type FeatureArray = BigInt64Array | Float32Array;

export function isFeatureName(name: string): name is FeatureName {
  return Object.hasOwn(FEATURE_DTYPES, name);
}

export function needsPickup(features: readonly FeatureName[]): boolean {
  return features.includes('pickup_hour') || features.includes('pickup_dow');
}

/** The validated rows of one call: indices into the input plus the parsed pickup fields (when needed). */
export interface PreparedRows {
  /** `valid[k]` is the index in `rows` of the k-th valid row. */
  valid: Int32Array;
  count: number;
  /** Aligned with `valid` (k-th valid row); only filled when the model reads the pickup time. */
  hour: Float64Array | null;
  dow: Int8Array | null;
  rejections: Rejection[];
}

/** The offending value for a rejection reason: never throws (bigint, cycles), never long. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}

function checkLocation(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LOCATION_ID)
    return `must be an integer from 1 to ${MAX_LOCATION_ID} (got ${shown(value)})`;
  return null;
}

function checkDistance(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TRIP_DISTANCE)
    return `must be a finite number of miles from 0 to ${MAX_TRIP_DISTANCE} (got ${shown(value)})`;
  return null;
}

/** Validates every row; invalid rows become rejections naming the field, valid ones are indexed. */
export function prepareRows(rows: readonly RideInput[], withPickup: boolean): PreparedRows {
  const n = rows.length;
  const valid = new Int32Array(n);
  const hour = withPickup ? new Float64Array(n) : null;
  const dow = withPickup ? new Int8Array(n) : null;
  const rejections: Rejection[] = [];
  let count = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[i] as RideInput | null | undefined;
    if (typeof row !== 'object' || row === null) {
      rejections.push({ index: i, field: 'row', reason: 'must be an object' });
      continue;
    }
    let reason = checkLocation(row.PULocationID);
    if (reason) {
      rejections.push({ index: i, field: 'PULocationID', reason });
      continue;
    }
    reason = checkLocation(row.DOLocationID);
    if (reason) {
      rejections.push({ index: i, field: 'DOLocationID', reason });
      continue;
    }
    reason = checkDistance(row.trip_distance);
    if (reason) {
      rejections.push({ index: i, field: 'trip_distance', reason });
      continue;
    }
    if (hour && dow) {
      const text: unknown = row.pickup_datetime;
      if (typeof text !== 'string') {
        const reason =
          text === undefined || text === null
            ? 'is required by this model (YYYY-MM-DDTHH:MM:SS)'
            : `must be a string YYYY-MM-DDTHH:MM:SS (got ${typeof text})`;
        rejections.push({ index: i, field: 'pickup_datetime', reason });
        continue;
      }
      const local = parsePickup(text);
      if (typeof local === 'string') {
        rejections.push({
          index: i,
          field: 'pickup_datetime',
          reason: `${local} (got ${shown(text)})`,
        });
        continue;
      }
      hour[count] = local.hour;
      dow[count] = local.dow;
    }
    valid[count++] = i;
  }
  return { valid, count, hour, dow, rejections };
}

/** Builds one typed array per feature for valid rows `from` (inclusive) to `to` (exclusive). */
export function buildFeatures(
  rows: readonly RideInput[],
  prepared: PreparedRows,
  features: readonly FeatureName[],
  from: number,
  to: number,
): Map<FeatureName, FeatureArray> {
  const out = new Map<FeatureName, FeatureArray>();
  for (const name of features) out.set(name, buildFeature(name, rows, prepared, from, to - from));
  return out;
}

function buildFeature(
  name: FeatureName,
  rows: readonly RideInput[],
  prepared: PreparedRows,
  from: number,
  size: number,
): FeatureArray {
  const { valid, hour, dow } = prepared;
  const row = (k: number) => rows[valid[from + k] ?? 0] as RideInput;
  switch (name) {
    case 'PULocationID': {
      const a = new BigInt64Array(size);
      for (let k = 0; k < size; k++) a[k] = BigInt(row(k).PULocationID);
      return a;
    }
    case 'DOLocationID': {
      const a = new BigInt64Array(size);
      for (let k = 0; k < size; k++) a[k] = BigInt(row(k).DOLocationID);
      return a;
    }
    case 'trip_distance': {
      const a = new Float32Array(size);
      for (let k = 0; k < size; k++) a[k] = row(k).trip_distance;
      return a;
    }
    case 'pickup_hour': {
      // Float64 -> Float32 rounds to nearest, exactly as numpy's astype(float32) does in training.
      const a = new Float32Array(size);
      if (hour) a.set(hour.subarray(from, from + size));
      return a;
    }
    case 'pickup_dow': {
      const a = new BigInt64Array(size);
      if (dow) for (let k = 0; k < size; k++) a[k] = BigInt(dow[from + k] ?? 0);
      return a;
    }
  }
}
