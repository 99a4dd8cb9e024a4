/**
 * A column batch of rides (the unit the reader, the generator and the loader exchange) and its encoding as
 * Postgres COPY text. Numbers live in Float64Arrays with NaN for null, so a batch of 50k rows is a few flat
 * arrays rather than 50k objects; timestamps are naive local microseconds since the epoch, as in the files.
 */
import { rideId } from './tlc-schema.js';

export interface RideBatch {
  /** 0-based index of the first row in its source (file row or generator sequence number). */
  rowStart: number;
  length: number;
  vendorId: Float64Array;
  /** Naive local time, microseconds since 1970-01-01T00:00:00 (no time zone). */
  pickup: Float64Array;
  dropoff: Float64Array;
  puLocationId: Float64Array;
  doLocationId: Float64Array;
  passengerCount: Float64Array;
  tripDistance: Float64Array;
  fareAmount: Float64Array;
  totalAmount: Float64Array;
}

export type RideColumn = Exclude<keyof RideBatch, 'rowStart' | 'length'>;

export function emptyRideBatch(rowStart: number, length: number): RideBatch {
  const col = () => new Float64Array(length);
  return {
    rowStart,
    length,
    vendorId: col(),
    pickup: col(),
    dropoff: col(),
    puLocationId: col(),
    doLocationId: col(),
    passengerCount: col(),
    tripDistance: col(),
    fareAmount: col(),
    totalAmount: col(),
  };
}

/** Any decoded parquet column (typed array, bigint, number, null) as Float64 with NaN for null. */
export function toFloat64(values: ArrayLike<unknown>): Float64Array {
  if (values instanceof Float64Array) return values;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN;
  }
  return out;
}

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
let cachedDay = NaN;
let cachedDate = '';

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` for naive microseconds; null when not a finite year 0000-9999 time. */
export function formatMicros(us: number): string | null {
  if (!Number.isFinite(us)) return null;
  const seconds = Math.floor(us / 1e6);
  const day = Math.floor(seconds / 86400);
  if (day !== cachedDay) {
    const date = new Date(day * 86_400_000);
    if (Number.isNaN(date.getTime())) return null;
    const iso = date.toISOString();
    if (iso.length !== 24) return null; // extended years (+010000-...) do not fit the column
    cachedDay = day;
    cachedDate = iso.slice(0, 10);
  }
  const inDay = seconds - day * 86400;
  const hh = Math.floor(inDay / 3600);
  const mm = Math.floor((inDay - hh * 3600) / 60);
  const base = `${cachedDate} ${PAD2[hh] ?? ''}:${PAD2[mm] ?? ''}:${PAD2[inDay - hh * 3600 - mm * 60] ?? ''}`;
  const frac = Math.round(us - seconds * 1e6);
  return frac === 0 ? base : `${base}.${String(frac).padStart(6, '0')}`;
}

/** Minutes between two naive microsecond times (the model's target). */
export function durationMinutes(pickupUs: number, dropoffUs: number): number {
  return (dropoffUs - pickupUs) / 60e6;
}

const NULL = '\\N';
function intText(v: number, min: number, max: number): string {
  return Number.isInteger(v) && v >= min && v <= max ? String(v) : NULL;
}
function floatText(v: number): string {
  return Number.isNaN(v) ? NULL : String(v);
}
function escapeCopy(text: string): string {
  return text.replace(
    /[\\\t\n\r]/g,
    (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] ?? c,
  );
}

/** Staging/`rides` columns in the order `encodeCopyText` writes them. */
export const COPY_COLUMNS = [
  'ride_id',
  'vendor_id',
  'pickup_datetime',
  'dropoff_datetime',
  'pu_location_id',
  'do_location_id',
  'passenger_count',
  'trip_distance',
  'fare_amount',
  'total_amount',
  'actual_duration',
  'source_file',
] as const;

export interface EncodedBatch {
  bytes: Buffer;
  stored: number;
  /** Rows that cannot be stored: pickup or dropoff null (or outside years 0000-9999). */
  skipped: number;
}

/** Appends latin1 text to a growable buffer: no per-row string concatenation, so little garbage to collect. */
class ByteSink {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  put(text: string): void {
    if (this.pos + text.length * 3 > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + text.length * 3));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }
}

/**
 * COPY text for a batch. Values that do not fit their column type (a fractional or out-of-range smallint)
 * become NULL rather than failing the file: bad records are kept and rejected later by the batch mode.
 */
export function encodeCopyText(batch: RideBatch, monthPrefix: string, sourceFile: string): EncodedBatch {
  const tail = `\t${escapeCopy(sourceFile)}\n`;
  const idPrefix = rideId(monthPrefix, 0).slice(0, -1);
  const out = new ByteSink(batch.length * 160 + 1024);
  let skipped = 0;
  let stored = 0;
  for (let i = 0; i < batch.length; i++) {
    const pu = batch.pickup[i] ?? NaN;
    const dof = batch.dropoff[i] ?? NaN;
    const pickup = formatMicros(pu);
    const dropoff = formatMicros(dof);
    if (pickup === null || dropoff === null) {
      skipped++;
      continue;
    }
    stored++;
    // One flat row string per put: short-lived, so it dies young instead of piling up for the collector.
    out.put(
      `${idPrefix}${batch.rowStart + i}\t${intText(batch.vendorId[i] ?? NaN, -32768, 32767)}\t${pickup}\t${dropoff}\t` +
        `${intText(batch.puLocationId[i] ?? NaN, -2147483648, 2147483647)}\t` +
        `${intText(batch.doLocationId[i] ?? NaN, -2147483648, 2147483647)}\t` +
        `${intText(batch.passengerCount[i] ?? NaN, -32768, 32767)}\t${floatText(batch.tripDistance[i] ?? NaN)}\t` +
        `${floatText(batch.fareAmount[i] ?? NaN)}\t${floatText(batch.totalAmount[i] ?? NaN)}\t` +
        `${durationMinutes(pu, dof)}${tail}`,
    );
  }
  return { bytes: out.buf.subarray(0, out.pos), stored, skipped };
}
